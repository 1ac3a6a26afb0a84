"""Replay end to end: sessions recorded from the demo server, replayed against changed servers."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path

from rpcspy.capture import CallRecord
from rpcspy.diff import Rules, parse_rule
from rpcspy.replay import Outcome, Replayer, ReplayOptions, Target, compare, send_call
from tests.conftest import MakeServer, free_port
from tests.replay.support import attempt, canned_server, client, load, write_capture


def _replay(path: Path, url: str, **options: object) -> list[Outcome]:
    return _replayer_run(path, url, **options)[0]


def _replayer_run(path: Path, url: str, **options: object) -> tuple[list[Outcome], Replayer]:
    opts = ReplayOptions(target=Target.parse(url), **options)  # type: ignore[arg-type]
    with Replayer(opts) as replayer:
        if opts.noise_target is not None:
            replayer.learn(load(path))
        return list(replayer.replay(load(path))), replayer


def _by_method(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.old.method or "": o for o in outcomes}


def _texts(outcome: Outcome) -> list[str]:
    return [d.describe() for d in outcome.differences]


def test_replay_against_the_same_server_changes_only_the_random_method(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, records = session
    outcomes = _replay(path, make_server().url)
    assert [o.old.seq for o in outcomes] == [r.seq for r in records]
    changed = {o.old.method for o in outcomes if o.verdict != "same"}
    assert changed == {"demo.random"}
    random = _by_method(outcomes)["demo.random"]
    assert random.verdict == "changed"
    assert any(d.path == "result.random" for d in random.differences)
    assert all(o.new is not None and o.new.origin == "replay" for o in outcomes)


def test_variant_2_differences_are_reported_exactly(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, _ = session
    outcomes = _by_method(
        _replay(path, make_server(variant=2).url, rules=Rules((parse_rule("demo.random"),)))
    )
    assert _texts(outcomes["demo.version"]) == ['result: string "1.0" -> string "2.0"']
    assert _texts(outcomes["add"]) == ["result: int 5 -> double 5.0"]
    assert [d.kind for d in outcomes["add"].differences] == ["type"]
    assert _texts(outcomes["getData"]) == ['result: string "42" -> int 42']
    (uname,) = outcomes["uname"].differences
    assert (uname.path, uname.kind) == ("result.python", "added")
    for method in ("echo", "demo.fault", "sample.sumAndDifference", "demo.echo", "demo.random"):
        assert outcomes[method].verdict == "same", method
    assert outcomes["demo.fault"].old.is_fault


def test_learned_noise_suppresses_the_random_method(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, _ = session
    server = make_server()
    ran, replayer = _replayer_run(path, server.url, noise_target=Target.parse(server.url))
    outcomes = _by_method(ran)
    random = outcomes["demo.random"]
    assert random.verdict == "same"
    assert any(d.path == "result.random" for d in random.noise)
    assert all(o.verdict == "same" for o in outcomes.values())
    # The two known-good answers are asked more than a second apart, so the one-second
    # timestamp is learned as noise too, not only the random double.
    learned = {(e.path, e.kind) for e in replayer.noise.entries("demo.random")}
    assert learned == {("result.random", "changed"), ("result.time", "changed")}
    assert replayer.noise.methods == ("demo.random",)


def test_noise_from_a_second_known_good_server_leaves_real_changes_counted(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, _ = session
    good, candidate = make_server(), make_server(variant=2)
    outcomes = _by_method(_replay(path, candidate.url, noise_target=Target.parse(good.url)))
    assert outcomes["demo.random"].verdict == "same"
    assert outcomes["demo.version"].verdict == "changed"
    assert outcomes["demo.version"].noise == ()


def test_new_fault_fixed_fault_and_skip(make_server: MakeServer, tmp_path: Path) -> None:
    recorded = make_server()
    records: list[CallRecord] = []
    proxy = client(recorded.url, records)
    attempt(lambda: proxy.dir.create("made"))  # works on a fresh sandbox
    attempt(lambda: proxy.dir.remove("absent"))  # fault 101: no such path
    attempt(lambda: proxy.echo("x"))
    path = write_capture(tmp_path / "dirs.jsonl", records)
    target = make_server()
    helper = xmlrpc.client.ServerProxy(target.url)
    helper.dir.create("made")
    helper.dir.create("absent")
    outcomes = _by_method(_replay(path, target.url))
    assert outcomes["dir.create"].verdict == "new-fault"
    assert outcomes["dir.remove"].verdict == "fixed-fault"
    assert outcomes["echo"].verdict == "same"
    skipped = _by_method(_replay(path, target.url, skip=("dir.*",)))
    assert skipped["dir.create"].verdict == "skipped"
    assert skipped["dir.create"].new is None
    assert "dir.*" in (skipped["dir.create"].message or "")


def test_concurrency_and_pace_keep_capture_order(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, records = session
    server = make_server()
    fast = _replay(path, server.url, concurrency=4)
    assert [o.old.seq for o in fast] == [r.seq for r in records]
    paced = _replay(path, server.url, speed=1000.0)
    assert [o.verdict for o in paced] == [o.verdict for o in fast]


def test_reencode_sends_the_decoded_call(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, _ = session
    outcomes = _replay(path, make_server().url, reencode=True)
    assert {o.old.method for o in outcomes if o.verdict != "same"} == {"demo.random"}
    for o in outcomes:
        assert o.new is not None and o.new.call == o.old.call


def test_dead_target_html_and_garbage_are_errors_per_call(
    session: tuple[Path, list[CallRecord]],
) -> None:
    path, records = session
    dead = _replay(path, f"http://127.0.0.1:{free_port()}/RPC2", timeout=5.0)
    assert len(dead) == len(records)
    assert {o.verdict for o in dead} == {"error"}
    assert all(o.message == "connection refused" for o in dead)
    with canned_server(b"<html><body>Bad gateway</body></html>", "text/html") as url:
        html = _replay(path, url)
    assert {o.verdict for o in html} == {"error"}
    assert html[0].message is not None
    assert html[0].message.startswith("HTTP 200 (text/html), not an XML-RPC answer")
    with canned_server(b"\x00\xff garbage \x13", "application/octet-stream") as url:
        garbage = _replay(path, url)
    assert {o.verdict for o in garbage} == {"error"}
    assert all(
        o.new is not None and o.new.response is not None and o.new.response.body is not None
        for o in garbage
    )


def test_timeout_and_crash_are_errors_and_the_replay_goes_on(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server()
    records: list[CallRecord] = []
    proxy = client(server.url, records)
    attempt(lambda: proxy.demo.slow(1.0))
    attempt(lambda: proxy.demo.crash())
    attempt(lambda: proxy.echo("after"))
    path = write_capture(tmp_path / "bad.jsonl", records)
    # The stdlib client retries a dropped call once, so demo.crash is recorded twice.
    assert [r.method for r in records] == ["demo.slow", "demo.crash", "demo.crash", "echo"]
    outcomes = _replay(path, server.url, timeout=0.3)
    assert [o.verdict for o in outcomes] == ["error", "error", "error", "same"]
    assert outcomes[0].message == "timed out after 0.3 s"
    # No bytes on either side to compare: still an error, and the message says the recorded
    # call got no answer either.
    assert outcomes[1].message == (
        "the server closed the connection without answering; the recorded call had no "
        "XML-RPC answer either (Remote end closed connection without response)"
    )
    assert all(o.new is not None for o in outcomes)


def test_send_call_and_compare_for_one_call(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    _, records = session
    server = make_server(variant=2)
    version = next(r for r in records if r.method == "demo.version")
    new = send_call(version, server.url, timeout=5)
    assert new.origin == "replay" and new.ok
    outcome = compare(version, new)
    assert outcome.verdict == "changed"
    raw = send_call(version.request.body, Target.parse(server.url))
    assert raw.reply == new.reply


def test_basic_auth_comes_from_options_not_the_capture(
    make_server: MakeServer, tmp_path: Path
) -> None:
    from rpcspy.replay import Auth

    server = make_server(user="alice", password="s3cret")
    records: list[CallRecord] = []
    url = server.url.replace("://", "://alice:s3cret@")
    attempt(lambda: client(url, records).echo("hi"))
    path = write_capture(tmp_path / "auth.jsonl", records)
    saved = load(path)
    assert saved[0].redacted
    without = _replay(path, server.url)
    assert without[0].verdict == "error" and "HTTP 401" in (without[0].message or "")
    with_auth = _replay(path, server.url, auth=Auth("alice", "s3cret"))
    assert with_auth[0].verdict == "same"


def test_a_kept_alive_connection_closed_by_the_server_is_not_reused(
    session: tuple[Path, list[CallRecord]],
) -> None:
    """The server answers HTTP/1.1 without ``Connection: close`` and then hangs up: the next
    call must go on a new connection, and no call may be sent twice."""
    import socket
    import threading

    path, records = session
    answer = records[2].response.body
    assert answer is not None
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                while len(body) < length:
                    body += conn.recv(65536)
                seen.append(body)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
                    + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                conn.shutdown(socket.SHUT_RDWR)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/RPC2"
        outcomes = _replay(path, url, timeout=5.0)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert [o.verdict for o in outcomes if o.verdict == "error"] == []
    assert len(seen) == len(records)
