"""``python -m rpcspy.capture._part PATH START END MAX_LINE TEXTS_FD OUT_FD``: the helper process
of a first reading in two halves (``rpcspy.capture.index.IndexBuilder``).

It runs ``index_part`` and writes its result to the file ``OUT_FD`` (``write_part``). It ends at
once when its stdin ends: the process that started it is gone, however it ended.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path


def main(argv: list[str]) -> int:
    """Index one part; the exit code says whether the result was written."""
    from rpcspy.capture.index import index_part, write_part

    def watch_parent() -> None:
        sys.stdin.buffer.read()
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()
    path, start, end, max_line, texts_fd, out_fd = argv
    result = index_part(Path(path), int(start), int(end), int(max_line), int(texts_fd))
    write_part(result, int(out_fd))
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    # Not a normal shutdown: the watching thread is blocked reading stdin.
    os._exit(code)
