"""What every conversation shares: the interface the proxy and importers code against, and the
records a conversation makes when something has no call to belong to.

A ``Conversation`` is one connection (or, over UDP, one client's datagrams to one server) of a
protocol that runs on the transport itself. It is fed each direction's bytes as they cross the
wire and gives back finished call records; it never raises and never holds more than its limits
allow. The proxy keeps one per flow; ``rpcspy import`` can keep one per reassembled connection.
"""

from __future__ import annotations

from typing import Literal, Protocol

from rpcspy.capture.record import (
    CallRecord,
    HttpMessage,
    Problem,
    ProblemPlace,
    build_native_record,
)

__all__ = ["CLOSED_BEFORE_REPLY", "Conversation", "Peer", "Side", "problem_record", "where_of"]

Side = Literal["client", "server"]
"""Which peer sent the bytes: the one that opened the connection, or the one that accepted it."""

Peer = tuple[str, int]

#: The error of a call still waiting for its reply when the connection ended.
CLOSED_BEFORE_REPLY = "connection closed before the reply"


class Conversation(Protocol):
    """One connection's bytes in, its call records out (one owner: ``rpcspy.streams``)."""

    #: ``"oncrpc"`` or ``"rpyc"``.
    protocol: str
    #: ``"tcp"`` or ``"udp"``.
    transport: str

    def feed(self, side: Side, data: bytes, at: float) -> list[CallRecord]:
        """Bytes ``side`` sent at ``at`` (TCP: any chunk of that direction's stream; UDP: exactly
        one datagram); the records they complete, in the order they completed."""
        ...

    def close(self, at: float) -> list[CallRecord]:
        """The connection ended at ``at``: calls still waiting come out without a response (their
        ``error`` says so), and a stream that stopped inside a message is a problem record."""
        ...


def where_of(side: Side) -> ProblemPlace:
    """The half whose bytes ``side`` sends: the client's are the request's."""
    return "request" if side == "client" else "response"


def problem_record(
    protocol: str,
    transport: str,
    *,
    side: Side,
    problem: Problem,
    error: str,
    at: float,
    started: float | None = None,
    body: bytes = b"",
    client: Peer | None,
    server: Peer | None,
    origin: str,
) -> CallRecord:
    """A record of its own for a problem no call can carry (bytes that are not a message, a
    reply to no call, a stream cut inside a message): the bytes concerned, when there are any,
    in the half of the side that sent them; the other half empty (request) or absent."""
    half = HttpMessage(body=body)
    request, response = (half, None) if side == "client" else (HttpMessage(body=b""), half)
    return build_native_record(
        protocol,
        request,
        response,
        transport=transport,
        started=at if started is None else started,
        ended=at,
        client=client,
        server=server,
        problems=(problem,),
        error=error,
        origin=origin,
    )


def internal_error_record(
    protocol: str,
    transport: str,
    *,
    side: Side,
    exc: Exception,
    at: float,
    client: Peer | None,
    server: Peer | None,
    origin: str,
) -> CallRecord:
    """The record of a bug of ours met while reading ``side``'s bytes: an ``internal-error``
    problem naming the exception, instead of an exception out of ``feed``."""
    return problem_record(
        protocol,
        transport,
        side=side,
        problem=Problem(where_of(side), "internal-error", f"{type(exc).__name__}: {exc}"[:500]),
        error="rpcspy could not read these bytes (a bug: please report it)",
        at=at,
        client=client,
        server=server,
        origin=origin,
    )
