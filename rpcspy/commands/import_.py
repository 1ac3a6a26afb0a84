"""``rpcspy import``: traffic recorded by other tools (pcap, HAR, mitmproxy flows) to a capture.

The module is ``import_`` because ``import`` is a Python keyword; the command is ``import``
(``rpcspy.cli.command_module`` maps one to the other).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands import HelpFormatter

if TYPE_CHECKING:
    from rpcspy.ingest import Exchange, ImportCounts, Skipped

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``import`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "import",
        help="turn a pcap, a HAR or a mitmproxy flow file into a capture",
        formatter_class=HelpFormatter,
        description=(
            "Read traffic recorded by other tools and write its XML-RPC calls to a capture,\n"
            "decoded exactly as the proxy decodes live traffic (records marked origin\n"
            '"import"). The format is read from each file\'s first bytes:\n'
            "\n"
            "  pcap, pcapng   tcpdump, Wireshark, dumpcap: TCP put back in order, HTTP/1.x on\n"
            "                 any port (--port to narrow), keep-alive, pipelining, chunked,\n"
            "                 gzip; a lost segment is a problem on its call, never a wrong\n"
            "                 body; a TLS connection is one record 'encrypted, not decodable'\n"
            "  har            HAR 1.2 from browsers, Charles, Burp, Fiddler, mitmproxy\n"
            "  mitm           mitmproxy flow files (mitmdump -w), read by mitmproxy itself\n"
            "\n"
            "Exchanges that are not XML-RPC are skipped and counted. The last line says how\n"
            "many calls were imported, skipped, and had problems. See docs/import-export.md.\n"
            "\n"
            "Exit status: 0 imported; 2 bad usage (the capture exists: --append or --force);\n"
            "3 a file could not be read; 4 imported, but part of the input was missing (a lost\n"
            "segment, a message cut short) and those calls carry a problem saying so."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy import traffic.pcap -w traffic.jsonl\n"
            "  rpcspy import prod.pcapng --port 8069 -w odoo.jsonl.gz\n"
            "  rpcspy import devtools.har session.mitm -w imported.jsonl --append\n"
            "  rpcspy import dump.bin --format pcap -w out.jsonl --force"
        ),
    )
    p.add_argument("files", type=Path, nargs="+", metavar="FILE", help="file(s) to import")
    p.add_argument(
        "-w",
        "--write",
        type=Path,
        required=True,
        metavar="CAPTURE",
        help="capture to write (.jsonl, or .jsonl.gz for gzip)",
    )
    p.add_argument(
        "--format",
        choices=("auto", "pcap", "har", "mitm"),
        default="auto",
        help="read every FILE as this format (pcap covers pcapng) instead of guessing",
    )
    p.add_argument(
        "--port",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="pcap: only TCP connections with this port on either side (repeatable)",
    )
    exists = p.add_mutually_exclusive_group()
    exists.add_argument(
        "--append", action="store_true", help="add to CAPTURE if it exists (numbering goes on)"
    )
    exists.add_argument("--force", action="store_true", help="replace CAPTURE if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Import every file into the capture; returns the exit code."""
    from rpcspy.capture import CaptureFormatError, CaptureWriter
    from rpcspy.capture.writer import CaptureWriteError
    from rpcspy.exits import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError
    from rpcspy.ingest import ImportCounts, InlineRecorder, detect_format, import_exchanges
    from rpcspy.ingest.worker import RecorderProcess, RecorderProcessError, two_cores
    from rpcspy.replay.progress import Progress

    files: list[Path] = args.files
    out: Path = args.write
    formats: list[str] = []
    for path in files:
        if not path.exists():
            raise CliError(f"no such file: {path}", EXIT_INPUT)
        if path.is_dir():
            raise CliError(f"{path} is a directory", EXIT_INPUT)
        if args.format != "auto":
            formats.append(args.format)
            continue
        try:
            found = detect_format(path)
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None
        if found is None:
            raise CliError(
                f"{path}: not a pcap, pcapng, HAR or mitmproxy flow file (--format to force one)",
                EXIT_INPUT,
            )
        formats.append("pcap" if found == "pcapng" else found)
    if any(out.resolve() == path.resolve() for path in files):
        raise CliError(f"{out} is one of the files to import", EXIT_USAGE)
    if out.exists() and out.stat().st_size > 0 and not (args.append or args.force):
        raise CliError(f"{out} exists: --append to add to it, --force to replace it", EXIT_USAGE)
    try:
        writer = CaptureWriter(out, append=bool(args.append))
    except CaptureFormatError as exc:
        raise CliError(f"{out}: {exc}", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}", EXIT_INPUT) from None

    counts = ImportCounts()
    total = sum(path.stat().st_size for path in files)
    mib = 1024 * 1024
    enabled = False if args.no_progress else None
    seq = writer.last_seq + 1
    recorder: InlineRecorder | RecorderProcess
    if two_cores():
        # Records are built and written by a second process (the header is written already).
        writer.close()
        recorder = RecorderProcess(out, counts, first_seq=seq)
    else:
        recorder = InlineRecorder(writer, counts, first_seq=seq)
    try:
        with Progress("import MiB", max(total // mib, 1), enabled=enabled) as progress:
            done_before = 0

            def advance(position: int) -> None:
                step = (done_before + position) // mib - progress.done
                if step > 0:
                    progress.advance(step, suffix=f"{counts.skipped} skipped")

            for path, fmt in zip(files, formats, strict=True):
                items = _read(fmt, path, counts, args.port, advance)
                import_exchanges(items, recorder, counts)
                done_before += path.stat().st_size
                advance(0)
    finally:
        try:
            if isinstance(recorder, RecorderProcess):
                recorder.close()
            else:
                writer.close()
        except (RecorderProcessError, CaptureWriteError) as exc:
            raise CliError(str(exc), EXIT_INPUT) from None
    print(counts.summary())
    return EXIT_PARTIAL if counts.damaged else EXIT_OK


def _read(
    fmt: str,
    path: Path,
    counts: ImportCounts,
    ports: list[int],
    advance: Callable[[int], None],
) -> Iterator[Exchange | Skipped]:
    """The exchanges of one file in format ``fmt``, a reader's refusal made the command's error
    (exit 3). Each reader is imported only when used: mitmproxy only for a flow file."""
    from rpcspy.exits import EXIT_INPUT, CliError

    items: Iterator[Exchange | Skipped]
    refusals: tuple[type[Exception], ...]
    if fmt == "pcap":
        from rpcspy.ingest.pcap import PcapError, read_pcap

        items, refusals = read_pcap(path, counts, ports=ports, on_packet=advance), (PcapError,)
    elif fmt == "har":
        from rpcspy.ingest.har import HarError, read_har

        items, refusals = read_har(path), (HarError,)
    else:
        from rpcspy.proxy.flowfile import FlowFileError, read_flows

        items, refusals = read_flows(path, on_bytes=advance), (FlowFileError,)
    try:
        yield from items
    except refusals as exc:
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None
