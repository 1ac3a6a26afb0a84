"""RPyC's channel framing: ``!LB`` header (payload length, compression flag), payload, newline.

Strategy: a ``FrameDecoder`` per direction is fed whatever chunks the transport delivers and
hands back every frame they complete, in order, with the exact wire bytes kept. rpyc's
``Channel.send`` writes ``struct.pack("!LB", len(payload), compressed) + payload + b"\\n"``,
compressing with zlib (level 1) when the payload is over 3000 bytes; ``Channel.recv`` reads the
header, then ``length + 1`` bytes, drops the last one unread and inflates if the flag is set.

Bounded memory: a declared length over ``Limits.max_frame_bytes`` is reported at once and its
bytes are counted off as they arrive, never buffered, after which decoding resumes at the next
header; a compressed payload is inflated at most ``max_payload_bytes + 1`` bytes (a zip bomb
stops there). Bad zlib loses that frame only: the length still says where the next one starts.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from rpcspy.rpyc.errors import Problem, RpycError, Side

__all__ = [
    "DEFAULT_LIMITS",
    "FLUSHER",
    "HEADER",
    "Frame",
    "FrameDecoder",
    "Limits",
    "decode_payload",
    "encode_frame",
]

HEADER: Final = struct.Struct("!LB")
FLUSHER: Final = b"\n"
#: rpyc's Channel.COMPRESSION_THRESHOLD and COMPRESSION_LEVEL.
COMPRESSION_THRESHOLD: Final = 3000
COMPRESSION_LEVEL: Final = 1


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what the reader holds. Past one, it reports a problem; it never raises."""

    #: Largest payload length a frame header may declare (bytes on the wire).
    max_frame_bytes: int = 64 * 1024 * 1024
    #: Largest payload after inflating a compressed frame.
    max_payload_bytes: int = 64 * 1024 * 1024
    #: Most values (objects brine builds) in one message; checked on messages over 256 KiB.
    max_brine_values: int = 2_000_000
    #: Requests in flight per direction before the oldest is given up.
    max_pending: int = 65536
    #: Netrefs remembered per connection; past it, new ones go unnamed.
    max_netrefs: int = 1 << 20
    #: Longest expression a netref is named by; longer ones are cut with an ellipsis.
    max_name_chars: int = 160
    #: Longest rendering of one value in an operation's text.
    max_value_chars: int = 200


DEFAULT_LIMITS: Final = Limits()


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete frame as it went over the wire, and its (inflated) payload."""

    side: Side
    #: Offset of the frame's header in its side's byte stream.
    offset: int
    #: Header, payload and trailing byte, exactly as sent.
    raw: bytes
    compressed: bool
    #: The message bytes: the payload, inflated when the frame was compressed.
    payload: bytes
    #: Time of the chunk that completed the frame (seconds since the epoch), when fed one.
    at: float | None = None
    #: Time of the chunk that brought the frame's first byte (``at`` when one chunk held it).
    started: float | None = None


def decode_payload(body: bytes, compressed: bool, limit: int) -> bytes:
    """The message bytes of a frame body: ``body`` itself, or inflated under ``limit`` bytes."""
    if not compressed:
        return body
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise RpycError("bad-zlib", f"zlib: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise RpycError("payload-too-large", f"inflates past the {limit}-byte limit")
    if not inflater.eof:
        raise RpycError("bad-zlib", "the zlib stream ends before its end marker")
    return out


def encode_frame(payload: bytes, *, compress: bool | None = None) -> bytes:
    """A frame as rpyc's Channel.send writes it (``compress=None``: rpyc's own threshold)."""
    if compress is None:
        compress = len(payload) > COMPRESSION_THRESHOLD
    body = zlib.compress(payload, COMPRESSION_LEVEL) if compress else payload
    return HEADER.pack(len(body), 1 if compress else 0) + body + FLUSHER


class FrameDecoder:
    """Frames out of one direction's byte stream, fed in chunks of any size."""

    def __init__(self, side: Side, limits: Limits = DEFAULT_LIMITS) -> None:
        self.side: Side = side
        self.limits = limits
        self._buffer = bytearray()
        #: Stream offset of ``_buffer[0]``.
        self._base = 0
        #: Bytes of an oversized frame still to be counted off (not buffered).
        self._skip = 0
        self._skip_from = 0
        self.frames = 0
        self.bytes_in = 0
        #: Time of the chunk that brought ``_buffer[0]`` (when a frame's start is held).
        self._held_at: float | None = None

    def feed(self, data: bytes, at: float | None = None) -> list[Frame | Problem]:
        """Take the next chunk; return the frames (and problems) it completes, in order."""
        self.bytes_in += len(data)
        out: list[Frame | Problem] = []
        view = memoryview(data)
        if self._skip:
            n = min(self._skip, len(view))
            self._skip -= n
            self._base += n
            view = view[n:]
        if not view:
            return out
        # Nothing held: read the frames straight from the chunk and keep only its tail.
        direct = not self._buffer
        buf: bytes | bytearray = self._buffer
        if direct:
            buf = data if view.nbytes == len(data) else bytes(view)
        if not direct:
            self._buffer += view
        # The first frame began with the bytes held from an earlier chunk, the rest in this one.
        started = at if direct else self._held_at
        pos = 0
        size = HEADER.size
        while len(buf) - pos >= size:
            length, flag = HEADER.unpack_from(buf, pos)
            offset = self._base + pos
            if length > self.limits.max_frame_bytes:
                out.append(
                    Problem(
                        "frame-too-large",
                        f"declares {length} bytes, over the {self.limits.max_frame_bytes}-byte "
                        "limit; skipped",
                        self.side,
                        offset,
                    )
                )
                total = size + length + len(FLUSHER)
                have = len(buf) - pos
                if have >= total:
                    pos += total
                    started = at
                    continue
                self._skip = total - have
                self._skip_from = offset
                pos = len(buf)
                break
            end = pos + size + length + len(FLUSHER)
            if len(buf) < end:
                break
            out.extend(self._frame(bytes(buf[pos:end]), flag, offset, at, started))
            pos = end
            started = at
        if pos < len(buf):
            self._held_at = started
        if direct:
            self._buffer += memoryview(buf)[pos:]
        elif pos:
            del self._buffer[:pos]
        self._base += pos
        return out

    def _frame(
        self, raw: bytes, flag: int, offset: int, at: float | None, started: float | None = None
    ) -> list[Frame | Problem]:
        out: list[Frame | Problem] = []
        self.frames += 1
        if flag not in (0, 1):
            out.append(
                Problem(
                    "bad-compression-flag",
                    f"flag {flag}; read as compressed, as rpyc does",
                    self.side,
                    offset,
                )
            )
        if raw[-1:] != FLUSHER:
            out.append(
                Problem(
                    "bad-flusher",
                    f"ends with {raw[-1:]!r} instead of {FLUSHER!r}",
                    self.side,
                    offset,
                )
            )
        body = raw[HEADER.size : -len(FLUSHER)]
        try:
            payload = decode_payload(body, flag != 0, self.limits.max_payload_bytes)
        except RpycError as exc:
            out.append(exc.problem(self.side, offset=offset))
            return out
        out.append(Frame(self.side, offset, raw, flag != 0, payload, at, started))
        return out

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of their frame."""
        return len(self._buffer)

    def close(self) -> list[Problem]:
        """The stream ended: a problem if it stopped inside a frame."""
        out: list[Problem] = []
        if self._skip:
            out.append(
                Problem(
                    "truncated-frame",
                    f"the stream ended {self._skip} bytes short of the end of an oversized frame",
                    self.side,
                    self._skip_from,
                )
            )
        elif self._buffer:
            have = len(self._buffer)
            if have < HEADER.size:
                reason = f"{have} byte(s) of a {HEADER.size}-byte frame header"
            else:
                length, _ = HEADER.unpack_from(self._buffer, 0)
                got = have - HEADER.size
                reason = f"{got} of the {length + len(FLUSHER)} bytes the header declares"
            out.append(Problem("truncated-frame", f"got {reason}", self.side, self._base))
        self._buffer.clear()
        self._skip = 0
        return out
