"""Decoder behaviour beyond the corpus: exact text, encodings, limits, positions, paths."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpcspy.xmlrpc import (
    I4,
    Array,
    BadValue,
    Base64,
    Boolean,
    DateTime,
    ExBigDecimal,
    ExDom,
    ExNil,
    Fault,
    Int,
    Limits,
    MalformedXml,
    MethodCall,
    MethodResponse,
    String,
    Struct,
    UnsafeXml,
    UntypedString,
    Value,
    decode_message,
    decode_request,
    decode_response,
    encode_response,
    parse_datetime,
)
from rpcspy.xmlrpc._datetime import is_iso_datetime
from tests.conftest import DATA
from tests.xmlrpc.strategies import values

VALID = DATA / "valid"


def _params(name: str) -> tuple[Value, ...]:
    call = decode_request((VALID / name).read_bytes())
    return call.params


def _response(value_xml: str) -> bytes:
    return (
        f"<methodResponse><params><param><value>{value_xml}</value></param></params>"
        "</methodResponse>"
    ).encode()


def _nested_arrays(depth: int) -> bytes:
    return _response("<array><data><value>" * depth + "x" + "</value></data></array>" * depth)


# ---------------------------------------------------------------- text, exactly


def test_declared_encodings_are_honoured() -> None:
    assert _params("encoding-iso-8859-1.xml") == (String("Renée Müller"), String("Straße 5, Köln"))
    assert _params("encoding-windows-1252.xml") == (
        String("\u201cPremium\u201d espresso \u2013 250 g"),
        String("€ 12,50"),
    )
    assert _params("encoding-utf-16-be-bom.xml") == (String("日本語テキスト"),)
    assert _params("encoding-utf-8-bom.xml") == (String("naïve café"),)
    assert _params("encoding-utf-16-le-no-declaration.xml") == (UntypedString("живи"),)
    response = decode_response((VALID / "encoding-utf-16-le-bom.xml").read_bytes())
    assert response == MethodResponse(String("Grüße aus Köln ☕ 😀"))


def test_cdata_entities_and_blanks_around_cdata_are_kept() -> None:
    assert _params("cdata-and-entities.xml") == (
        String('<b>bold</b> & "quoted" ]]> end'),
        String("<>&'\" AB😀 \r"),
        UntypedString("    untyped cdata    "),
        String("  x  "),
    )


def test_comments_and_processing_instructions_vanish() -> None:
    call = decode_request((VALID / "comments-and-pis.xml").read_bytes())
    assert call == MethodCall("system.methodHelp", (String("supervisor.getState"),))


def test_crlf_is_a_line_feed_but_a_char_ref_cr_survives() -> None:
    assert _params("crlf-line-endings.xml") == (String("line one\nline two"),)
    body = _response("<string>a&#13;&#10;b</string>")
    assert decode_response(body) == MethodResponse(String("a\r\nb"))


def test_empty_and_blank_values() -> None:
    assert _params("empty-values.xml") == (
        UntypedString(""),
        UntypedString(""),
        String(""),
        String(""),
        Base64(b""),
        Struct(),
        Array(),
        UntypedString("   "),
        String("  spaced  "),
    )


def test_zero_params_with_or_without_params_element() -> None:
    assert _params("no-params.xml") == ()
    assert _params("empty-params.xml") == ()


def test_whitespace_between_elements_is_ignored() -> None:
    (value,) = _params("whitespace-everywhere.xml")
    assert value == Struct(
        full=Boolean(1), collections=Array([String("books"), UntypedString("users")])
    )


def test_datetime_keeps_its_original_text() -> None:
    response = decode_response((VALID / "datetime-variants.xml").read_bytes())
    assert isinstance(response, MethodResponse)
    texts = [str(v) for v in response.value]  # type: ignore[union-attr]
    assert texts == [
        "20240131T08:09:10",
        "2024-01-31T08:09:10",
        "2024-01-31T08:09:10Z",
        "2024-01-31T08:09:10+05:30",
        "20240131T080910-0800",
        "2024-01-31T08:09:10.123456Z",
    ]
    assert all(isinstance(v, DateTime) and v.parsed is not None for v in response.value)  # type: ignore[union-attr]


def test_apache_extensions_are_recognised_by_namespace_not_prefix() -> None:
    other = decode_response((VALID / "apache-extensions-other-prefix-response.xml").read_bytes())
    assert isinstance(other, MethodResponse) and isinstance(other.value, Struct)
    assert other.value["nothing"] == ExNil()
    params = _params("apache-extensions-call.xml")
    assert params[4] == ExBigDecimal(Decimal("123456789.000000001"))
    dom = params[8]
    assert isinstance(dom, ExDom)
    # Re-serialised on its own: the inherited xmlns:ex declaration is gone, its own ns kept.
    assert dom == ExDom(
        '<inventory xmlns="urn:example:inv" warehouse="BRU-1"><item sku="A-1">12</item>'
        '<item sku="B-2">0</item></inventory>'
    )


def test_ex_dom_keeps_blank_text_inside_the_fragment() -> None:
    ns = "http://ws.apache.org/xmlrpc/namespaces/extensions"
    body = (
        f'<methodResponse xmlns:ex="{ns}"><params><param><value>'
        "<ex:dom><a> <b/> </a></ex:dom></value></param></params></methodResponse>"
    ).encode()
    assert decode_response(body) == MethodResponse(ExDom("<a> <b/> </a>"))


# ---------------------------------------------------------------- fast and exact parses agree

_TAG = re.compile(r"<[^>]*>|[^<]+")


def _interleave(body: bytes, filler: str) -> bytes:
    """Put ``filler`` between elements wherever XML-RPC has element-only content."""
    tokens = _TAG.findall(body.decode("utf-8"))
    out: list[str] = []
    for first, second in zip(tokens, [*tokens[1:], ""], strict=True):
        out.append(first)
        if not (first.startswith("<") and second.startswith("<")) or first.startswith("<?"):
            continue
        opening_next = not second.startswith("</")
        closed_first = first.startswith("</") or first.endswith("/>")
        if opening_next or closed_first:
            out.append(filler)
    return "".join(out).encode("utf-8")


_no_dom = values.filter(lambda v: "ExDom" not in repr(v))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_no_dom, st.sampled_from(["\n", "\n    ", " \t\r\n ", "\n" + " " * 400]))
def test_pretty_printed_and_commented_bodies_decode_alike(value: Value, blank: str) -> None:
    compact = encode_response(MethodResponse(value))
    expected = MethodResponse(value)
    assert decode_message(_interleave(compact, blank)) == expected
    # A comment sends the body to the parser that keeps every blank; the result is the same.
    assert decode_message(_interleave(compact, blank + "<!-- c -->" + blank)) == expected


# ---------------------------------------------------------------- limits


def test_depth_limit_is_exact() -> None:
    limits = Limits(max_depth=10)
    decode_response(_nested_arrays(10), limits)
    with pytest.raises(UnsafeXml, match="nested too deeply") as info:
        decode_response(_nested_arrays(11), limits)
    assert info.value.path == "result" + "[0]" * 10
    decode_response(_nested_arrays(100))
    with pytest.raises(UnsafeXml):
        decode_response(_nested_arrays(101))


def test_depth_zero_allows_only_scalars() -> None:
    limits = Limits(max_depth=0)
    assert decode_response(_response("<i4>1</i4>"), limits) == MethodResponse(I4(1))
    with pytest.raises(UnsafeXml):
        decode_response(_response("<struct/>"), limits)


def test_depth_beyond_what_the_parser_or_python_allows_is_still_unsafe_xml() -> None:
    with pytest.raises(UnsafeXml):
        decode_response(_nested_arrays(3000), Limits(max_depth=100_000))
    with pytest.raises(UnsafeXml):
        decode_response(_nested_arrays(600), Limits(max_depth=100_000))


def test_size_limit_is_exact() -> None:
    body = _response("<i4>1</i4>")
    assert decode_response(body, Limits(max_bytes=len(body))) == MethodResponse(I4(1))
    with pytest.raises(UnsafeXml, match=f"the body is {len(body)} bytes, over the limit"):
        decode_response(body, Limits(max_bytes=len(body) - 1))


def test_bombs_are_refused_fast() -> None:
    manifest = json.loads((DATA / "invalid" / "manifest.json").read_text())
    bombs = [
        (DATA / "invalid" / name).read_bytes()
        for name, entry in manifest.items()
        if name.startswith("unsafe-xml/") and "limits" not in entry
    ]
    assert len(bombs) >= 10
    started = time.perf_counter()
    for body in bombs:
        with pytest.raises(UnsafeXml):
            decode_message(body)
    assert time.perf_counter() - started < 1.0


def test_large_base64_over_libxml2s_default_text_cap() -> None:
    blob = bytes(range(256)) * (11 * 4096)  # 11.5 MB of base64 text: over libxml2's 10 MB cap
    body = encode_response(MethodResponse(Base64(blob)))
    assert decode_response(body) == MethodResponse(Base64(blob))


# ---------------------------------------------------------------- errors: where and why


def test_malformed_xml_reports_line_and_column() -> None:
    body = b'<?xml version="1.0"?>\n<methodCall>\n  <methodName>x</methodNam>\n</methodCall>'
    with pytest.raises(MalformedXml) as info:
        decode_request(body)
    assert (info.value.line, info.value.column) == (3, 28)
    assert "mismatch" in info.value.reason


def test_line_numbers_survive_blank_lines_before_the_declaration() -> None:
    body = (
        b'\n\n<?xml version="1.0"?>\n<methodCall>\n<methodName>x</methodName>\n'
        b"<params><param><value><i4>abc</i4></value></param></params></methodCall>"
    )
    with pytest.raises(BadValue) as info:
        decode_request(body)
    assert info.value.line == 6


def test_paths_name_the_value() -> None:
    body = _response(
        "<struct><member><name>items</name><value><array><data>"
        "<value><struct><member><name>first name</name><value><i4>1</i4></value>"
        "</member></struct></value>"
        "<value><struct><member><name>first name</name><value><boolean>7</boolean></value>"
        "</member></struct></value>"
        "</data></array></value></member></struct>"
    )
    with pytest.raises(BadValue) as info:
        decode_response(body)
    assert info.value.path == 'result.items[1]["first name"]'
    assert info.value.message.endswith('(line 1, at result.items[1]["first name"])')


def test_duplicate_member_says_which_and_where() -> None:
    body = _response(
        "<struct><member><name>a</name><value>1</value></member>"
        "<member><name>b</name><value><struct><member><name>x</name><value>1</value></member>"
        "<member><name>x</name><value>2</value></member></struct></value></member></struct>"
    )
    with pytest.raises(BadValue, match="duplicate struct member name 'x'") as info:
        decode_response(body)
    assert info.value.path == "result.b"


def test_every_integer_type_is_bounded() -> None:
    ns = "http://ws.apache.org/xmlrpc/namespaces/extensions"
    for tag, lo, hi in [
        ("i4", -(2**31), 2**31 - 1),
        ("int", -(2**31), 2**31 - 1),
        ("i8", -(2**63), 2**63 - 1),
        ("ex:i1", -128, 127),
        ("ex:i2", -(2**15), 2**15 - 1),
        ("ex:i8", -(2**63), 2**63 - 1),
    ]:
        for number, ok in [(lo, True), (hi, True), (lo - 1, False), (hi + 1, False)]:
            body = (
                f'<methodResponse xmlns:ex="{ns}"><params><param><value><{tag}>{number}</{tag}>'
                "</value></param></params></methodResponse>"
            ).encode()
            if ok:
                response = decode_response(body)
                assert isinstance(response, MethodResponse)
                assert isinstance(response.value, int) and int(response.value) == number
            else:
                with pytest.raises(BadValue, match=f"out of range for <{tag}>"):
                    decode_response(body)


def test_only_bytes_are_accepted() -> None:
    body = _response("<i4>1</i4>")
    assert decode_response(bytearray(body)) == decode_response(memoryview(body))  # type: ignore[arg-type]
    with pytest.raises(MalformedXml, match="must be bytes, not str"):
        decode_response(body.decode())  # type: ignore[arg-type]


def test_decoding_from_many_threads_at_once() -> None:
    bodies = [p.read_bytes() for p in sorted(VALID.glob("*.xml"))]
    expected = [decode_message(b) for b in bodies]
    barrier = threading.Barrier(4)

    def work(_: int) -> list[MethodCall | MethodResponse | Fault]:
        barrier.wait()
        return [decode_message(b) for b in bodies for _ in range(3)][::3]

    with ThreadPoolExecutor(4) as pool:
        for result in pool.map(work, range(4)):
            assert result == expected


def test_int_values_keep_their_tag() -> None:
    body = _response(
        "<array><data><value><i4>1</i4></value><value><int>1</int></value></data></array>"
    )
    response = decode_response(body)
    assert response == MethodResponse(Array([I4(1), Int(1)]))
    assert response != MethodResponse(Array([Int(1), Int(1)]))


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.sampled_from("0123456789T:+-Z. \u0661"), min_size=15, max_size=19),
    st.datetimes(min_value=dt.datetime(1, 1, 1)),
)
def test_datetime_check_agrees_with_parse_datetime(noise: str, moment: dt.datetime) -> None:
    compact = (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    dashed = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    candidates = [noise]
    for base in (compact, dashed):
        candidates += [
            base,
            base[:-1] + noise[:1],
            base.replace("T", noise[:1] or "T"),
            noise[:2] + base[2:],
        ]
    for text in candidates:
        expected = text.isascii() and parse_datetime(text) is not None
        assert is_iso_datetime(text) == expected, text


def test_datetime_digits_must_be_ascii() -> None:
    with pytest.raises(BadValue, match="not an ISO 8601"):
        decode_response(_response("<dateTime.iso8601>\uff120240131T08:09:10</dateTime.iso8601>"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values,
    st.sampled_from(
        ["utf-16-le", "utf-16-be", "iso-8859-1", "windows-1252", "us-ascii", "utf-8-sig"]
    ),
    st.sampled_from(["", "\n\n  ", "<!-- note -->", "<?pi data?>"]),
)
def test_any_declared_encoding_decodes_alike(value: Value, encoding: str, extra: str) -> None:
    """The same message in another encoding, after a comment or PI, or after blank lines."""
    text = encode_response(MethodResponse(value)).decode("utf-8")
    body_text = text.split("\n", 1)[1]
    name = {"utf-8-sig": "UTF-8", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}.get(
        encoding, encoding
    )
    declaration = f'<?xml version="1.0" encoding="{name}"?>'
    if extra.startswith("<"):
        document = declaration + extra + body_text
    else:
        document = extra + declaration + "\n" + body_text
    bom = "\ufeff" if encoding.startswith("utf-16") else ""
    data = (bom + document).encode(encoding, "xmlcharrefreplace")
    assert decode_message(data) == MethodResponse(value)


@pytest.mark.parametrize("blank", [" ", "\n", " \t\r\n", " " * 1000, "\n" * 700])
def test_blank_only_strings_survive_the_fast_parser(blank: str) -> None:
    escaped = blank.replace("\r", "&#13;")
    for xml, expected in [
        (f"<value>{escaped}</value>", UntypedString(blank)),
        (f"<value><string>{escaped}</string></value>", String(blank)),
    ]:
        body = f"<methodResponse><params><param>{xml}</param></params></methodResponse>".encode()
        assert decode_response(body) == MethodResponse(expected)
    named = f"<struct><member><name>{escaped}</name><value>x</value></member></struct>"
    assert decode_response(_response(named)) == MethodResponse(Struct({blank: UntypedString("x")}))


def test_blank_text_before_a_crlf_inside_a_string_is_kept() -> None:
    # XML turns CRLF into LF; the blanks in front of it are content and must survive the parse.
    from rpcspy.xmlrpc import String, UntypedString, decode_response

    typed = (
        b"<methodResponse><params><param><value><string> \r\nx</string></value></param></params>"
        b"</methodResponse>"
    )
    assert decode_response(typed).value == String(" \nx")  # type: ignore[union-attr]
    untyped = (
        b"<methodResponse><params><param><value>\t\r\nx</value></param></params></methodResponse>"
    )
    assert decode_response(untyped).value == UntypedString("\t\nx")  # type: ignore[union-attr]
    crlf_doc = (
        b"<?xml version='1.0'?>\r\n<methodResponse>\r\n<params>\r\n<param>\r\n"
        b"<value><string>  two  </string></value>\r\n</param>\r\n</params>\r\n</methodResponse>\r\n"
    )
    assert decode_response(crlf_doc).value == String("  two  ")  # type: ignore[union-attr]


def test_iso_week_dates_are_not_xmlrpc_datetimes() -> None:
    import pytest

    from rpcspy.xmlrpc import BadValue, decode_response

    body = (
        b"<methodResponse><params><param><value><dateTime.iso8601>2024W053T08:09:10"
        b"</dateTime.iso8601></value></param></params></methodResponse>"
    )
    with pytest.raises(BadValue):
        decode_response(body)
