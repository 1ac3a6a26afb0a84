"""The queries the README and docs/query.md show are the ones the tests run, and the Trino form
of the exact p95 gives quantile_cont's figure (DuckDB runs it as well)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rpcspy.query import TABLES
from tests.conftest import REPO
from tests.query.reference import README_QUERIES, SLOWEST_METHODS, run_sql

README = (REPO / "README.md").read_text()
DOC = (REPO / "docs" / "query.md").read_text()


@pytest.mark.parametrize("sql", README_QUERIES)
def test_the_readme_and_the_docs_show_the_queries_the_tests_run(sql: str) -> None:
    assert f"```sql\n{sql}\n```" in README
    assert f"```sql\n{sql}\n```" in DOC


def test_the_docs_describe_every_column() -> None:
    for columns in TABLES.values():
        for c in columns:
            assert f"`{c.name}`" in DOC, c.name


def test_the_trino_p95_is_the_linear_percentile(generated: Path) -> None:
    block = DOC[DOC.index("WITH d AS (") :]
    sql = block[: block.index(";")]
    sql = sql.replace("hive.rpcspy.calls", "calls").replace(
        " AND day BETWEEN '2024-05-01' AND '2024-05-07'", ""
    )
    assert "day" not in sql
    _, trino = run_sql([generated], sql)
    _, duck = run_sql([generated], SLOWEST_METHODS)
    assert [(m, p) for m, _n, p in trino] == [(m, p) for m, _n, p in duck if p is not None]
    assert re.search(r"ORDER BY p95_ms DESC", sql)
