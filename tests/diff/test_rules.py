"""Ignore and tolerance rules: glob semantics, per-method rules, flags and the rule file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcspy.diff import (
    IgnoreRule,
    RuleError,
    Rules,
    ToleranceRule,
    diff_calls,
    diff_responses,
    diff_values,
    load_rules,
    parse_rule,
    parse_rules,
    parse_tolerance,
)
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    Array,
    DateTime,
    Double,
    Int,
    String,
    Struct,
    UntypedString,
    Value,
    from_python,
)


def paths(old: Value, new: Value, *flags: str, method: str | None = "m") -> list[str]:
    return [d.path for d in diff_values(old, new, rules=Rules.from_flags(flags), method=method)]


# Every leaf differs between OLD and NEW, so a rule's reach shows in what is left.
OLD = from_python(
    {
        "when": 1,
        "a": {"timestamp": 1, "b": {"timestamp": 1}, "created_at": 1, "created": 1},
        "items": [{"ts": 1, "id": 1}, {"ts": 1, "id": 2}],
        "timestamp": 1,
    }
)
NEW = from_python(
    {
        "when": 2,
        "a": {"timestamp": 2, "b": {"timestamp": 2}, "created_at": 2, "created": 2},
        "items": [{"ts": 2, "id": 10}, {"ts": 2, "id": 20}],
        "timestamp": 2,
    }
)
ALL = [
    "result.when",
    "result.a.timestamp",
    "result.a.b.timestamp",
    "result.a.created_at",
    "result.a.created",
    "result.items[0].ts",
    "result.items[0].id",
    "result.items[1].ts",
    "result.items[1].id",
    "result.timestamp",
]


def without(*gone: str) -> list[str]:
    return [p for p in ALL if p not in gone]


def test_no_rules_reports_everything() -> None:
    assert paths(OLD, NEW) == ALL


def test_star_matches_exactly_one_segment() -> None:
    assert paths(OLD, NEW, "*: result.*.timestamp") == without("result.a.timestamp")
    # A name or an index alike.
    assert paths(OLD, NEW, "*: result.items.*.ts") == without(
        "result.items[0].ts", "result.items[1].ts"
    )
    # The root is a segment too.
    assert paths(OLD, NEW, "*: *.when") == without("result.when")


def test_index_wildcard_matches_indices_only() -> None:
    assert paths(OLD, NEW, "*: result.items[*].ts") == without(
        "result.items[0].ts", "result.items[1].ts"
    )
    assert paths(OLD, NEW, "*: result.items[1]") == without(
        "result.items[1].ts", "result.items[1].id"
    )
    assert paths(OLD, NEW, "*: result[*]") == ALL  # result.x are members, not indices


def test_double_star_matches_any_number_of_segments() -> None:
    assert paths(OLD, NEW, "*: **.timestamp") == without(
        "result.a.timestamp", "result.a.b.timestamp", "result.timestamp"
    )
    assert paths(OLD, NEW, "*: result.**.timestamp") == without(
        "result.a.timestamp", "result.a.b.timestamp", "result.timestamp"
    )
    assert paths(OLD, NEW, "*: result.a.**") == [p for p in ALL if not p.startswith("result.a.")]
    assert paths(OLD, NEW, "*: **") == []


def test_name_patterns_match_member_names() -> None:
    assert paths(OLD, NEW, "*: result.a.*_at") == without("result.a.created_at")
    assert paths(OLD, NEW, "*: result.a.created?at") == without("result.a.created_at")


def test_rules_apply_at_and_below_their_path() -> None:
    assert paths(OLD, NEW, "*: result.a") == [p for p in ALL if not p.startswith("result.a.")]
    assert paths(OLD, NEW, "*: result") == []
    # Added and removed members are covered where they are.
    assert paths(Struct(), Struct(x=Struct(y=Int(1))), "*: result.x") == []
    assert paths(Struct(x=Int(1)), Struct(), "*: result.x.y") == ["result.x"]


def test_rules_per_method() -> None:
    rules = Rules.from_flags(["echoStructTest: result.when", "demo.*: result.timestamp"])

    def got(method: str | None) -> list[str]:
        return [d.path for d in diff_values(OLD, NEW, rules=rules, method=method)]

    assert got("echoStructTest") == without("result.when")
    assert got("demo.clock") == without("result.timestamp")
    assert got("other") == ALL
    # Without a method only rules for every method apply.
    assert got(None) == ALL
    assert paths(OLD, NEW, "*: result.when", method=None) == without("result.when")


def test_whole_method_rules() -> None:
    rules = Rules.from_flags(["demo.random"])
    assert rules.ignores_method("demo.random") and not rules.ignores_method("demo.other")
    assert (
        diff_responses(
            MethodResponse(Int(1)), Fault.make(4, "x"), method="demo.random", rules=rules
        )
        == []
    )
    assert (
        len(
            diff_responses(
                MethodResponse(Int(1)), Fault.make(4, "x"), method="demo.other", rules=rules
            )
        )
        == 1
    )
    assert diff_values(Int(1), Int(2), rules=rules, method="demo.random") == []
    assert diff_calls(MethodCall("demo.random", (Int(1),)), MethodCall("x", ()), rules=rules) == []


def test_ignoring_a_path_keeps_faults_visible() -> None:
    rules = Rules.from_flags(["demo.random: result"])
    assert (
        diff_responses(
            MethodResponse(Int(1)), MethodResponse(Int(2)), method="demo.random", rules=rules
        )
        == []
    )
    (d,) = diff_responses(
        MethodResponse(Int(1)), Fault.make(4, "x"), method="demo.random", rules=rules
    )
    assert d.kind == "fault"


def test_kind_rules() -> None:
    old = Struct(s=String("x"), t=String("y"), n=Int(1))
    new = Struct(s=UntypedString("x"), t=String("z"), n=Int(2))
    untyped_ignored = Rules((IgnoreRule(kinds=frozenset({"untyped"})),))
    assert [d.path for d in diff_values(old, new, rules=untyped_ignored)] == [
        "result.t",
        "result.n",
    ]
    changed_under_t = Rules((IgnoreRule(path="result.t", kinds=frozenset({"changed"})),))
    assert [d.path for d in diff_values(old, new, rules=changed_under_t)] == [
        "result.s",
        "result.n",
    ]
    faults = Rules((IgnoreRule(method="m", kinds=frozenset({"fault_string"})),))
    (d,) = diff_responses(Fault.make(1, "a"), Fault.make(2, "b"), method="m", rules=faults)
    assert d.kind == "fault_code"


def test_alignment_sees_through_ignored_members() -> None:
    # Every timestamp differs, so only masked fingerprints can tell the items are the same.
    old = Array(
        [Struct(id=Int(i), ts=DateTime(f"20240101T00:00:{i % 60:02d}")) for i in range(100)]
    )
    new = Array(
        [Struct(id=Int(i), ts=DateTime(f"20250101T00:00:{i % 60:02d}")) for i in range(100)]
    )
    new.insert(50, Struct(id=Int(999), ts=DateTime("20250101T00:00:00")))
    rules = Rules.from_flags(["*: result[*].ts"])
    diffs = diff_values(old, new, rules=rules)
    assert [d.describe() for d in diffs] == [
        "result[50]: added struct {id: 999, ts: 20250101T00:00:00}"
    ]


def test_alignment_sees_through_tolerance_and_untyped() -> None:
    old = Array([Struct(id=Int(i), v=Double(i / 3), s=String("x")) for i in range(40)])
    new = Array(
        [Struct(id=Int(i), v=Double(i / 3 + 1e-12), s=UntypedString("x")) for i in range(40)]
    )
    del new[5]
    rules = Rules((IgnoreRule(kinds=frozenset({"untyped"})),), (ToleranceRule(1e-9),))
    assert [d.describe() for d in diff_values(old, new, rules=rules)] == [
        'result[5]: removed struct {id: 5, v: 1.6666666666666667, s: "x"}'
    ]


def test_merged_rules_and_flags() -> None:
    a = Rules.from_flags(["*: result.when"], ["0.5"])
    b = Rules.from_flags(["m: result.a"], ["0"])
    merged = a.merged(b)
    assert merged.ignore == a.ignore + b.ignore
    # The later global tolerance wins.
    assert diff_values(Double(1.0), Double(1.25), rules=a) == []
    assert len(diff_values(Double(1.0), Double(1.25), rules=merged)) == 1


# ---------------------------------------------------------------- flags


def test_parse_rule_forms() -> None:
    assert parse_rule("echoStructTest: result.*.timestamp") == IgnoreRule(
        "echoStructTest", "result.*.timestamp"
    )
    assert parse_rule("*: result.when") == IgnoreRule("*", "result.when")
    assert parse_rule("demo.random") == IgnoreRule("demo.random", None)
    assert parse_rule("demo.random: result") == IgnoreRule("demo.random", "result")
    assert parse_rule("  ns:echo:   result.x ") == IgnoreRule("ns:echo", "result.x")
    assert parse_rule("result.get:") == IgnoreRule("result.get", None)
    assert parse_rule("ns:echo") == IgnoreRule("ns:echo", None)


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("demo.random:result", "put a space after the colon ('demo.random: result')"),
        ("result.when", "ambiguous: write '*: result.when'"),
        (": result", "no method"),
        ("m: results.x", "must start with one of fault, method, params, result, '*' or '**'"),
        ("m: result..x", "empty member name"),
        ("m: result[x]", "expected an index"),
        ("m: result.a**", "'**' must be a whole segment"),
        ("m: [0]", "must start with a name"),
    ],
)
def test_parse_rule_errors(flag: str, message: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_rule(flag)
    assert message in str(err.value)


def test_parse_tolerance_forms_and_errors() -> None:
    assert parse_tolerance("1e-9") == ToleranceRule(1e-9)
    assert parse_tolerance("result.x = 0.5") == ToleranceRule(0.5, "*", "result.x")
    assert parse_tolerance("stats.*: result.mean=1e-6") == ToleranceRule(
        1e-6, "stats.*", "result.mean"
    )
    with pytest.raises(RuleError, match="'abc' is not a number"):
        parse_tolerance("abc")
    with pytest.raises(RuleError, match="finite number >= 0"):
        parse_tolerance("-1")
    with pytest.raises(RuleError, match="finite number >= 0"):
        parse_tolerance("inf")


# ---------------------------------------------------------------- the rule file

GOOD = """\
# rpcspy diff rules
[tolerance]
double = 1e-9

[[ignore]]
method = "echoStructTest"
path = "result.*.timestamp"

[[ignore]]
path = "result.when"

[[ignore]]
method = "demo.random"

[[ignore]]
kinds = ["untyped"]

[[tolerate]]
method = "stats.*"
path = "result.mean"
double = 1e-6
"""


def test_parse_rules_reads_every_form() -> None:
    rules = parse_rules(GOOD)
    assert rules == Rules(
        (
            IgnoreRule("echoStructTest", "result.*.timestamp"),
            IgnoreRule("*", "result.when"),
            IgnoreRule("demo.random"),
            IgnoreRule("*", None, frozenset({"untyped"})),
        ),
        (ToleranceRule(1e-9), ToleranceRule(1e-6, "stats.*", "result.mean")),
    )
    assert parse_rules("") == Rules()
    assert parse_rules('[[ignore]]\nkinds = "untyped"\n').ignore[0].kinds == frozenset({"untyped"})


def error(text: str) -> RuleError:
    with pytest.raises(RuleError) as err:
        parse_rules(text, source="rules.toml")
    return err.value


def test_rule_file_errors_name_line_and_key() -> None:
    e = error(GOOD.replace('path = "result.when"', 'path = "results.when"'))
    assert (e.line, e.key) == (10, "[[ignore]] #2 path")
    assert str(e).startswith("rules.toml, line 10: [[ignore]] #2 path: path glob 'results.when'")

    e = error(GOOD.replace('method = "demo.random"', 'methd = "demo.random"'))
    assert (e.line, e.key) == (13, "[[ignore]] #3 methd")
    assert "unknown key (expected one of method, path, kinds)" in str(e)

    e = error(GOOD.replace('kinds = ["untyped"]', 'kinds = ["untypd"]'))
    assert (e.line, e.key) == (16, "[[ignore]] #4 kinds")
    assert "unknown kind 'untypd'" in str(e)

    e = error(GOOD.replace("double = 1e-6", 'double = "small"'))
    assert (e.line, e.key) == (21, "[[tolerate]] #1 double")
    assert "tolerance must be a number" in str(e)

    e = error(GOOD.replace("double = 1e-9", "double = -1.0"))
    assert (e.line, e.key) == (3, "[tolerance] double")

    e = error(GOOD.replace('method = "echoStructTest"', "method = 7"))
    assert (e.line, e.key) == (6, "[[ignore]] #1 method")
    assert "must be a string, not an integer" in str(e)


def test_rule_file_structure_errors() -> None:
    e = error("version = 2\n")
    assert (e.line, e.key) == (1, "version")
    assert "unknown key (expected one of ignore, tolerance, tolerate)" in str(e)

    e = error('x = 1\n[[ignore]]\npath = "result"\n[[ignore]]\n# nothing\n')
    assert e.key == "x"

    e = error('[[ignore]]\npath = "result"\n[[ignore]]\n# nothing\n')
    assert (e.line, e.key) == (3, "[[ignore]] #2")
    assert "needs a method, a path or kinds" in str(e)

    e = error('ignore = "everything"\n')
    assert (e.line, e.key) == (1, "ignore")
    assert "array of tables" in str(e)

    e = error("tolerance = 1e-9\n")
    assert (e.line, e.key) == (1, "tolerance")

    e = error("[tolerance]\nabsolute = 1\n")
    assert (e.line, e.key) == (2, "[tolerance] absolute")

    e = error('[[tolerate]]\npath = "result.x"\n')
    assert (e.line, e.key) == (1, "[[tolerate]] #1")
    assert "missing key double" in str(e)


def test_rule_file_syntax_errors_give_the_line() -> None:
    e = error('[[ignore]]\npath = "result"\nmethod = \n')
    assert e.line == 3
    assert str(e).startswith("rules.toml, line 3: not valid TOML: ")


def test_inline_tables_still_name_the_key() -> None:
    e = error('ignore = [{path = "result"}, {path = "nope"}]\n')
    assert e.key == "[[ignore]] #2 path"
    assert "path glob 'nope' must start with" in str(e)


def test_load_rules(tmp_path: Path) -> None:
    path = tmp_path / "diff.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_rules(path) == parse_rules(GOOD)
    path.write_text("[[ignore]]\npath = 'nope'\n", encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_rules(str(path))
    assert str(err.value).startswith(f"{path}, line 2: [[ignore]] #1 path:")
    with pytest.raises(RuleError, match="cannot read rule file"):
        load_rules(tmp_path / "missing.toml")


def test_rule_objects_validate_themselves() -> None:
    with pytest.raises(RuleError, match="unknown kind"):
        IgnoreRule(kinds=frozenset({"nope"}))  # type: ignore[arg-type]
    with pytest.raises(RuleError, match="bad method glob"):
        IgnoreRule(method=" m")
    with pytest.raises(RuleError, match="empty path glob"):
        IgnoreRule(path="")
    with pytest.raises(RuleError, match="finite number"):
        ToleranceRule(float("nan"))
    # Hashable, so compiled rules can be cached per (rules, method).
    assert hash(Rules.from_flags(["*: result"])) == hash(Rules.from_flags(["*: result"]))
