"""The filter parser: every construct, and every error with its column."""

from __future__ import annotations

import pytest

from rpcspy.filter import FilterError, complete, complete_word, parse_filter
from rpcspy.filter.ast import (
    WILDCARD,
    All,
    And,
    Client,
    ErrorFlag,
    FaultTest,
    FindingRule,
    Latency,
    MethodGlob,
    Multicall,
    Nonconformant,
    Not,
    OkFlag,
    Or,
    Origin,
    PathTest,
    ProblemFlag,
    Protocol,
    Size,
    Status,
    Text,
)


def tree(text: str) -> object:
    return parse_filter(text).tree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", All()),
        ("   ", All()),
        ("fault", FaultTest()),
        ("FAULT", FaultTest()),
        ("fault:-32601", FaultTest(-32601)),
        ("fault:4", FaultTest(4)),
        ("ok", OkFlag()),
        ("problem", ProblemFlag()),
        ("error", ErrorFlag()),
        ("multicall", Multicall()),
        ("method:dir.*", MethodGlob("dir.*")),
        ("method:system.listMethods", MethodGlob("system.listMethods")),
        ('method:"odd name"', MethodGlob("odd name")),
        ("bob", Text("bob")),
        ('"two words"', Text("two words")),
        ("'single quoted'", Text("single quoted")),
        ('"say \\"hi\\""', Text('say "hi"')),
        ('"and"', Text("and")),
        ("faulty", Text("faulty")),
        ("latency>200ms", Latency(">", 200.0)),
        ("latency>=1.5s", Latency(">=", 1500.0)),
        ("latency<500us", Latency("<", 0.5)),
        ("latency<=2m", Latency("<=", 120_000.0)),
        ("latency=10", Latency("=", 10.0)),
        ("duration!=10ms", Latency("!=", 10.0)),
        ("size>10kb", Size(">", 10 * 1024)),
        ("size<=2mb", Size("<=", 2 * 1024 * 1024)),
        ("size>100", Size(">", 100)),
        ("status:500", Status(500)),
        ("origin:resent", Origin("resent")),
        ("origin:PROXY", Origin("proxy")),
        ("protocol:oncrpc", Protocol("oncrpc")),
        ("protocol:RPyC", Protocol("rpyc")),
        ("client:127.0.0.*", Client("127.0.0.*")),
        ("params[0].name=bob", PathTest("params", (0, "name"), "=", "bob")),
        ('params[0].name="bob smith"', PathTest("params", (0, "name"), "=", "bob smith")),
        ("params[1]!=3", PathTest("params", (1,), "!=", "3")),
        ("params[0]~ob", PathTest("params", (0,), "~", "ob")),
        ("params[0].n>=5", PathTest("params", (0, "n"), ">=", "5")),
        ("params[0].n<5", PathTest("params", (0, "n"), "<", "5")),
        ("params[2]", PathTest("params", (2,))),
        ("params[*].id", PathTest("params", (WILDCARD, "id"))),
        ("params[0].*", PathTest("params", (0, WILDCARD))),
        ('params[0]["odd key"]=1', PathTest("params", (0, "odd key"), "=", "1")),
        ("params[0]:i4", PathTest("params", (0,), type_tag="i4")),
        ("params[0].id:string", PathTest("params", (0, "id"), type_tag="string")),
        ("params[0]:DATETIME", PathTest("params", (0,), type_tag="dateTime.iso8601")),
        ("params[0]:ex:i8", PathTest("params", (0,), type_tag="ex:i8")),
        ("result.total>10", PathTest("result", ("total",), ">", "10")),
        ("result[0]=a.txt", PathTest("result", (0,), "=", "a.txt")),
        ("result", PathTest("result", ())),
    ],
)
def test_terms(text: str, expected: object) -> None:
    assert tree(text) == expected


def test_boolean_structure_and_precedence() -> None:
    assert tree("fault and ok") == And(FaultTest(), OkFlag())
    assert tree("fault ok") == And(FaultTest(), OkFlag())  # adjacency is and
    assert tree("fault && ok") == And(FaultTest(), OkFlag())
    assert tree("fault & ok") == And(FaultTest(), OkFlag())
    assert tree("fault or ok") == Or(FaultTest(), OkFlag())
    assert tree("fault || ok") == Or(FaultTest(), OkFlag())
    assert tree("fault | ok") == Or(FaultTest(), OkFlag())
    assert tree("not fault") == Not(FaultTest())
    assert tree("!fault") == Not(FaultTest())
    assert tree("NOT not fault") == Not(Not(FaultTest()))
    # and binds tighter than or; not tighter than and
    assert tree("a or b and c") == Or(Text("a"), And(Text("b"), Text("c")))
    assert tree("not a and b") == And(Not(Text("a")), Text("b"))
    assert tree("(a or b) and c") == And(Or(Text("a"), Text("b")), Text("c"))
    assert tree("a or b or c") == Or(Or(Text("a"), Text("b")), Text("c"))
    assert tree("method:dir.*(fault)") == And(MethodGlob("dir.*"), FaultTest())
    assert tree("((fault))") == FaultTest()


def test_filter_object() -> None:
    flt = parse_filter("  fault ")
    assert flt.text == "  fault "
    assert not flt.is_empty
    assert parse_filter("").is_empty


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("(fault", 1, "unclosed '('"),
        ("ok and (fault", 8, "unclosed '('"),
        ("(", 1, "unclosed '('"),
        ("fault)", 6, "unexpected ')'"),
        (")", 1, "unexpected ')'"),
        ("()", 1, "empty parentheses"),
        ("and ok", 1, "'and' needs a filter on its left"),
        ("or ok", 1, "'or' needs a filter on its left"),
        ("fault and", 7, "expected a filter after 'and'"),
        ("fault or", 7, "expected a filter after 'or'"),
        ("fault and or ok", 11, "expected a filter after 'and', found 'or'"),
        ("not", 1, "expected a filter after 'not'"),
        ("ok and not", 8, "expected a filter after 'not'"),
        ("(not)", 5, "expected a filter after 'not', found ')'"),
        ('"abc', 1, "unterminated quoted text"),
        ('ok "abc', 4, "unterminated quoted text"),
        ("method:", 8, "expected a value after 'method:'"),
        ("fault:", 7, "expected a value after 'fault:'"),
        ("fault:x", 7, "a fault code is an integer"),
        ("fault:1.5", 7, "a fault code is an integer"),
        ("status:99", 8, "HTTP status"),
        ("status:abc", 8, "HTTP status"),
        ("origin:resnt", 8, "did you mean 'resent'"),
        ("protocol:xmlprc", 10, "did you mean 'xmlrpc'"),
        ("methd:x", 1, "unknown field 'methd' (did you mean 'method'?)"),
        ("foo:bar", 1, "unknown field 'foo'"),
        ("latncy>5", 1, "unknown field 'latncy' (did you mean 'latency'?)"),
        ("speed=3", 1, "unknown field 'speed'"),
        ("latency>", 9, "expected a duration after 'latency>'"),
        ("latency>fast", 9, "expected a duration"),
        ("latency>5parsecs", 9, "units us, ms, s, m"),
        ("size>lots", 6, "expected a size after 'size>'"),
        ("size>5tb", 6, "units b, kb, mb, gb"),
        ("params[x]", 8, "expected an index, '*' or a quoted member name"),
        ("params[0", 7, "expected ']' to close '['"),
        ("params[0].=1", 10, "expected a member name after '.'"),
        ("params[0]=", 11, "expected a value after '='"),
        ("params[0]:int4", 11, "unknown XML-RPC type 'int4' (did you mean 'int'?)"),
        ('params["x', 8, "unterminated quoted text"),
        ('params["x"y', 11, "expected ']' after the member name"),
        ("ok params[0]?", 13, "unexpected '?' in the path"),
    ],
)
def test_errors_have_column_and_reason(text: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    err = info.value
    assert err.column == column, err.message
    assert fragment in err.reason
    assert err.message.startswith(f"column {column}: ")
    assert str(err) == err.message


def test_error_length_underlines_the_word() -> None:
    with pytest.raises(FilterError) as info:
        parse_filter("ok latncy>5")
    assert (info.value.column, info.value.length) == (4, 6)


def test_completion_of_words() -> None:
    assert complete_word("fa") == ["fault", "fault:"]
    assert complete_word("meth") == ["method:"]
    assert complete_word("lat") == ["latency>"]
    assert complete_word("dur") == ["duration"]
    assert complete_word("orig") == ["origin:"]
    assert complete_word("origin:re") == ["origin:replay", "origin:resent"]
    assert complete_word("proto") == ["protocol:"]
    assert complete_word("protocol:") == ["protocol:xmlrpc", "protocol:oncrpc", "protocol:rpyc"]
    assert complete_word("params[0]:i") == ["params[0]:i4", "params[0]:int", "params[0]:i8"]
    assert complete_word("zzz") == []
    assert complete_word("") == []


def test_completion_of_method_names() -> None:
    methods = ["system.listMethods", "system.multicall", "dir.list", "dir.read", "ping"]
    assert complete_word("method:sys", methods) == [
        "method:system.*",
        "method:system.listMethods",
        "method:system.multicall",
    ]
    assert complete_word("method:dir.r", methods) == ["method:dir.read"]
    assert complete_word("method:p", methods) == ["method:ping"]
    assert complete_word("client:1", clients=["127.0.0.1:5000"]) == ["client:127.0.0.1:5000"]


def test_completion_of_whole_input_keeps_the_prefix() -> None:
    assert complete("fault and meth") == ["fault and method:"]
    assert complete("(fa") == ["(fault", "(fault:"]
    assert complete("!mu") == ["!multicall"]
    assert complete("fault ") == []
    assert complete("") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nonconformant", Nonconformant()),
        ("NONCONFORMANT", Nonconformant()),
        ("finding:fault-code-not-int", FindingRule("fault-code-not-int")),
        ("finding:fault-*", FindingRule("fault-*")),
        ('finding:"int-out-of-range"', FindingRule("int-out-of-range")),
        ("finding:*", FindingRule("*")),
        (
            "nonconformant and not finding:nil-extension",
            And(Nonconformant(), Not(FindingRule("nil-extension"))),
        ),
        ('"nonconformant"', Text("nonconformant")),
    ],
)
def test_finding_terms(text: str, expected: object) -> None:
    assert tree(text) == expected


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("finding:", 9, "expected a value after 'finding:', e.g. finding:fault-code-not-int"),
        ("finding:fault-code-not-integer", 9, "(did you mean 'fault-code-not-int'?)"),
        ("ok finding:nope", 12, "unknown finding rule 'nope'"),
        ("findings:x", 1, "unknown field 'findings' (did you mean 'finding'?)"),
    ],
)
def test_finding_errors(text: str, column: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    assert info.value.column == column, info.value.message
    assert fragment in info.value.reason


def test_completion_of_finding_rules() -> None:
    assert complete_word("nonc") == ["nonconformant"]
    assert complete_word("fin") == ["finding:"]
    assert complete_word("finding:int") == ["finding:int-out-of-range"]
    assert complete_word("finding:fault-code") == ["finding:fault-code-not-int"]
