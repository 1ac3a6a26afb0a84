"""Spot the XML-RPC spec deviations in one recorded HTTP message: stdlib only.

``analyze(raw_http_bytes)`` answers a list of ``{"rule": id, "detail": text}``.
Rule ids follow the conformance-finding names the decoder work will use where
they fit (int-out-of-range, fault-code-not-int, duplicate-member, member-order,
empty-value, whitespace-in-int, utf16-without-bom, decl-not-first,
unknown-type-tag, array-without-data, fault-extra-member); the others are
described in tests/data/peers/README.md.

``stdlib_verdict(body)`` says what ``xmlrpc.client.loads`` does with a body.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import xmlrpc.client

SCALARS = {"i4", "int", "boolean", "string", "double", "dateTime.iso8601", "base64"}
INT32 = (-(2**31), 2**31 - 1)
ISO = re.compile(r"^\d{8}T\d{2}:\d{2}:\d{2}$")
# Apache ws-xmlrpc's extension namespace; findings show it as the `ex:` prefix
APACHE_EX_NS = "{http://ws.apache.org/xmlrpc/namespaces/extensions}"


def split_http(raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            head, body = raw[:i], raw[i + len(sep) :]
            break
    else:
        head, body = raw, b""
    headers: dict[str, str] = {}
    for line in head.split(b"\n")[1:]:
        k, s, v = line.partition(b":")
        if s:
            headers[k.strip().decode("latin-1").lower()] = v.strip().decode("latin-1")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    return head, headers, body


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        line, _, data = data.partition(b"\r\n")
        n = int(line.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out += data[:n]
        data = data[n + 2 :]
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def analyze(raw: bytes, *, request: bool) -> list[dict[str, str]]:
    head, headers, body = split_http(raw)
    found: list[dict[str, str]] = []

    def add(rule: str, detail: str) -> None:
        item = {"rule": rule, "detail": detail}
        if item not in found:
            found.append(item)

    start = head.split(b"\r\n", 1)[0].decode("latin-1")
    ctype = headers.get("content-type", "")
    if body and not ctype.lower().startswith("text/xml"):
        add("content-type-not-text-xml", f"Content-Type: {ctype or '(none)'}")
    if body and "content-length" not in headers:
        add(
            "no-content-length",
            "body framed by "
            + ("chunked coding" if "transfer-encoding" in headers else "connection close"),
        )
    if request and "user-agent" not in headers:
        add("missing-user-agent", "request has no User-Agent header (the spec requires one)")
    if request and "host" not in headers:
        add("missing-host", "request has no Host header (the spec requires one)")
    if not request and start.split(" ")[1:2] != ["200"]:
        add("http-status-not-200", start)
    if not body.strip():
        add("empty-body", "no XML body")
        return found

    if body[:2] in (b"<\x00", b"\x00<"):
        add("utf16-without-bom", "body starts with UTF-16 code units and no BOM")
        body = body.decode("utf-16-le" if body[0:1] == b"<" else "utf-16-be").encode("utf-8")
    lead = body[: len(body) - len(body.lstrip())]
    if lead:
        add("leading-whitespace", f"{len(lead)} whitespace bytes before the first markup")
    if b"<?xml" in body and not body.startswith(b"<?xml"):
        add("decl-not-first", "XML declaration is not the first bytes of the body")
    if not body.lstrip().startswith(b"<?xml"):
        add("no-xml-decl", "body has no XML declaration (allowed; noted for encoding sniffing)")
    m = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([^\"']+)", body)
    if m and m.group(1).lower() not in (b"utf-8", b"us-ascii"):
        add("non-utf8-encoding-decl", f"encoding={m.group(1).decode()}")
    cs = re.search(r"charset=\"?([A-Za-z0-9_.:-]+)", ctype)
    decl = m.group(1).decode().lower() if m else "utf-8"
    if cs and cs.group(1).lower().replace("utf8", "utf-8") != decl:
        add(
            "charset-mismatch",
            f"Content-Type charset={cs.group(1)} but the XML says encoding={decl}",
        )
    if b"<!DOCTYPE" in body or b"<!doctype" in body:
        add("doctype", "body has a DOCTYPE")

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        add("not-well-formed-xml", str(exc))
        return found
    if _local(root.tag) not in ("methodCall", "methodResponse"):
        add("not-xml-rpc", f"root element <{root.tag}>")
        return found
    if root.tag.startswith("{") or any(e.tag.startswith("{") for e in root.iter()):
        add("namespaced-elements", "elements in an XML namespace (e.g. Apache ex:)")

    params = root.find("params")
    if (
        _local(root.tag) == "methodResponse"
        and params is not None
        and len(params.findall("param")) != 1
    ):
        add("response-param-count", f"methodResponse with {len(params.findall('param'))} <param>")
    if _local(root.tag) == "methodCall":
        name = root.find("methodName")
        if name is not None and (name.text or "") != (name.text or "").strip():
            add("whitespace-in-method-name", repr(name.text))

    fault = root.find("fault")
    if fault is not None:
        st = fault.find("value/struct")
        if st is None:
            add("fault-not-struct", "fault <value> is not a struct")
        else:
            members = {}
            for mem in st.findall("member"):
                n = mem.find("name")
                members[n.text if n is not None else None] = mem.find("value")
            code = members.get("faultCode")
            if code is None:
                add("fault-missing-member", "no faultCode")
            else:
                kids = list(code)
                tag = _local(kids[0].tag) if kids else "(bare text = string)"
                if tag not in ("int", "i4"):
                    add(
                        "fault-code-not-int",
                        f"faultCode is <{tag}>{(kids[0].text if kids else code.text) or ''}",
                    )
            if "faultString" not in members:
                add("fault-missing-member", "no faultString")
            extra = [k for k in members if k not in ("faultCode", "faultString")]
            if extra:
                add("fault-extra-member", f"extra members: {extra}")

    for value in root.iter("value"):
        kids = list(value)
        text = value.text or ""
        if not kids:
            if text == "":
                add(
                    "empty-value",
                    "<value/> or <value></value> (an empty string by the spec's default type)",
                )
            else:
                add("untyped-value", "<value> with bare text, no type tag (string by default)")
            continue
        if len(kids) > 1:
            add("value-multiple-children", f"<value> with {len(kids)} children")
        if text.strip():
            add("mixed-content-value", "<value> has text beside its type element")
        k = kids[0]
        tag = _local(k.tag)
        ktext = k.text or ""
        if k.tag.startswith("{"):
            add("namespaced-type-tag", f"<{k.tag}> (written with a prefix such as ex:)")
        if tag in ("i4", "int", "i8"):
            if ktext != ktext.strip():
                add("whitespace-in-int", f"<{tag}>{ktext!r}")
            try:
                n = int(ktext.strip())
            except ValueError:
                add("bad-int", f"<{tag}>{ktext!r}")
            else:
                if tag != "i8" and not INT32[0] <= n <= INT32[1]:
                    add("int-out-of-range", f"<{tag}>{ktext.strip()} is outside 32 bits")
                if re.match(r"^\s*\+", ktext):
                    add("int-plus-sign", f"<{tag}>{ktext}")
        elif tag == "boolean":
            if ktext.strip() not in ("0", "1"):
                add("boolean-not-0-1", f"<boolean>{ktext}")
        elif tag == "double":
            if re.search(r"[eE]|inf|nan", ktext, re.I):
                add("double-exponent-or-special", f"<double>{ktext}")
        elif tag == "dateTime.iso8601":
            if not ISO.match(ktext):
                add("datetime-nonstandard-form", f"<dateTime.iso8601>{ktext}")
        elif tag == "base64":
            if "\n" in ktext.strip() or "\r" in ktext:
                add("base64-line-wrapped", "base64 text has line breaks")
        elif tag == "string":
            if any(ord(c) > 127 for c in ktext):
                add(
                    "non-ascii-string",
                    "string holds non-ASCII characters (the 1999 spec said ASCII)",
                )
        elif tag == "struct":
            names = []
            for mem in k:
                order = [_local(c.tag) for c in mem]
                if order and order[0] == "value":
                    add("member-order", "<value> before <name> in a struct member")
                n = mem.find("name")
                if n is not None:
                    names.append(n.text)
            dup = sorted({n for n in names if names.count(n) > 1 and n is not None})
            if dup:
                add("duplicate-member", f"struct repeats member(s) {dup}")
        elif tag == "array":
            if k.find("data") is None:
                add("array-without-data", "<array> with no <data>")
        elif tag == "nil":
            add(
                "nil-extension",
                f"<{k.tag.replace(APACHE_EX_NS, 'ex:')}/> (not in the 1999 spec)",
            )
        elif tag == "i8":
            pass
        if tag == "i8":
            add(
                "i8-extension",
                f"<{k.tag.replace(APACHE_EX_NS, 'ex:')}> (64-bit int, not in the 1999 spec)",
            )
        elif tag not in SCALARS | {"struct", "array", "nil"}:
            add("unknown-type-tag", f"<{k.tag}>")
    return found


def stdlib_verdict(body: bytes) -> dict[str, str]:
    """What xmlrpc.client.loads (the stdlib, defaults) makes of ``body``."""
    try:
        params, method = xmlrpc.client.loads(body)
    except xmlrpc.client.Fault as f:
        return {"stdlib": "accepts", "stdlib_value": f"Fault({f.faultCode!r}, {f.faultString!r})"}
    except Exception as exc:
        return {"stdlib": f"raises: {type(exc).__name__}: {exc}"}
    value = repr(params if method is None else (method, params))
    if len(value) > 300:
        value = value[:300] + "..."
    return {"stdlib": "accepts", "stdlib_value": value}
