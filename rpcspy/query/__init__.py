"""The relational view of captures: ``calls``, ``subcalls`` and ``findings`` as DuckDB views
(``rpcspy query``) and as Parquet tables (``rpcspy export --to parquet``). See docs/query.md.

Only this package imports DuckDB (and NumPy, which hands the index's columns to it).
"""

from rpcspy.query.tables import CALLS, FINDINGS, SUBCALLS, TABLES, Column

__all__ = ["CALLS", "FINDINGS", "SUBCALLS", "TABLES", "Column"]
