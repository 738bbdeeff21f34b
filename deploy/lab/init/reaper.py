"""PID 1 of a lab node: reap every orphan until told to stop.

When this process exits (SIGTERM, or SIGKILL from outside), the kernel kills every
process of the node's PID namespace, which is exactly a power loss.
"""

import os
import signal
import sys
import time


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.5)


if __name__ == "__main__":
    main()
