#!/usr/bin/env python3
"""Write tests/data/peers/README.md from manifest.json (the tables) and the notes below.

python3 tests/interop/peers/make_readme.py
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "tests" / "data" / "peers"

HEAD = """\
# Real XML-RPC peers, recorded byte-exact

Every `*.http` file here is one whole HTTP message (start line, headers, body)
exactly as it crossed a TCP connection on 127.0.0.1 between a real XML-RPC
implementation and its counterpart, recorded by
`tests/interop/peers/record_relay.py` (a stdlib TCP relay that frames messages by
Content-Length, chunked coding or close, and changes no byte). `.gitattributes`
(`* -text`) keeps git from touching line endings. These are data for the
tolerant decoder and its conformance findings; nothing in rpcspy reads them yet.
`tests/interop/peers/test_peer_fixtures.py` checks that each file is one whole
message and that `manifest.json` still describes it.

This file is generated: `python3 tests/interop/peers/make_readme.py` (the notes
live in that script, the tables come from `manifest.json`).

## Layout

`<variant>/<role>-<scenario>[-N].request.http` and `.response.http`, where
`-N` numbers the exchanges when one scenario made several (supervisorctl).

| role | who wrote the request | who wrote the response | the peer's bytes |
| --- | --- | --- | --- |
| `client` | the peer's client (`tests/interop/peers/<lang>/client.*`) | rpcspy's demo server \
(`rpcspy serve`, Python stdlib) | request |
| `server` | a stdlib client: `xmlrpc.client.dumps(params, method, allow_none=True)` sent with \
http.client | the peer's server (`<lang>/server.*`) | response |
| `tolerance` | hand-made deviant `echo(x)` calls (`TOLERANCE_BODIES` in sweep.py) | the peer's \
server | response: does the peer accept the deviation? |
| `client-tolerance` | the peer's client, scenario `plain` (add(2, 3)) | a stub answering \
hand-made deviant responses (`RESPONSE_BODIES`) | request; `peer_verdict` is what the client made \
of the answer |

`manifest.json` has one entry per exchange: `peer`, `variant` (directory; a
variant is the same library with a non-default configuration, see `config`),
`version` (from dpkg / npm / pip), `role`, `scenario`, `method`, `files`,
`peer_wrote` (`request` or `response`), and for both `request` and `response`
the `deviations` spotted (`{rule, detail}`; `"by": "hand"` marks one found by
reading the bytes, the rest come from `tests/interop/peers/deviations.py`), and
`stdlib`: what Python's `xmlrpc.client.loads` (defaults) does with that body:
`accepts` (with `stdlib_value`; a fault response counts as accepted, its value
is `Fault(...)`) or `raises: <type>: <message>` (messages from Python 3.12).
`peer_output` is what the peer's client printed (its reading of the answer).
Tolerance entries add `peer_verdict`. An entry with `files: null` and
`refused` is a call the peer would not encode at all (nothing was sent).

## How they were made

Machine: Debian 12 (bookworm), amd64, everything on 127.0.0.1.

```sh
scripts/install-peers.sh .venv/bin/python   # apt/npm/pip; one ok/FAILED line per peer
PYTHONPATH=. .venv/bin/python tests/interop/peers/sweep.py            # all peers
PYTHONPATH=. .venv/bin/python tests/interop/peers/sweep.py --peer ruby-xmlrpc   # one variant
python3 tests/interop/peers/make_readme.py
```

sweep.py starts `rpcspy serve --host 127.0.0.1 --port <free> -q`, and for each
variant: runs `<client> 127.0.0.1 <relay-port> <scenario>` for each client
scenario through a relay to the demo server; starts `<server> 127.0.0.1 <port>`,
puts a relay in front and sends the server scenarios and the tolerance bodies.
Client scenarios: `plain` add(2, 3); `string` echo("a<b & c> é"); `bigint`
demo.echo({big: 1099511627776, small: 7, neg: -5}); `fault` demo.fault(4,
"boom"); `multicall` system.multicall([add(1, 2), demo.fault(7, "x")]) (the
library's own multicall where it has one: Ruby); `nil` demo.echo(nil); `types`
demo.echo([true, false, 1.5, dateTime 2026-12-01T08:30:00, base64 of 96 bytes,
""]). Server scenarios call the peer's `add`, `echo`, `bigstruct` (returns the
big-int struct), `fail` (the library's documented way to raise a fault 4
"boom"), `crash` (an unexpected exception), `no.such.method`,
`system.multicall`, `nil` (returns nil/undef/null), `echo(nil)`, `types`.

| variant | packages (version) | client | server | configuration |
| --- | --- | --- | --- | --- |
"""

PEER_ROWS = {
    "ruby-xmlrpc": ("`ruby ruby/client.rb`", "`ruby ruby/server.rb` (WEBrick)"),
    "ruby-xmlrpc-enable": (
        "`PEER_RUBY_ENABLE=1 ruby ruby/client.rb`",
        "`PEER_RUBY_ENABLE=1 ruby ruby/server.rb`",
    ),
    "node-xmlrpc": ("`node node/client.js`", "`node node/server.js`"),
    "perl-xmlrpc-lite": (
        "`perl perl/lite_client.pl`",
        "`perl perl/lite_server.pl` (XMLRPC::Transport::HTTP::Daemon)",
    ),
    "perl-frontier": (
        "`perl perl/frontier_client.pl`",
        "`perl perl/frontier_server.pl` (Frontier::Daemon)",
    ),
    "php-xmlrpc": (
        "`php php/client.php` (POST by PHP's http stream)",
        "`php -S 127.0.0.1:PORT php/server.php`",
    ),
    "xmlrpc-c": ("`c/build/client` (from c/client.c)", "`c/build/server` (c/server.c, Abyss)"),
    "xmlrpc-c-apache": (
        "`PEER_C_DIALECT=apache c/build/client`",
        "`PEER_C_DIALECT=apache c/build/server`",
    ),
    "java-axmlrpc": (
        "`java -cp java/build:/usr/share/java/axmlrpc.jar Client`",
        "none: aXMLRPC is client-only",
    ),
    "supervisor": (
        "`supervisorctl -s http://127.0.0.1:RELAY status / version / start no-such-program`",
        "`supervisord -c supervisor/supervisord.conf.in` "
        "(filled in; inet_http_server on 127.0.0.1)",
    ),
}

NOTES = """
Not covered: Debian 12's `xmlrpc-api-utils` no longer contains xmlrpc-c's
`xmlrpc` command-line client (only `xml-rpc-api2cpp`/`xml-rpc-api2txt`) and no
xmlrpc-c server tool is packaged, so the C peer is a small client and Abyss
server compiled against `libxmlrpc-core-c3-dev` by sweep.py. The C server
registers no `crash` method (C has no exceptions), so its `server-crash` is an
unknown-method fault.

## The live suite

`tests/interop/test_live_peers.py` (marker `interop`) runs the same peers,
scripts and scenarios live, through a real `rpcspy proxy` instead of the relay:
each installed variant as a client (its client -> proxy -> `rpcspy serve`) and
as a server (the stdlib client's server scenarios and `TOLERANCE_BODIES` ->
proxy -> its server). Each client runs straight, through the proxy and against
`rpcspy mock` of the capture; then `rpcspy replay` re-sends the capture to the
same server and `rpcspy lint` reads it. It checks that the answers through the
proxy and from the mock equal the straight ones, that the capture holds as many
exchanges as this manifest lists for the variant, that a body the stdlib
accepts decodes with no `bad-value` and with a finding for each deviation that
`deviations.py` spots and that is a finding rule, and that replay exits 0.
Perl runs with `PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0` so a struct's members come
in the same order in every run. A peer that is not installed skips, and the
test session ends with one `INTEROP PEERS MISSING: ...` line;
`scripts/install-peers.sh` installs them (`.ci/run` runs it before the suite).

## Rule ids

From the decoder's list: `int-out-of-range` (`<i4>`/`<int>` outside 32 bits),
`fault-code-not-int`, `duplicate-member`, `member-order` (`<value>` before
`<name>`), `empty-value` (`<value/>`), `whitespace-in-int`,
`utf16-without-bom`, `decl-not-first`, `unknown-type-tag`,
`array-without-data`, `fault-extra-member`. New ids:

| id | meaning |
| --- | --- |
| `nil-extension` | `<nil/>` or `<ex:nil/>`: not in the 1999 spec |
| `i8-extension` | `<i8>` or `<ex:i8>`: 64-bit int, not in the 1999 spec |
| `namespaced-elements`, `namespaced-type-tag` | Apache `ex:` prefix with `xmlns:ex` declared on \
the root |
| `nil-as-empty-string` | nil/undef/null silently sent as an empty `<string>` (found by hand) |
| `int-truncated` | a 64-bit int silently cut to 32 bits (`<int>0</int>` for 2^40; by hand) |
| `string-as-base64` | a string with a non-ASCII character sent as `<base64>` (by hand) |
| `utf8-bytes-as-char-refs` | each UTF-8 byte of a character written as its own `&#NNN;` \
(mojibake; by hand) |
| `encoding-decl-mismatch` | the XML declaration names an encoding the bytes are not in (by hand) |
| `non-utf8-encoding-decl` | `encoding="iso-8859-1"` (legal; matters to a decoder) |
| `charset-mismatch` | HTTP `charset=` differs from the XML declaration's encoding |
| `non-ascii-string` | a `<string>` holds non-ASCII (the 1999 spec said ASCII; everyone does it) |
| `base64-line-wrapped` | base64 text broken into lines (legal base64, noted for exact round \
trips) |
| `datetime-nonstandard-form` | a dateTime other than `YYYYMMDDTHH:MM:SS` |
| `fault-missing-member` | a fault struct without faultCode or faultString |
| `no-content-length` | body framed by chunked coding or close |
| `content-type-not-text-xml`, `http-status-not-200`, `empty-body`, `doctype`, `no-xml-decl`, \
`not-well-formed-xml` | the message is not an XML-RPC message at all (an HTML error page, a bare \
404/500) |
"""

SURPRISES = """
## What the peers really do (against the claims we started from)

- **Ruby `xmlrpc` does not send big ints by default.** The client raises
  `Integer is too big! Must be signed 32-bit integer!` before sending (entry
  `client/bigint` with `refused`), and the server answers a **500 HTML page**
  (WEBrick) instead of a fault. Only with the opt-in
  `XMLRPC::Config::ENABLE_BIGINT` (variant `ruby-xmlrpc-enable`) does it send
  `<i4>1099511627776</i4>`. Same for nil: refused by default, `<nil/>` with
  `ENABLE_NIL_CREATE`; an incoming `<nil/>` gives a 500 HTML page by default.
- **Node `xmlrpc` 1.3.2** sends `<int>1099511627776</int>` (claim confirmed),
  answers with chunked coding (no Content-Length), answers an unknown method
  or a call it cannot parse with a **bare `404` and an empty body** (no
  fault), has no `system.multicall`, and turns a thrown `Error` into a fault
  with an **empty struct** (`<struct/>`: no faultCode, no faultString; the
  stdlib raises TypeError on it). It also swaps name and value when `<value>`
  comes before `<name>` (tolerance `member-order` echoes `{'1': 'a'}`).
- **Perl XMLRPC::Lite** does send string fault codes (claim confirmed):
  `<string>Server</string>` for a `die`, `<string>Client</string>` for an
  unknown method or a request it cannot parse; `SOAP::Fault->faultcode(4)`
  gives a proper int. It also sends `<int>1099511627776</int>`, sends undef as
  `<value />` (empty-value) and a non-ASCII string as `<base64>`; it has no
  `system.multicall` (Client fault). Fault members come faultString first.
- **Perl Frontier::RPC2** sends big ints as `<i4>1099511627776</i4>`, sends
  undef as an empty `<string></string>`, writes non-ASCII as `&#233;`, and
  answers any `die` with fault code 4 (`error executing RPC ...`), an unknown
  method (and `system.multicall`, which it lacks) with 3, and a request it
  cannot decode with 1. It echoes some values back
  verbatim without checking them (`<boolean>true</boolean>`, an extended
  dateTime), so a deviation passes straight through it.
- **PHP xmlrpc (xmlrpc-epi)** silently **truncates** 2^40 to `<int>0</int>`,
  declares `encoding="iso-8859-1"` by default while its HTTP header under
  `php -S` says `charset=UTF-8`, writes the two UTF-8 bytes of `é` as
  `&#195;&#169;` (so the reader gets `Ã©`), sends null as `<string/>`, and with
  the `encoding => UTF-16` output option writes **single-byte ASCII under an
  `encoding="UTF-16"` declaration** (expat refuses it). Nobody wrote real
  UTF-16: no peer here produced `utf16-without-bom`; it is only in the
  tolerance bodies.
- **xmlrpc-c** uses `<i8>` (default dialect) or `<ex:i8>`/`<ex:nil/>` with
  `xmlns:ex` (apache dialect): never out-of-range `<i4>`. It is the strictest
  reader: whitespace in ints, out-of-range `<int>`, `<array>` without
  `<data>`, `<boolean>true</boolean>` and unknown tags all get fault -503.
- **Java aXMLRPC** refuses a Long outside 32 bits unless `FLAGS_8BYTE_INT`
  (then `<i8>`), sends `<nil/>` only with `FLAGS_NIL`, and writes dateTime as
  `20261201T083000` (no colons).
- **supervisord** (supervisor 4.3.0) writes stdlib-made XML; an incoming
  `<nil/>` gets a 500 HTML error page from its Medusa server.
- No peer produced `duplicate-member`, `member-order`, `whitespace-in-int`,
  `array-without-data`, `decl-not-first`, `unknown-type-tag` or
  `fault-extra-member` in what it **sent**; those appear only in the
  hand-made tolerance requests and responses, where the two tolerance tables
  above show who accepts them. Every peer server and client accepts a repeated
  member (last one wins); every one accepts `<value/>` as "" except the aXMLRPC
  client ("Missing type").
- **PHP reads `<boolean>true</boolean>` as false** and an unknown tag, `<i8>`
  or `<ex:nil/>` as empty (`''` on the server, `null` on the client), all
  without an error; it reads an out-of-range `<int>` as 0.
- **aXMLRPC as a reader** is about as strict as xmlrpc-c: out-of-range
  `<int>`, `<int> 42 </int>`, `<array>` without `<data>`, `<value/>`, unknown
  tags, and (without its flags) `<nil/>`/`<i8>` all raise; a string
  faultCode raises a ClassCastException and an empty fault struct a
  NullPointerException rather than a clean error.
"""


def main() -> None:
    m = json.loads((DATA / "manifest.json").read_text())
    ex = m["exchanges"]
    variants = list(dict.fromkeys(e["variant"] for e in ex))
    out = [HEAD]
    for v in variants:
        e = next(x for x in ex if x["variant"] == v)
        client, server = PEER_ROWS.get(v, ("", ""))
        cfg = e["config"].replace("|", "\\|")
        out.append(f"| `{v}` | {e['version']} | {client} | {server} | {cfg} |\n")
    out.append(NOTES)

    out.append("\n## Fixtures: what each peer wrote (peer x deviation)\n\n")
    out.append(
        "Cells list the scenarios (`c:` client role, `s:` server role) whose peer-written "
        "message shows the deviation. `stdlib raises` lists where `xmlrpc.client.loads` "
        "refuses the peer's message.\n\n"
    )
    table: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rules: list[str] = []
    for e in ex:
        if not e["files"] or e["role"] == "tolerance":
            continue
        side = e[e["peer_wrote"]]
        tag = f"{e['role'][0]}:{e['scenario']}"
        for d in side["deviations"]:
            if d["rule"] not in rules:
                rules.append(d["rule"])
            if tag not in table[e["variant"]][d["rule"]]:
                table[e["variant"]][d["rule"]].append(tag)
        if side["stdlib"] != "accepts":
            table[e["variant"]]["stdlib raises"].append(tag)
    rules.append("stdlib raises")
    out.append("| deviation | " + " | ".join(f"`{v}`" for v in variants) + " |\n")
    out.append("| --- |" + " --- |" * len(variants) + "\n")
    for r in rules:
        out.append(
            f"| `{r}` | " + " | ".join(", ".join(table[v].get(r, [])) for v in variants) + " |\n"
        )

    refused = [e for e in ex if not e["files"]]
    if refused:
        out.append("\nCalls the peer refused to send (no fixture):\n\n")
        for e in refused:
            out.append(f"- `{e['variant']}` {e['role']} `{e['scenario']}`: {e['peer_output']}\n")

    out.append(
        "\n## Tolerance: who accepts what "
        "(peer servers given hand-made deviant `echo(x)` calls)\n\n"
    )
    tol = [e for e in ex if e["role"] == "tolerance"]
    tvars = list(dict.fromkeys(e["variant"] for e in tol))
    scen = list(dict.fromkeys(e["scenario"] for e in tol))
    cell = {(e["scenario"], e["variant"]): e["peer_verdict"] for e in tol}
    stdlib = {e["scenario"]: e["request"]["stdlib"] for e in tol}

    def short(v: str) -> str:
        if v.startswith("accepts: echoes it verbatim"):
            return "passes it through"
        if v.startswith("accepts: echoes "):
            return "accepts → " + v.removeprefix("accepts: echoes ").replace("|", "\\|")[:28]
        if v.startswith("fault "):
            return "fault " + v.split(":", 1)[0].removeprefix("fault ")
        return "HTTP " + v.removeprefix("no XML-RPC answer: HTTP/1.1 ").split(":", 1)[0]

    out.append("| request | stdlib `loads` | " + " | ".join(f"`{v}`" for v in tvars) + " |\n")
    out.append("| --- | --- |" + " --- |" * len(tvars) + "\n")
    for s in scen:
        st = "accepts" if stdlib[s] == "accepts" else "raises"
        out.append(
            f"| `{s}` | {st} | " + " | ".join(short(cell.get((s, v), "")) for v in tvars) + " |\n"
        )
    out.append(
        "\nThe full answer of each peer is in `peer_verdict` in manifest.json and in the "
        "`tolerance-*.response.http` files. Ruby's `int-out-of-range`/`i8` 500s are its "
        "encoder refusing to echo the big value back, not its parser.\n"
    )
    out.append("\n## Client tolerance: what each peer client makes of a deviant response\n\n")
    out.append(
        "The peer client called add(2, 3); a stub answered the hand-made response named in "
        "the first column. Cells are the client's own printout (truncated; full text in "
        "`peer_verdict`).\n\n"
    )
    ct = [e for e in ex if e["role"] == "client-tolerance"]
    cvars = list(dict.fromkeys(e["variant"] for e in ct))
    cscen = list(dict.fromkeys(e["scenario"] for e in ct))
    ccell = {(e["scenario"], e["variant"]): e["peer_verdict"] for e in ct}
    cstd = {e["scenario"]: e["response"]["stdlib"] for e in ct}

    def cshort(v: str) -> str:
        v = v.split(" | stderr:")[0].replace("|", "\\|").replace("\n", " ")
        return v[:34] + ("…" if len(v) > 34 else "")

    out.append("| response | stdlib `loads` | " + " | ".join(f"`{v}`" for v in cvars) + " |\n")
    out.append("| --- | --- |" + " --- |" * len(cvars) + "\n")
    for s_ in cscen:
        st = "accepts" if cstd[s_] == "accepts" else "raises"
        out.append(
            f"| `{s_}` | {st} | "
            + " | ".join(cshort(ccell.get((s_, v), "")) for v in cvars)
            + " |\n"
        )
    out.append(SURPRISES)
    (DATA / "README.md").write_text("".join(out))


if __name__ == "__main__":
    main()
