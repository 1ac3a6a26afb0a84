"""Record the real-peer fixtures of tests/data/oncrpc/ (see the README there).

    PYTHONPATH=. .venv/bin/python -m tests.oncrpc.make_fixtures

Needs rpcbind, rpcinfo, tcpdump (run as root), make, a C compiler, rpcgen and libtirpc-dev.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from tests.oncrpc.peers import (
    FIXTURES,
    Recording,
    TcpRelay,
    UdpRelay,
    build_examples,
    example_server,
    rpcbind,
    run_client,
    tcpdump_lo,
    tool,
)


def record_rpcinfo(args: list[str], made_by: str) -> Recording:
    with tcpdump_lo(111) as connections:
        subprocess.run([tool("rpcinfo"), *args], check=True, capture_output=True, timeout=30)
    return Recording(made_by, tcp=connections)


def record_client(client: Path, port: int, proto: str, made_by: str) -> Recording:
    if proto == "tcp":
        relay = TcpRelay(port)
        run_client(client, relay.port, "tcp")
        return Recording(made_by, tcp=relay.close())
    udp = UdpRelay(port)
    run_client(client, udp.port, "udp")
    return Recording(made_by, udp=udp.close())


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, rpcbind():
        server, client = build_examples(Path(tmp))
        with example_server(server, register=True) as port:
            record_rpcinfo(
                ["-p", "127.0.0.1"],
                "tcpdump -i lo of `rpcinfo -p 127.0.0.1` against rpcbind, with the example "
                "server registered",
            ).save(FIXTURES / "rpcinfo_p.json")
            record_rpcinfo(
                ["-t", "127.0.0.1", "100000"],
                "tcpdump -i lo of `rpcinfo -t 127.0.0.1 100000` against rpcbind",
            ).save(FIXTURES / "rpcinfo_t.json")
            for proto in ("tcp", "udp"):
                record_client(
                    client,
                    port,
                    proto,
                    f"rpc_example_client 127.0.0.1 PORT {proto} through a byte-recording "
                    f"{proto.upper()} relay to rpc_example_server (rpcgen, libtirpc)",
                ).save(FIXTURES / f"example_{proto}.json")


if __name__ == "__main__":
    main()
