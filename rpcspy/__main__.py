"""``python -m rpcspy``: the same as the ``rpcspy`` command."""

import sys

from rpcspy.cli import main

sys.exit(main())
