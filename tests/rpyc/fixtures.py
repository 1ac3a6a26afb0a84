"""The recorded RPyC sessions in tests/data/rpyc: reading them, and (``python -m
tests.rpyc.fixtures``) making them again from the real peers (tests/data/rpyc/README.md)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rpcspy.rpyc.errors import Side
from tests.rpyc.relay import Chunk

DATA = Path(__file__).resolve().parent.parent / "data" / "rpyc"
NAMES = ("tutorial", "tour")


@dataclass
class Fixture:
    name: str
    chunks: list[tuple[Side, bytes, float]]
    meta: dict[str, object]

    def stream(self, side: Side) -> bytes:
        return b"".join(data for s, data, _ in self.chunks if s == side)


def load(name: str) -> Fixture:
    chunks: list[tuple[Side, bytes, float]] = []
    for line in (DATA / f"{name}.chunks.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        side: Side = "client" if item["side"] == "client" else "server"
        chunks.append((side, base64.b64decode(item["data"]), float(item["t"])))
    meta = json.loads((DATA / f"{name}.meta.json").read_text(encoding="utf-8"))
    return Fixture(name, chunks, meta)


def _write(name: str, chunks: list[Chunk], meta: dict[str, object]) -> None:
    lines = [
        json.dumps(
            {"t": round(c.at, 6), "side": c.direction, "data": base64.b64encode(c.data).decode()}
        )
        for c in chunks
    ]
    (DATA / f"{name}.chunks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (DATA / f"{name}.meta.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def record_all() -> None:
    import rpyc

    from tests.rpyc.peers import CLIENTS, classic_server, run_client, server_truth

    DATA.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        script = CLIENTS / f"{name}_client.py"
        with (
            tempfile.TemporaryDirectory(prefix="rpyc-srv-") as cwd,
            classic_server(Path(cwd)) as server,
        ):
            run = run_client(script, server.port)
            truth = server_truth(server.port)
        meta: dict[str, object] = {
            "client": f"tests/rpyc/clients/{script.name}",
            "server": "rpyc_classic --host 127.0.0.1 -p 0 (threaded mode), in a fresh temp dir",
            "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rpyc": rpyc.__version__,
            "python": platform.python_version(),
            "client_stdout": run.stdout,
            "server_cwd": truth["cwd"],
            "server_sys_path": truth["sys_path"],
            "chunks": len(run.chunks),
            "client_bytes": len(run.client_stream),
            "server_bytes": len(run.server_stream),
        }
        _write(name, run.chunks, meta)
        print(
            f"{name}: {len(run.chunks)} chunks, {len(run.client_stream)} + "
            f"{len(run.server_stream)} bytes",
            file=sys.stderr,
        )


if __name__ == "__main__":
    record_all()
