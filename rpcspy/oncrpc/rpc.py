"""ONC RPC messages (RFC 5531): call and reply headers, credentials, TCP record marking, and the
pairing of replies with calls by xid.

Strategy: ``decode_message`` reads one message's header (xid, call or reply, credentials,
status) and keeps the bytes after it untouched; the arguments or result are typed afterwards by an
interface (``rpcspy.oncrpc.typed``), or shown raw when none describes the program. Over TCP a
message is a record of fragments (RFC 5531 §11): ``RecordDecoder`` is fed the stream in chunks
of any size and gives back whole records, holding at most one record under construction, and a
fragment length over the limit is refused from its four header bytes, before any allocation.
Over UDP a datagram is one message. ``Pairer`` matches replies with calls of one connection by
xid, with a bound on calls still waiting.

Credential bodies are read for the flavors RFC 5531 and its companions define: AUTH_SYS (stamp,
machine name, uid, gid, gids), AUTH_DH (full name: the netname; nickname), RPCSEC_GSS (version,
procedure, sequence number, service, context handle); AUTH_NONE has none and AUTH_SHORT's is an
opaque token. A body that cannot be read keeps its bytes and says why (``Auth.problem``).
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from rpcspy.oncrpc.errors import BadRecord, BadXdr, OncRpcError, OverLimit, Truncated
from rpcspy.oncrpc.xdr import DEFAULT_LIMITS, Limits, Reader

__all__ = [
    "ACCEPT_STATS",
    "AUTH_STATS",
    "FLAVORS",
    "LAST_FRAGMENT",
    "MAX_FRAGMENT",
    "Auth",
    "AuthDh",
    "AuthSys",
    "Call",
    "GssCred",
    "Message",
    "Pairer",
    "RecordDecoder",
    "Reply",
    "decode_message",
    "encode_call",
    "encode_reply",
    "frame_record",
]

CALL: Final = 0
REPLY: Final = 1
MSG_ACCEPTED: Final = 0
MSG_DENIED: Final = 1
RPC_VERSION: Final = 2

#: accept_stat of an accepted reply.
ACCEPT_STATS: Final = {
    0: "SUCCESS",
    1: "PROG_UNAVAIL",
    2: "PROG_MISMATCH",
    3: "PROC_UNAVAIL",
    4: "GARBAGE_ARGS",
    5: "SYSTEM_ERR",
}
#: reject_stat of a denied reply.
REJECT_STATS: Final = {0: "RPC_MISMATCH", 1: "AUTH_ERROR"}
#: A denied reply's number among faults: its reject_stat plus this (so it never equals an
#: accept_stat): ``AUTH_ERROR`` is 101.
DENIED_CODE_BASE: Final = 100
_ACCEPT_CODES: Final = {name: n for n, name in ACCEPT_STATS.items()}
_REJECT_CODES: Final = {name: n + DENIED_CODE_BASE for n, name in REJECT_STATS.items()}


def status_code(status: str, accepted: bool) -> int | None:
    """A reply status as one number, the fault code rpcspy gives an answer that is not
    SUCCESS: the accept_stat of an accepted reply, the reject_stat + 100 of a denied one; None
    for a status RFC 5531 does not name."""
    return (_ACCEPT_CODES if accepted else _REJECT_CODES).get(status)


#: auth_stat of an AUTH_ERROR (RFC 5531 §9, with RFC 2203's RPCSEC_GSS ones).
AUTH_STATS: Final = {
    0: "AUTH_OK",
    1: "AUTH_BADCRED",
    2: "AUTH_REJECTEDCRED",
    3: "AUTH_BADVERF",
    4: "AUTH_REJECTEDVERF",
    5: "AUTH_TOOWEAK",
    6: "AUTH_INVALIDRESP",
    7: "AUTH_FAILED",
    8: "AUTH_KERB_GENERIC",
    9: "AUTH_TIMEEXPIRE",
    10: "AUTH_TKT_FILE",
    11: "AUTH_DECODE",
    12: "AUTH_NET_ADDR",
    13: "RPCSEC_GSS_CREDPROBLEM",
    14: "RPCSEC_GSS_CTXPROBLEM",
}
#: Authentication flavors (RFC 5531 §8.2 and the IANA registry's common ones).
FLAVORS: Final = {
    0: "AUTH_NONE",
    1: "AUTH_SYS",
    2: "AUTH_SHORT",
    3: "AUTH_DH",
    4: "AUTH_KERB",
    5: "AUTH_RSA",
    6: "RPCSEC_GSS",
    7: "AUTH_TLS",
}
GSS_PROCS: Final = {0: "DATA", 1: "INIT", 2: "CONTINUE_INIT", 3: "DESTROY"}
GSS_SERVICES: Final = {1: "none", 2: "integrity", 3: "privacy"}

#: The last-fragment bit of a record-marking header.
LAST_FRAGMENT: Final = 0x80000000
#: The largest fragment the header can say (2^31-1).
MAX_FRAGMENT: Final = 0x7FFFFFFF
#: An opaque_auth body is at most 400 bytes (RFC 5531 §8.2).
MAX_AUTH_BODY: Final = 400

_U32: Final = struct.Struct(">I")


# ---------------------------------------------------------------- credentials


@dataclass(frozen=True, slots=True)
class AuthSys:
    """An AUTH_SYS (AUTH_UNIX) credential body."""

    stamp: int
    machinename: str
    uid: int
    gid: int
    gids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AuthDh:
    """An AUTH_DH credential: a full name (the netname, with its encrypted key and window) or a
    nickname the server gave out."""

    namekind: str  # "fullname" or "nickname"
    netname: str | None = None
    nickname: int | None = None


@dataclass(frozen=True, slots=True)
class GssCred:
    """An RPCSEC_GSS credential (RFC 2203 §5)."""

    version: int
    gss_proc: str
    seq_num: int
    service: str
    handle: bytes


@dataclass(frozen=True, slots=True)
class Auth:
    """An ``opaque_auth``: the flavor, its body bytes, and the body read when the flavor is one
    rpcspy knows (``detail``), or why it could not be read (``problem``)."""

    flavor: int
    body: bytes = b""
    detail: AuthSys | AuthDh | GssCred | None = None
    problem: str | None = None

    @property
    def flavor_name(self) -> str:
        """``AUTH_SYS``, or ``flavor 42`` for one nobody registered."""
        return FLAVORS.get(self.flavor, f"flavor {self.flavor}")

    def describe(self) -> str:
        """One line: ``AUTH_SYS uid=1000 gid=1000 gids=[...] machine=host``."""
        d = self.detail
        if isinstance(d, AuthSys):
            return (
                f"AUTH_SYS uid={d.uid} gid={d.gid} gids={list(d.gids)} "
                f"machine={d.machinename!r} stamp={d.stamp}"
            )
        if isinstance(d, AuthDh):
            if d.namekind == "fullname":
                return f"AUTH_DH netname={d.netname!r}"
            return f"AUTH_DH nickname={d.nickname}"
        if isinstance(d, GssCred):
            return (
                f"RPCSEC_GSS v{d.version} {d.gss_proc} seq={d.seq_num} service={d.service} "
                f"handle={d.handle.hex()}"
            )
        extra = f" ({self.problem})" if self.problem else ""
        body = f" {self.body.hex()}" if self.body else ""
        return f"{self.flavor_name}{body}{extra}"

    def to_json(self) -> dict[str, object]:
        """The JSON form for capture files."""
        out: dict[str, object] = {"flavor": self.flavor, "name": self.flavor_name}
        if self.body:
            out["body"] = self.body.hex()
        d = self.detail
        if isinstance(d, AuthSys):
            out["sys"] = {
                "stamp": d.stamp,
                "machinename": d.machinename,
                "uid": d.uid,
                "gid": d.gid,
                "gids": list(d.gids),
            }
        elif isinstance(d, AuthDh):
            out["dh"] = {"namekind": d.namekind, "netname": d.netname, "nickname": d.nickname}
        elif isinstance(d, GssCred):
            out["gss"] = {
                "version": d.version,
                "proc": d.gss_proc,
                "seq_num": d.seq_num,
                "service": d.service,
                "handle": d.handle.hex(),
            }
        if self.problem:
            out["problem"] = self.problem
        return out


AUTH_NONE: Final = Auth(0)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _read_body(flavor: int, body: bytes, is_cred: bool) -> Auth:
    r = Reader(body)
    try:
        detail: AuthSys | AuthDh | GssCred | None = None
        if flavor == 1 and is_cred:
            stamp = r.u32("the stamp")
            name = r.opaque(r.length("the machine name", 255), "the machine name")
            uid, gid = r.u32("the uid"), r.u32("the gid")
            n = r.length("the gids", 16, 4)
            detail = AuthSys(stamp, _text(name), uid, gid, tuple(r.u32() for _ in range(n)))
        elif flavor == 3 and is_cred:
            kind = r.u32("the AUTH_DH name kind")
            if kind == 0:
                netname = r.opaque(r.length("the netname", 255), "the netname")
                r.opaque(8, "the conversation key")
                r.opaque(4, "the window")
                detail = AuthDh("fullname", netname=_text(netname))
            elif kind == 1:
                detail = AuthDh("nickname", nickname=r.u32("the nickname"))
            else:
                raise BadXdr(f"AUTH_DH name kind {kind} is neither 0 (fullname) nor 1")
        elif flavor == 6 and is_cred:
            version = r.u32("the RPCSEC_GSS version")
            if version != 1:
                raise BadXdr(f"RPCSEC_GSS version {version} is not 1")
            proc, seq, service = r.u32("gss_proc"), r.u32("seq_num"), r.u32("service")
            handle = r.opaque(r.length("the context handle", MAX_AUTH_BODY), "the handle")
            detail = GssCred(
                version,
                GSS_PROCS.get(proc, f"proc {proc}"),
                seq,
                GSS_SERVICES.get(service, f"service {service}"),
                handle,
            )
        else:
            return Auth(flavor, body)
        if r.left:
            raise BadXdr(f"{r.left} bytes follow the {FLAVORS[flavor]} credential")
        return Auth(flavor, body, detail)
    except OncRpcError as exc:
        return Auth(flavor, body, None, exc.message)


def _read_auth(r: Reader, what: str) -> Auth:
    flavor = r.u32(f"the {what} flavor")
    n = r.length(f"the {what} body", MAX_AUTH_BODY)
    body = r.opaque(n, f"the {what} body")
    if flavor == 0 and not body:
        return AUTH_NONE
    return _read_body(flavor, body, what == "credential")


def _put_auth(auth: Auth, out: bytearray) -> None:
    out += _U32.pack(auth.flavor)
    out += _U32.pack(len(auth.body))
    out += auth.body
    out += b"\0" * ((-len(auth.body)) & 3)


def auth_sys(
    uid: int, gid: int, gids: tuple[int, ...] = (), machinename: str = "localhost", stamp: int = 0
) -> Auth:
    """An AUTH_SYS credential with these ids (for building calls in tests and replay)."""
    name = machinename.encode()
    body = bytearray(_U32.pack(stamp) + _U32.pack(len(name)) + name + b"\0" * ((-len(name)) & 3))
    body += _U32.pack(uid) + _U32.pack(gid) + _U32.pack(len(gids))
    for g in gids:
        body += _U32.pack(g)
    return Auth(1, bytes(body), AuthSys(stamp, machinename, uid, gid, gids))


# ---------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class Call:
    """A call message: the header, and where in ``data`` the arguments start."""

    xid: int
    prog: int
    vers: int
    proc: int
    cred: Auth
    verf: Auth
    data: bytes
    args_offset: int
    rpcvers: int = RPC_VERSION

    @property
    def args(self) -> bytes:
        """The argument bytes, as they came."""
        return self.data[self.args_offset :]


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply message. ``status`` names the outcome: an accept_stat (``SUCCESS``,
    ``PROG_MISMATCH``...) when ``accepted``, else a reject_stat (``RPC_MISMATCH``,
    ``AUTH_ERROR``). ``mismatch`` is the (low, high) range of a PROG_MISMATCH or RPC_MISMATCH,
    ``auth_error`` the auth_stat of an AUTH_ERROR; the result of a SUCCESS starts at
    ``results_offset``."""

    xid: int
    accepted: bool
    status: str
    data: bytes
    verf: Auth | None = None
    mismatch: tuple[int, int] | None = None
    auth_error: str | None = None
    results_offset: int | None = None

    @property
    def results(self) -> bytes:
        """The result bytes of a SUCCESS (empty otherwise)."""
        return b"" if self.results_offset is None else self.data[self.results_offset :]


Message = Call | Reply


def decode_message(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Message:
    """The header of one RPC message (a TCP record or a UDP datagram)."""
    if len(data) > limits.max_message:
        raise OverLimit(f"a message of {len(data)} bytes is over the limit of {limits.max_message}")
    r = Reader(data, limits=limits)
    xid = r.u32("the xid")
    start = r.pos
    mtype = r.u32("the message type")
    if mtype == CALL:
        rpcvers = r.u32("the RPC version")
        prog, vers, proc = r.u32("the program"), r.u32("the version"), r.u32("the procedure")
        cred = _read_auth(r, "credential")
        verf = _read_auth(r, "verifier")
        return Call(xid, prog, vers, proc, cred, verf, data, r.pos, rpcvers)
    if mtype != REPLY:
        raise BadXdr(f"message type {mtype} is neither CALL (0) nor REPLY (1)", offset=start)
    start = r.pos
    reply_stat = r.u32("the reply status")
    if reply_stat == MSG_ACCEPTED:
        verf = _read_auth(r, "verifier")
        start = r.pos
        code = r.u32("the accept status")
        status = ACCEPT_STATS.get(code)
        if status is None:
            raise BadXdr(f"accept status {code} is not one RFC 5531 defines", offset=start)
        if status == "SUCCESS":
            return Reply(xid, True, status, data, verf=verf, results_offset=r.pos)
        mismatch = None
        if status == "PROG_MISMATCH":
            mismatch = (r.u32("the lowest version"), r.u32("the highest version"))
        _nothing_after(r, status)
        return Reply(xid, True, status, data, verf=verf, mismatch=mismatch)
    if reply_stat != MSG_DENIED:
        raise BadXdr(
            f"reply status {reply_stat} is neither MSG_ACCEPTED nor MSG_DENIED", offset=start
        )
    start = r.pos
    code = r.u32("the reject status")
    status = REJECT_STATS.get(code)
    if status is None:
        raise BadXdr(
            f"reject status {code} is not RPC_MISMATCH (0) nor AUTH_ERROR (1)", offset=start
        )
    if status == "RPC_MISMATCH":
        mismatch = (r.u32("the lowest RPC version"), r.u32("the highest RPC version"))
        _nothing_after(r, status)
        return Reply(xid, False, status, data, mismatch=mismatch)
    auth = r.u32("the auth status")
    _nothing_after(r, status)
    return Reply(xid, False, status, data, auth_error=AUTH_STATS.get(auth, f"auth_stat {auth}"))


def _nothing_after(r: Reader, status: str) -> None:
    if r.left:
        raise BadXdr(f"{r.left} bytes follow a {status} reply", offset=r.pos)


def encode_call(
    xid: int,
    prog: int,
    vers: int,
    proc: int,
    args: bytes = b"",
    *,
    cred: Auth = AUTH_NONE,
    verf: Auth = AUTH_NONE,
    rpcvers: int = RPC_VERSION,
) -> bytes:
    """The bytes of a call message (not framed: see ``frame_record`` for TCP)."""
    out = bytearray(struct.pack(">IIIIII", xid, CALL, rpcvers, prog, vers, proc))
    _put_auth(cred, out)
    _put_auth(verf, out)
    out += args
    return bytes(out)


def encode_reply(
    xid: int,
    status: str = "SUCCESS",
    results: bytes = b"",
    *,
    verf: Auth = AUTH_NONE,
    mismatch: tuple[int, int] = (0, 0),
    auth_error: str = "AUTH_BADCRED",
) -> bytes:
    """The bytes of a reply message with this outcome (``status`` as in ``Reply``)."""
    out = bytearray(struct.pack(">II", xid, REPLY))
    accept = {v: k for k, v in ACCEPT_STATS.items()}
    reject = {v: k for k, v in REJECT_STATS.items()}
    if status in accept:
        out += _U32.pack(MSG_ACCEPTED)
        _put_auth(verf, out)
        out += _U32.pack(accept[status])
        if status == "SUCCESS":
            out += results
        elif status == "PROG_MISMATCH":
            out += struct.pack(">II", *mismatch)
    elif status in reject:
        out += _U32.pack(MSG_DENIED) + _U32.pack(reject[status])
        if status == "RPC_MISMATCH":
            out += struct.pack(">II", *mismatch)
        else:
            codes = {v: k for k, v in AUTH_STATS.items()}
            out += _U32.pack(codes[auth_error])
    else:
        raise ValueError(f"unknown reply status {status!r}")
    return bytes(out)


# ---------------------------------------------------------------- record marking (TCP)


def frame_record(message: bytes, max_fragment: int = MAX_FRAGMENT) -> bytes:
    """``message`` as one record of fragments of at most ``max_fragment`` bytes each."""
    if not 0 < max_fragment <= MAX_FRAGMENT:
        raise ValueError(f"a fragment holds 1 to {MAX_FRAGMENT} bytes, not {max_fragment}")
    out = bytearray()
    pos = 0
    while True:
        chunk = message[pos : pos + max_fragment]
        pos += len(chunk)
        last = pos >= len(message)
        out += _U32.pack(len(chunk) | (LAST_FRAGMENT if last else 0))
        out += chunk
        if last:
            return bytes(out)


class RecordDecoder:
    """Feed it one direction of a TCP stream in chunks; it gives back whole records.

    It holds at most one record under construction plus four header bytes, and refuses a
    fragment that would make the record longer than ``max_record`` as soon as the fragment's
    header arrives (``BadRecord``), before allocating. After an error it is ``broken``: later
    bytes are counted and dropped, since record boundaries can no longer be found.
    """

    __slots__ = (
        "_buf",
        "_fragments",
        "_headers",
        "_last",
        "_need",
        "_size",
        "broken",
        "dropped",
        "max_record",
        "records",
    )

    def __init__(self, max_record: int = DEFAULT_LIMITS.max_message) -> None:
        self.max_record = max_record
        self._buf = bytearray()
        self._fragments: list[bytes] = []
        self._headers: list[int] = []  # each fragment's header, for the bytes as on the wire
        self._size = 0  # bytes of the record so far
        self._need: int | None = None  # body bytes the current fragment still wants
        self._last = False
        #: The error that broke the stream, if one did.
        self.broken: OncRpcError | None = None
        #: Bytes fed after the stream broke.
        self.dropped = 0
        #: Records given back so far.
        self.records = 0

    @property
    def buffered(self) -> int:
        """Bytes held: the record under construction and a partial header or fragment."""
        return self._size + len(self._buf)

    @property
    def at_boundary(self) -> bool:
        """True when no record is half-received (the stream may end here cleanly)."""
        return not self._buf and not self._fragments and self._need is None

    def feed(self, data: bytes) -> list[bytes]:
        """The records that ``data`` completes (often none, sometimes several)."""
        return [message for message, _ in self._feed(data, False)]

    def feed_wire(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Like ``feed``, each record with the bytes it took on the wire: ``(message, wire)``,
        ``wire`` being its fragments with their record-marking headers, exactly as sent."""
        return self._feed(data, True)

    def _feed(self, data: bytes, wire: bool) -> list[tuple[bytes, bytes]]:
        if self.broken is not None:
            self.dropped += len(data)
            return []
        self._buf += data
        out: list[tuple[bytes, bytes]] = []
        buf = self._buf
        try:
            while True:
                if self._need is None:
                    if len(buf) < 4:
                        break
                    header = _U32.unpack_from(buf, 0)[0]
                    del buf[:4]
                    self._last = bool(header & LAST_FRAGMENT)
                    length = header & MAX_FRAGMENT
                    if self._size + length > self.max_record:
                        raise BadRecord(
                            f"a fragment of {length} bytes would make a record of "
                            f"{self._size + length} bytes, over the limit of {self.max_record}",
                            offset=self._size,
                        )
                    self._need = length
                    self._headers.append(header)
                need = self._need
                if len(buf) < need:
                    break
                self._fragments.append(bytes(buf[:need]))
                del buf[:need]
                self._size += need
                self._need = None
                if self._last:
                    message = b"".join(self._fragments)
                    framed = (
                        b"".join(
                            _U32.pack(h) + f
                            for h, f in zip(self._headers, self._fragments, strict=True)
                        )
                        if wire
                        else b""
                    )
                    out.append((message, framed))
                    self._fragments.clear()
                    self._headers.clear()
                    self._size = 0
                    self.records += 1
        except OncRpcError as exc:
            self.broken = exc
            self.dropped += len(buf)
            buf.clear()
            self._fragments.clear()
            self._headers.clear()
            self._size = 0
            if out:
                # Keep the records before the break; ``broken`` says what broke after them.
                return out
            raise
        return out

    def close(self) -> None:
        """Say the stream ended; ``Truncated`` if it ended inside a record."""
        if self.broken is None and not self.at_boundary:
            if self._need is None:
                got = f"{len(self._buf)} of the 4 header bytes"
            else:
                got = f"{len(self._buf)} of {self._need} fragment bytes"
            raise Truncated(f"the stream ended inside a record ({got} arrived)")


# ---------------------------------------------------------------- pairing


class Pairer:
    """Matches replies with the calls of one connection (or one UDP peer pair) by xid.

    At most ``max_outstanding`` calls wait for replies; past that the oldest is let go and
    counted in ``evicted`` (a peer that never answers cannot make it grow without bound).
    """

    __slots__ = ("_waiting", "evicted", "max_outstanding", "replaced", "unmatched")

    def __init__(self, max_outstanding: int = 4096) -> None:
        self.max_outstanding = max_outstanding
        self._waiting: OrderedDict[int, Call] = OrderedDict()
        #: Calls let go unanswered because too many were waiting.
        self.evicted = 0
        #: Calls whose xid was reused before a reply came.
        self.replaced = 0
        #: Replies that matched no waiting call.
        self.unmatched = 0

    @property
    def outstanding(self) -> int:
        """Calls waiting for a reply."""
        return len(self._waiting)

    def call(self, call: Call) -> Call | None:
        """Remember ``call``; returns a call it pushed out (same xid, or the oldest), if any."""
        old = self._waiting.pop(call.xid, None)
        if old is not None:
            self.replaced += 1
        self._waiting[call.xid] = call
        if len(self._waiting) > self.max_outstanding:
            _, old = self._waiting.popitem(last=False)
            self.evicted += 1
        return old

    def forget(self, xid: int) -> Call | None:
        """Stop waiting for the reply to call ``xid`` (its owner gave up on it); the call, if
        one was waiting."""
        return self._waiting.pop(xid, None)

    def reply(self, reply: Reply) -> Call | None:
        """The call ``reply`` answers, no longer waiting; None if no call waits with its xid."""
        call = self._waiting.pop(reply.xid, None)
        if call is None:
            self.unmatched += 1
        return call
