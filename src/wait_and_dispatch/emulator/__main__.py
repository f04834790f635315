"""`python -m wait_and_dispatch.emulator --scenario FILE --port N`: the emulator in the foreground."""

from __future__ import annotations

import argparse
import sys

from wait_and_dispatch.emulator.server import serve_forever
from wait_and_dispatch.support.errors import UsageError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wait_and_dispatch.emulator",
        description="Serve the embedded GitHub API emulator until Ctrl-C.",
    )
    parser.add_argument("--scenario", help="scenario file (YAML or JSON); the demo scenario when omitted")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="API port (0: any free port)")
    parser.add_argument("--blob-port", type=int, default=0, help="artifact storage port (0: any free port)")
    args = parser.parse_args(argv)
    try:
        serve_forever(args.scenario, args.host, args.port, args.blob_port, print)
    except UsageError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return int(error.exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
