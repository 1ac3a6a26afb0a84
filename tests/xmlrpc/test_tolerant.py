"""The tolerant reading: every rule of findings.RULES, the tolerant corpus (tests/data/tolerant,
modelled on what real peers send), strict mode unchanged, re-encoding, safety limits, and the
stdlib's reading of the same bytes."""

from __future__ import annotations

import json
import threading
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from rpcspy.xmlrpc import (
    I4,
    RULES,
    Array,
    Base64,
    CodecError,
    DateTime,
    Fault,
    Finding,
    Int,
    Limits,
    MalformedXml,
    MethodCall,
    MethodResponse,
    NoValue,
    RawValue,
    String,
    Struct,
    UnsafeXml,
    Value,
    WideI4,
    WideInt,
    decode_message,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    encode_value,
    expand_multicall,
    pair_multicall,
    read_message,
    read_request,
    read_response,
    to_python,
)
from rpcspy.xmlrpc.jsonform import (
    call_from_json,
    response_from_json,
    value_from_json,
    value_to_json,
)
from tests.conftest import DATA, REPO
from tests.xmlrpc.strategies import method_calls, plain_values

TOLERANT = DATA / "tolerant"
MANIFEST: dict[str, dict[str, Any]] = json.loads((TOLERANT / "manifest.json").read_text())
INVALID = DATA / "invalid"
INVALID_MANIFEST: dict[str, dict[str, Any]] = json.loads((INVALID / "manifest.json").read_text())
VALID = sorted((DATA / "valid").glob("*.xml"))
EX = "http://ws.apache.org/xmlrpc/namespaces/extensions"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Rules the corpus cannot show by decoding a body: the three whole-message errors.
ERROR_KINDS = {"malformed-xml", "unsafe-xml", "bad-value"}


def _expected(entry: dict[str, Any]) -> MethodCall | MethodResponse | Fault:
    form = entry["message"]
    return call_from_json(form) if "method" in form else response_from_json(form)


def _read(name: str) -> tuple[bytes, MethodCall | MethodResponse | Fault, list[Finding]]:
    body = (TOLERANT / name).read_bytes()
    message, findings = read_message(body)
    found = list(findings)
    if MANIFEST[name].get("multicall"):
        assert isinstance(message, MethodCall)
        expand_multicall(message, findings=found)
    return body, message, found


# ---------------------------------------------------------------- the corpus


def test_every_tolerant_file_has_a_manifest_entry_and_back() -> None:
    assert {p.name for p in TOLERANT.glob("*.xml")} == set(MANIFEST)


def test_the_corpus_shows_every_rule() -> None:
    shown = {f["rule"] for entry in MANIFEST.values() for f in entry["findings"]}
    assert shown == set(RULES) - ERROR_KINDS


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_tolerant_file_reads_as_the_manifest_says(name: str) -> None:
    entry = MANIFEST[name]
    _, message, findings = _read(name)
    assert message == _expected(entry)
    got = [{"rule": f.rule, "line": f.line, "path": f.path} for f in findings]
    assert got == entry["findings"]
    for finding in findings:
        rule = RULES[finding.rule]
        assert finding.severity == rule.severity
        assert finding.spec == rule.spec and finding.spec
        assert finding.message and "\n" not in finding.message


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_strict_decoding_is_unchanged_it_refuses_or_agrees(name: str) -> None:
    """Strict mode is what it was: where it decodes a deviant body at all, the tolerant
    reading gives the same message (it only adds findings)."""
    body = (TOLERANT / name).read_bytes()
    _, message, _ = _read(name)
    try:
        strict = decode_message(body)
    except CodecError as error:
        assert error.kind in ERROR_KINDS
        assert not isinstance(error, UnsafeXml)
    else:
        assert strict == message


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_tolerant_messages_re_encode_to_the_same_meaning(name: str) -> None:
    _, message, findings = _read(name)
    if isinstance(message, MethodCall):
        again = read_request(encode_request(message))
    else:
        again = read_response(encode_response(message, tolerant=True))
    assert again.message == message
    # What the encoder writes back keeps the value deviations (an i4 beyond 32 bits, an
    # unknown element ...) but not the ones of the XML around them.
    kept = {f.rule for f in again.findings}
    assert kept <= {f.rule for f in findings}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_tolerant_messages_survive_their_json_form(name: str) -> None:
    _, message, _ = _read(name)
    assert _expected(MANIFEST[name]) == message  # the manifest holds the JSON form itself


def _plain(value: object) -> object:
    if isinstance(value, xmlrpc.client.DateTime):
        return value.value
    if isinstance(value, xmlrpc.client.Binary):
        return value.data
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _ours(value: Value) -> object:
    if isinstance(value, DateTime):
        return str.__str__(value)
    if isinstance(value, Struct):
        return {k: _ours(v) for k, v in value.items()}
    if isinstance(value, Array):
        return [_ours(v) for v in value]
    return to_python(value)


def _stdlib_verdict(body: bytes, message: MethodCall | MethodResponse | Fault) -> str:
    try:
        params, method = xmlrpc.client.loads(body)
    except xmlrpc.client.Fault as fault:
        assert isinstance(message, Fault)
        theirs: object = (fault.faultCode, fault.faultString)
        ours: object = (_ours(message.wire_code), _ours(message.value["faultString"]))
    except Exception:
        return "refuses"
    else:
        if isinstance(message, MethodCall):
            theirs = (method, _plain(params))
            ours = (message.method, [_ours(p) for p in message.params])
        elif isinstance(message, MethodResponse) and isinstance(message.value, NoValue):
            theirs, ours = params, ()
        else:
            assert isinstance(message, MethodResponse)
            theirs, ours = _plain(params), [_ours(message.value)]
    return "same" if theirs == ours else "differs"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_the_stdlib_reads_the_same_meaning_where_it_reads_at_all(name: str) -> None:
    """Differential: every tolerant-corpus body xmlrpc.client accepts reads the same with ours
    (the one difference, a <value> before its <name>, is the stdlib's: it swaps them)."""
    body, message, _ = _read(name)
    assert _stdlib_verdict(body, message) == MANIFEST[name]["stdlib"]


def test_the_stdlib_swaps_name_and_value_where_we_do_not() -> None:
    body, message, _ = _read("member-order.xml")
    (theirs,), _ = xmlrpc.client.loads(body)
    assert theirs == {1: "id", "ok": True}
    assert isinstance(message, MethodCall)
    assert message.params[0] == Struct(id=I4(1), ok=message.params[0]["ok"])


# ---------------------------------------------------------------- deviations, generated

_EXTENSIONS = {"nil-extension", "i8-extension", "apache-extension", "datetime-variant"}


def _deviate(body: bytes, swap: bool, unwrap: bool, pad: bool) -> tuple[bytes, set[str]]:
    """``body`` with the deviations real peers make, and the rules they break."""
    root = etree.fromstring(body, etree.XMLParser(remove_blank_text=False))
    made: set[str] = set()
    for member in root.iter("member") if swap else ():
        name = member[0]
        member.remove(name)
        member.append(name)
        made.add("member-order")
    for data in list(root.iter("data")) if unwrap else ():
        array = data.getparent()
        assert array is not None
        array.remove(data)
        array.extend(list(data))
        made.add("array-without-data")
    for number in root.iter("int", "i4") if pad else ():
        number.text = f"\n  {number.text}\n"
        made.add("whitespace-in-int")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), made


@FAST
@given(method_calls, st.booleans(), st.booleans(), st.booleans())
def test_deviant_bodies_read_to_the_message_they_were_made_from(
    call: MethodCall, swap: bool, unwrap: bool, pad: bool
) -> None:
    body, made = _deviate(encode_request(call), swap, unwrap, pad)
    message, findings = read_request(body)
    assert message == call
    rules = {f.rule for f in findings}
    assert made <= rules <= made | _EXTENSIONS
    assert all(f.severity == "warning" and f.line is not None for f in findings)


# ---------------------------------------------------------------- conformant bodies


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_files_read_as_they_decode(path: Path) -> None:
    body = path.read_bytes()
    message, findings = read_message(body)
    assert message == decode_message(body)
    assert all(f.severity == "warning" for f in findings)


def test_a_conformant_body_has_no_findings() -> None:
    body = (DATA / "valid" / "supervisord-getAllProcessInfo-response.xml").read_bytes()
    assert read_response(body) == (decode_response(body), ())
    call = (DATA / "valid" / "odoo-login-call.xml").read_bytes()
    reading = read_request(call)
    assert reading.message == decode_request(call) and reading.findings == ()


@FAST
@given(st.lists(plain_values, max_size=4).map(tuple))
def test_stdlib_bodies_read_as_they_decode(params: tuple[object, ...]) -> None:
    body = xmlrpc.client.dumps(params, "m", allow_none=True).encode()  # type: ignore[arg-type]
    message, findings = read_message(body)
    assert message == decode_message(body)
    # The stdlib writes <nil/> (an extension) and the spec's dateTime form.
    assert {f.rule for f in findings} <= {"nil-extension"}


@pytest.mark.parametrize("name", sorted(INVALID_MANIFEST))
def test_what_strict_mode_refuses_never_reads_silently(name: str) -> None:
    body = (INVALID / name).read_bytes()
    limits = Limits(**INVALID_MANIFEST[name].get("limits", {}))
    try:
        message, findings = read_message(body, limits)
    except CodecError as error:
        with pytest.raises(CodecError) as strict:
            decode_message(body, limits)
        assert error.kind == strict.value.kind
    else:
        assert findings, f"{name} read as {message!r} without a finding"


# ---------------------------------------------------------------- safety does not bend

UNSAFE = sorted(n for n in INVALID_MANIFEST if n.startswith("unsafe-xml/"))


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_bodies_are_refused_in_tolerant_mode_too(name: str) -> None:
    body = (INVALID / name).read_bytes()
    limits = Limits(**INVALID_MANIFEST[name].get("limits", {}))
    with pytest.raises(UnsafeXml) as info:
        read_message(body, limits)
    assert INVALID_MANIFEST[name]["reason"] in info.value.reason


def _deviant(inner: str) -> bytes:
    return (
        "<?xml version='1.0'?><methodCall><methodName>m</methodName><params><param><value>"
        f"{inner}</value></param></params></methodCall>"
    ).encode()


@pytest.mark.parametrize(
    "prefix",
    [
        "<!DOCTYPE m [<!ENTITY x 'boom'>]>",
        '<!DOCTYPE m SYSTEM "file:///etc/passwd">',
        "<!DOCTYPE m [<!ENTITY % p SYSTEM 'http://127.0.0.1:9/x'> %p;]>",
    ],
)
def test_a_dtd_in_a_deviant_body_is_refused(prefix: str) -> None:
    body = _deviant("<array><value><i4>9999999999</i4></value></array>")
    body = body.replace(b"?>", b"?>" + prefix.encode(), 1)
    with pytest.raises(UnsafeXml, match="DOCTYPE"):
        read_message(body)


def test_an_undefined_entity_in_a_deviant_body_is_refused() -> None:
    with pytest.raises(MalformedXml, match="Entity 'x' not defined"):
        read_message(_deviant("<i4>9999999999</i4>&x;"))


def test_the_size_limit_holds_in_tolerant_mode() -> None:
    body = _deviant("<array>" + "<value>x</value>" * 100 + "</array>")
    with pytest.raises(UnsafeXml, match="over the limit"):
        read_message(body, Limits(max_bytes=len(body) - 1))
    assert read_message(body, Limits(max_bytes=len(body))).findings


@pytest.mark.parametrize("container", ["<array>{}</array>", "<array><data>{}</data></array>"])
def test_the_depth_limit_holds_in_the_tolerant_walk(container: str) -> None:
    # <array> without <data> takes the tolerant walk; the depth limit is the strict one's.
    def nest(depth: int) -> str:
        inner = "<value><i4>9999999999</i4></value>"
        for _ in range(depth):
            inner = "<value>" + container.format(inner) + "</value>"
        return inner

    body = _deviant(nest(5)[len("<value>") : -len("</value>")])
    assert read_message(body, Limits(max_depth=5)).findings
    deep = _deviant(nest(6)[len("<value>") : -len("</value>")])
    with pytest.raises(UnsafeXml, match="nested too deeply"):
        read_message(deep, Limits(max_depth=5))
    very_deep = _deviant(nest(5000)[len("<value>") : -len("</value>")])
    with pytest.raises(UnsafeXml):
        read_message(very_deep)


# ---------------------------------------------------------------- single rules in detail


def test_out_of_range_integers_keep_their_number_and_wire_tag() -> None:
    message, (finding,) = read_message(_deviant("<i4>-1099511627776</i4>"))
    assert isinstance(message, MethodCall)
    (value,) = message.params
    assert type(value) is WideI4 and isinstance(value, I4) and value == WideI4(-(2**40))
    assert int(value) == -(2**40) and value.tag == "i4"
    assert encode_value(value) == "<value><i4>-1099511627776</i4></value>"
    assert (finding.rule, finding.path, finding.line) == ("int-out-of-range", "params[0]", 1)
    with pytest.raises(CodecError, match="out of range for <i4>"):
        decode_message(_deviant("<i4>-1099511627776</i4>"))
    with pytest.raises(CodecError, match="out of range"):
        encode_value(I4(2**40))  # a plain I4 still refuses what does not fit


@FAST
@given(
    st.one_of(st.integers(max_value=-(2**31) - 1), st.integers(min_value=2**31)),
    st.sampled_from(["i4", "int"]),
)
def test_any_integer_beyond_32_bits_reads_and_re_encodes_identically(number: int, tag: str) -> None:
    element = f"<{tag}>{number}</{tag}>"
    message, findings = read_message(_deviant(element))
    assert isinstance(message, MethodCall)
    (value,) = message.params
    assert type(value) is (WideI4 if tag == "i4" else WideInt) and int(value) == number
    assert [f.rule for f in findings] == ["int-out-of-range"]
    assert encode_value(value) == f"<value>{element}</value>"
    assert value_from_json(json.loads(json.dumps(value_to_json(value)))) == value
    (theirs,), _ = xmlrpc.client.loads(_deviant(element))
    assert theirs == number


def test_a_string_fault_code_is_kept_beside_the_integer_code() -> None:
    body, message, _ = _read("xmlrpc-lite-fault-string-code.xml")
    assert isinstance(message, Fault)
    assert message.code == 0 and message.wire_code == String("Server")
    assert message.string == "unexpected error\n"
    with pytest.raises(CodecError, match="integer faultCode"):
        encode_response(message)  # strict encoding writes conformant faults only
    again = encode_response(message, tolerant=True)
    assert b"<string>Server</string>" in again
    assert read_response(again).message == message
    with pytest.raises(xmlrpc.client.Fault) as theirs:
        xmlrpc.client.loads(body)
    assert theirs.value.faultCode == "Server"


def test_the_first_duplicate_member_is_told_in_the_finding() -> None:
    _, message, (finding,) = _read("duplicate-member.xml")
    assert finding.message.endswith("the first (line 6) was i4 1")
    assert isinstance(message, MethodCall)
    assert list(message.params[0]) == ["id", "name"]  # the first one's place, the last's value


def test_unknown_elements_are_kept_as_written_and_written_back() -> None:
    _, message, _ = _read("unknown-type-tag.xml")
    assert isinstance(message, MethodCall)
    raw = message.params[1]["t"]  # type: ignore[index]
    assert isinstance(raw, RawValue)
    assert (raw.element, raw.text) == ("custom", "1")
    assert encode_value(raw) == '<value><custom kind="x"><a>1</a></custom></value>'
    assert raw == RawValue("custom", "1", '<custom kind="x"><a>1</a></custom>')
    assert raw != RawValue("custom", "1", "<custom><a>1</a></custom>")
    assert hash(raw) == hash(RawValue("x", "y", raw.xml))
    with pytest.raises(AttributeError):
        raw.xml = "<b/>"  # type: ignore[misc]
    with pytest.raises(CodecError, match="well-formed"):
        encode_value(RawValue("x", "", "<x>"))
    with pytest.raises(CodecError, match="exactly one element"):
        encode_value(RawValue("x", "", "<x/><y/>"))


def test_a_namespaced_unknown_element_keeps_its_namespace() -> None:
    body = _deviant(f'<ex:thing xmlns:ex="{EX}">1</ex:thing>')
    message, (finding,) = read_message(body)
    assert isinstance(message, MethodCall)
    raw = message.params[0]
    assert isinstance(raw, RawValue) and raw.element == "ex:thing"
    assert finding.rule == "unknown-type-tag"
    assert read_message(encode_request(message)).message == message


def test_an_empty_params_response_re_encodes_without_a_param() -> None:
    _, message, _ = _read("empty-params-response.xml")
    assert message == MethodResponse(NoValue())
    assert b"<params></params>" in encode_response(message)  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="NoValue"):
        encode_value(Array([NoValue()]))
    with pytest.raises(CodecError, match="exactly one <param>"):
        decode_message((TOLERANT / "empty-params-response.xml").read_bytes())


def test_multicall_extra_members_are_findings_only_when_asked() -> None:
    _, message, _ = _read("multicall-extra-member-call.xml")
    assert isinstance(message, MethodCall)
    with pytest.raises(CodecError, match="unexpected member 'id'"):
        expand_multicall(message)
    found: list[Finding] = []
    assert expand_multicall(message, findings=found) == (MethodCall("add", (I4(1),)),)
    assert [f.rule for f in found] == ["multicall-extra-member"]


def test_multicall_faults_are_read_tolerantly_when_asked() -> None:
    calls = (MethodCall("a"), MethodCall("b"))
    response = MethodResponse(
        Array([Array([Int(1)]), Struct(faultCode=String("Client"), faultString=String("no"))])
    )
    with pytest.raises(CodecError, match="faultCode must be an integer"):
        pair_multicall(calls, response)
    found: list[Finding] = []
    results = pair_multicall(calls, response, findings=found)
    assert isinstance(results[1], Fault) and results[1].wire_code == String("Client")
    assert [(f.rule, f.path) for f in found] == [("fault-code-not-int", "result[1].faultCode")]


def test_a_fault_that_is_not_a_struct_is_still_an_error() -> None:
    body = b"<methodResponse><fault><value><string>no</string></value></fault></methodResponse>"
    with pytest.raises(CodecError, match="must be a struct") as info:
        read_message(body)
    assert Finding.from_error(info.value).severity == "error"


def test_base64_padding_and_junk_decode_as_the_stdlib_decodes() -> None:
    for inner, raw in (
        ("<base64>aGk=aGk=</base64>", b"hi"),
        ("<base64>aGk===</base64>", b"hi"),
        ("<base64>a*G*k=</base64>", b"hi"),
    ):
        message, findings = read_message(_deviant(inner))
        assert isinstance(message, MethodCall)
        assert message.params == (Base64(raw),) and findings
        (theirs,), _ = xmlrpc.client.loads(_deviant(inner))
        assert theirs.data == raw
    message, findings = read_message(_deviant("<base64>a</base64>"))
    assert isinstance(message, MethodCall) and isinstance(message.params[0], RawValue)
    assert [f.rule for f in findings] == ["invalid-value"]


def test_a_declaration_is_late_only_before_the_root() -> None:
    body = b"  <methodCall><methodName>m</methodName><params><param><value><string>"
    body += b"<![CDATA[<?xml version='1.0'?>]]></string></value></param></params></methodCall>"
    message, findings = read_message(body)
    assert message == MethodCall("m", (String("<?xml version='1.0'?>"),)) and findings == ()
    bom = b"\xef\xbb\xbf<!-- x --><?xml version='1.0'?>" + _deviant("<i4>1</i4>")[21:]
    message, findings = read_message(bom)
    assert message == MethodCall("m", (I4(1),))
    assert [(f.rule, f.line, f.column) for f in findings] == [("decl-not-first", 1, 11)]


def test_only_bytes_are_read() -> None:
    with pytest.raises(MalformedXml, match="must be bytes"):
        read_message("<methodCall/>")  # type: ignore[arg-type]
    reading = read_message(bytearray(_deviant("<i4>9999999999</i4>")))
    assert [f.rule for f in reading.findings] == ["int-out-of-range"]
    assert read_message(memoryview(b" \n<?xml version='1.0'?>" + _deviant("<i4>1</i4>")[21:]))


def test_findings_leave_no_notes_behind_between_reads() -> None:
    deviant = _deviant("<int> 1 </int>")
    assert read_message(deviant).findings
    clean = _deviant("<int>1</int>")
    assert read_message(clean).findings == ()
    decode_message(deviant)  # strict mode notes nothing, and leaves nothing to the next read
    assert read_message(clean).findings == ()


def test_threads_keep_their_findings_apart() -> None:
    deviant = _deviant("<i4>9999999999</i4>")
    clean = _deviant("<i4>1</i4>")
    errors: list[str] = []

    def work(body: bytes, count: int) -> None:
        for _ in range(200):
            if len(read_message(body).findings) != count:
                errors.append("mixed")

    threads = [threading.Thread(target=work, args=(b, c)) for b, c in ((deviant, 1), (clean, 0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# ---------------------------------------------------------------- findings and rules


@pytest.mark.parametrize(
    "path", [*sorted(TOLERANT.glob("*.xml")), *VALID[:20]], ids=lambda p: p.name
)
def test_paths_worked_out_together_are_the_paths_worked_out_alone(path: Path) -> None:
    from rpcspy.xmlrpc import decode

    body = path.read_bytes().lstrip(b" \t\r\n")
    try:
        root = etree.fromstring(body)
    except (etree.XMLSyntaxError, ValueError):
        pytest.skip("a body the plain parser does not take as is")
    elements = list(root.iter())
    assert decode._paths_of(elements) == [decode._path_of(e) for e in elements]


def test_findings_serialise_and_come_back() -> None:
    _, _, findings = _read("duplicate-member.xml")
    (finding,) = findings
    data = json.loads(json.dumps(finding.to_dict()))
    assert Finding.from_dict(data) == finding
    assert str(finding).startswith("warning duplicate-member: member 'id' appears again")
    assert finding.where == "line 8, at params[0].id"
    unknown = Finding.from_dict({"rule": "from-the-future", "severity": "error", "message": "x"})
    assert (unknown.severity, unknown.spec) == ("error", "")


def test_errors_are_findings_of_their_kind() -> None:
    with pytest.raises(CodecError) as info:
        read_message(b"<methodCall><methodName>m</methodName><params><param>")
    finding = Finding.from_error(info.value)
    assert (finding.rule, finding.severity) == ("malformed-xml", "error")
    assert finding.spec == RULES["malformed-xml"].spec


def test_every_rule_is_documented() -> None:
    doc = (REPO / "docs" / "conformance.md").read_text()
    for rule in RULES.values():
        assert f"`{rule.id}`" in doc, rule.id
        assert rule.severity in ("warning", "error")
        assert rule.spec and rule.description
        assert rule.id == rule.id.lower() and " " not in rule.id
