"""``python -m rpcspy.capture._part PATH MAX_LINE (START END TEXTS_FD OUT_FD)...``: a helper
process of a first reading in pieces (``rpcspy.capture.index.IndexBuilder``).

It lowers its CPU priority, imports what it needs and waits for a ``go`` line on its stdin (sent
once the UI's first page is up: until then the helper takes no CPU from it). Then for each piece
in turn it runs ``index_part``, writes its result to the file ``OUT_FD`` (``write_part``: names
already sent with a piece before are not sent again) and says ``done`` on its stdout. What it
learnt of the calls' messages (checked once each) and its name tables are kept from one piece to
the next. It ends at once when its stdin ends: the process that started it is gone, however it
ended.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from pathlib import Path

#: How much lower than its parent's this process's CPU priority is.
NICE = 10


def main(argv: list[str]) -> int:
    """Index the pieces; the exit code says whether every result was written."""
    # Background work: a UI in the process that started this one comes first for the CPU (its
    # first page, its filters); on idle cores this one still gets all the rest. Lowered first,
    # so that even the imports below give way to the UI.
    with contextlib.suppress(OSError):
        os.nice(NICE)
    from rpcspy.capture.index import Carry, index_part, write_part

    if sys.stdin.buffer.readline() != b"go\n":
        return 1  # the process that started this one is gone, or changed its mind

    def watch_parent() -> None:
        sys.stdin.buffer.read()
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()
    # Indexing makes no reference cycles worth collecting, and a collection now and then would
    # walk every row pending in a batch: a short-lived helper does without.
    gc.disable()
    path, max_line, *pieces = argv
    carry = Carry()
    sent: dict[str, int] = {}  # (names already sent: the tables are carried)
    for at in range(0, len(pieces), 4):
        start, end, texts_fd, out_fd = map(int, pieces[at : at + 4])
        result = index_part(Path(path), start, end, int(max_line), texts_fd, carry)
        write_part(result, out_fd, sent)
        sys.stdout.write("done\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    # Not a normal shutdown: the watching thread is blocked reading stdin.
    os._exit(code)
