"""Where a finding shows in a message's tree (``rpcspy.capture.findings_view``): the one placing
rule that show, the contentview and the TUI use."""

from __future__ import annotations

from rpcspy.capture.findings_view import holders, member_path, place_findings, tree_lines
from rpcspy.xmlrpc.tolerant import read_message

WIDE = (
    b"<?xml version='1.0'?><methodCall><methodName>demo.echo</methodName><params><param>"
    b"<value><struct><member><name>big</name><value><i4>1099511627776</i4></value></member>"
    b"<member><name>odd name</name><value><array><data><value><int>1</int></value></data>"
    b"</array></value></member></struct></value></param></params></methodCall>"
)


def test_a_finding_sits_on_the_deepest_line_that_holds_its_path() -> None:
    message, findings = read_message(WIDE)
    lines = list(tree_lines(message))
    assert [p for p, _ in lines] == [
        None,
        "params[0]",
        "params[0].big",
        'params[0]["odd name"]',
        'params[0]["odd name"][0]',
    ]
    (finding,) = findings
    assert finding.rule == "int-out-of-range" and finding.path == "params[0].big"
    placed = place_findings([p for p, _ in lines], findings)
    assert placed == {2: [finding]}
    assert lines[2][1] == "    big: i4 1099511627776"
    assert holders([p for p, _ in lines], [finding.path]) == {"params[0]"}


def test_a_finding_no_line_holds_goes_to_the_head() -> None:
    message, _ = read_message(WIDE)
    paths = [p for p, _ in tree_lines(message)]

    class F:
        def __init__(self, path: str | None) -> None:
            self.path = path

    nowhere, whole, sibling = F("result.x"), F(None), F("params[0].bigger")
    placed = place_findings(paths, [nowhere, whole, sibling])
    # "params[0].bigger" is not under "params[0].big": it goes to its struct's line.
    assert placed == {0: [nowhere, whole], 1: [sibling]}


def test_member_paths_are_spelled_as_the_decoder_spells_them() -> None:
    assert member_path("fault", "faultCode") == "fault.faultCode"
    assert member_path("result", "odd name") == 'result["odd name"]'
