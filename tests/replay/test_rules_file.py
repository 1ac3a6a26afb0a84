"""The ``skip`` list of a rules file, taken out before the diff engine parses the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcspy.commands.common import load_cli_rules, skip_globs, split_skip
from rpcspy.diff import RuleError, parse_rules
from rpcspy.exits import CliError

RULES = """\
# methods that change state on the server
skip = [
    "dir.create",   # a comment inside
    "user.*",
]

[tolerance]
double = 1e-9

[[ignore]]
method = "demo.random"
path = "result.time"
"""


def test_skip_is_taken_out_and_line_numbers_kept() -> None:
    skip, rest = split_skip(RULES)
    assert skip == ("dir.create", "user.*")
    assert rest.count("\n") == RULES.count("\n")
    rules = parse_rules(rest)
    assert [r.path for r in rules.ignore] == ["result.time"]
    assert rules.tolerances[0].double == 1e-9


def test_files_without_skip_pass_through() -> None:
    text = '[[ignore]]\nmethod = "x"\n'
    assert split_skip(text) == ((), text)
    assert split_skip("not = [toml") == ((), "not = [toml")


def test_bad_skip_values_are_rule_errors() -> None:
    with pytest.raises(RuleError, match="list of method globs"):
        split_skip("skip = 3\n")
    with pytest.raises(RuleError, match="list of method globs"):
        split_skip('skip = ["ok", ""]\n')
    with pytest.raises(RuleError, match="top-level"):
        split_skip('"skip" = ["x"]\n')


def test_cli_helpers_read_both(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    assert skip_globs(["demo.crash"], path) == ("dir.create", "user.*", "demo.crash")
    rules = load_cli_rules(["*: result.when"], path)
    assert [r.path for r in rules.ignore] == ["result.time", "result.when"]
    bad = tmp_path / "bad.toml"
    bad.write_text('skip = ["x"]\n[[ignore]]\nnope = 1\n')
    with pytest.raises(CliError) as info:
        load_cli_rules([], bad)
    assert info.value.code == 2 and "line 3" in str(info.value)
    with pytest.raises(CliError) as missing:
        load_cli_rules([], tmp_path / "absent.toml")
    assert missing.value.code == 3
