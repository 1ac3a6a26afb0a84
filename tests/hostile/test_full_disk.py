"""A capture on a file system that fills up, then gets space back (issue 11, item 6).

The proxy keeps forwarding; it says once, on stderr, that it cannot write (path, the system's
reason, how many calls it recorded); it counts only the calls it wrote and exits 4; and once
there is room again it goes on at a clean boundary, so the whole capture reads back.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record, read_capture
from rpcspy.capture.reader import CaptureReader
from rpcspy.capture.writer import CaptureWriteError
from rpcspy.server import DemoServer, ServerConfig
from tests.conftest import REPO, free_port
from tests.hostile.smallfs import fill, small_filesystem
from tests.proxy.helpers import PYTHON, killing, stop_process, wait_listening


@pytest.fixture
def smallfs(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path, 1024) as where:
        yield where


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


def _text(i: int) -> str:
    # Incompressible, so that a record (the text, its upper-case answer, both bodies) takes more
    # than a page even gzipped, and a full file system refuses every one; yet the bodies stay
    # under the proxy's inline limit, so each call is written before its answer is forwarded.
    return f"call{i}-" + base64.b64encode(os.urandom(2250)).decode()


def _record(seq: int, text: str) -> CallRecord:
    return build_record(
        HttpMessage([("Content-Type", "text/xml")], xmlrpc.client.dumps((text,), "echo").encode()),
        HttpMessage(
            [("Content-Type", "text/xml")],
            xmlrpc.client.dumps((text.upper(),), methodresponse=True).encode(),
        ),
        started=1_763_900_000.0 + seq,
        ended=1_763_900_000.5 + seq,
        client=("127.0.0.1", 40000),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=200,
        seq=seq,
    )


def _read_all(path: Path) -> tuple[list[str], list[str]]:
    """The ``echo`` arguments of every record, and every problem the reader met."""
    reader = CaptureReader(path)
    with reader:
        texts = [str(r.call.params[0]) for r in reader if r.call is not None]
    return texts, [p.message for p in reader.problems]


@pytest.mark.parametrize("name", ["cap.jsonl", "cap.jsonl.gz"])
def test_proxy_on_a_full_disk_says_so_once_counts_honestly_and_resumes_cleanly(
    name: str, smallfs: Path, demo: DemoServer, tmp_path: Path
) -> None:
    capture = smallfs / name
    port = free_port()
    proc = subprocess.Popen(
        [
            *(PYTHON, "-m", "rpcspy", "proxy", demo.base_url, "--listen", f"127.0.0.1:{port}"),
            *("-w", str(capture), "--confdir", str(tmp_path / "confdir"), "-q"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    with killing(proc):
        wait_listening(port)
        # Plain answers (no gzip): the proxy then writes each call before forwarding its answer,
        # so the test knows which calls met the full disk.
        transport = xmlrpc.client.Transport()
        transport.accept_gzip_encoding = False
        client = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2", transport)
        sent: list[str] = []

        def call(i: int) -> None:
            text = _text(i)
            # Forwarding never depends on the disk.
            assert client.echo(text) == text.upper()
            sent.append(text)

        for i in range(3):
            call(i)
        filler = fill(smallfs)
        for i in range(3, 11):
            call(i)
        filler.unlink()
        for i in range(11, 14):
            call(i)
        _, err_bytes = stop_process(proc, signal.SIGINT)
    err = err_bytes.decode()
    assert proc.returncode == 4, err
    assert "Traceback" not in err
    # Said once, with the path, the system's reason and the count so far.
    assert err.count("cannot write to") == 2, err  # the message, and the final summary
    assert f"cannot write to {capture}: No space left on device; 3 calls recorded so far" in err
    assert "the capture is written again; 8 calls were not recorded so far" in err
    assert "6 calls recorded, 8 forwarded but not recorded" in err
    # Every call counted reads back, in order, and nothing else is in the file.
    texts, problems = _read_all(capture)
    assert problems == []
    assert texts == sent[:3] + sent[11:]
    assert [r.seq for r in read_capture(capture)] == [1, 2, 3, 12, 13, 14]


def test_proxy_help_documents_the_not_recorded_exit_code() -> None:
    done = subprocess.run(
        [PYTHON, "-m", "rpcspy", "proxy", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "4 some calls were forwarded but could not be written to the capture" in done.stdout


@pytest.mark.parametrize("name", ["w.jsonl", "w.jsonl.gz"])
def test_writer_cuts_back_to_the_last_whole_record_and_resumes(name: str, smallfs: Path) -> None:
    path = smallfs / name
    sent = [_text(i) for i in range(9)]
    records = [_record(i + 1, text) for i, text in enumerate(sent)]
    with CaptureWriter(path) as writer:
        for record in records[:3]:
            writer.write(record)
        size = path.stat().st_size
        filler = fill(smallfs)
        for record in records[3:6]:
            with pytest.raises(CaptureWriteError) as caught:
                writer.write(record)
            # Cut back: nothing of the refused record stays in the file.
            assert path.stat().st_size == size
        assert caught.value.path == path
        assert caught.value.strerror == "No space left on device"
        assert caught.value.records_written == 3
        assert writer.failing is caught.value
        filler.unlink()
        for record in records[6:]:
            writer.write(record)
        assert writer.failing is None
        assert (writer.records_written, writer.records_failed) == (6, 3)
    texts, problems = _read_all(path)
    assert problems == []
    assert texts == sent[:3] + sent[6:]
    # And appending to it later goes on after the last record.
    with CaptureWriter(path) as writer:
        assert writer.last_seq == 9
