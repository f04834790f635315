"""The command line: `wait-and-dispatch SUBCOMMAND ...`.

An edge, like the action: it parses arguments, reads the environment, prints, and turns the
core's typed errors into one line, a hint and a documented exit code (see `ExitCode`). Heavy
modules (PyGithub, werkzeug, the emulator) are imported only by the subcommand that needs them,
so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from wait_and_dispatch import __version__
from wait_and_dispatch.errors import ExitCode, WaitAndDispatchError

PROG = "wait-and-dispatch"

EXIT_CODES_HELP = """exit codes:
  0    success
  1    a run or check ended with a conclusion that is not allowed
  2    usage or input error (options, inputs, scenario or plan files)
  3    timeout: the deadline passed before the runs or checks completed
  4    GitHub API or permission error
  5    artifact error (missing, expired, digest mismatch, unsafe archive)
  130  interrupted
"""


@dataclass(frozen=True)
class Connection:
    """Where GitHub is and who we are, resolved from options and the environment at the edge."""

    api_url: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Connection(api_url={self.api_url!r}, token={'<set>' if self.token else None})"


def resolve_connection(api_url: str | None, environ: Mapping[str, str]) -> Connection:
    """`--api-url`, else `GITHUB_API_URL` (set by the runner; GHES: https://HOST/api/v3), else
    api.github.com; the token from `GITHUB_TOKEN`, else `GH_TOKEN` (the GitHub CLI's name)."""
    from wait_and_dispatch.github_api import DEFAULT_API_URL, normalize_api_url

    url = normalize_api_url(api_url or environ.get("GITHUB_API_URL") or DEFAULT_API_URL)
    token = (environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or "").strip() or None
    return Connection(url, token)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Find or dispatch GitHub Actions workflow runs by head SHA, wait for them and their "
            "checks, and download their artifacts."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and HTTP details on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="run the main job against the embedded GitHub API emulator (no token needed)",
        description=(
            "Start the embedded GitHub API emulator with a small scenario and run the main job "
            "against it over real HTTP: dispatch a workflow, wait for the exact run it started, "
            "download its artifact and verify it. Needs no token and no network."
        ),
    )
    demo.add_argument(
        "--speed",
        type=float,
        default=30.0,
        help="how many times faster than real time the emulated runs go (default: 30)",
    )
    demo.add_argument(
        "--path", default=None, help="where to put downloaded artifacts (default: a temp folder)"
    )

    emulator = commands.add_parser(
        "emulator",
        help="serve the embedded GitHub API emulator on 127.0.0.1",
        description=(
            "Serve the embedded GitHub API emulator in the foreground on 127.0.0.1, in real time. "
            "Point the tool (or any GitHub client) at the printed API URL with one of the printed tokens."
        ),
    )
    emulator.add_argument(
        "--scenario", default=None, help="scenario file (YAML or JSON); default: the demo scenario"
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=0, help="API port (default: any free port)")
    emulator.add_argument(
        "--blob-port", type=int, default=0, help="artifact storage port (default: any free port)"
    )
    return parser


@contextlib.contextmanager
def handle_errors(stderr: TextIO, debug: bool) -> Iterator[list[int]]:
    """Turn typed errors into one line, a hint and an exit code: the CLI's only handler."""
    status = [int(ExitCode.SUCCESS)]
    try:
        yield status
    except WaitAndDispatchError as error:
        if debug:
            import traceback

            traceback.print_exc(file=stderr)
        print(f"error: {error.message}", file=stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=stderr)
        status[0] = int(error.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=stderr)
        status[0] = int(ExitCode.INTERRUPTED)


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    with handle_errors(err, args.debug) as status:
        if args.command == "demo":
            from wait_and_dispatch.demo import run_demo

            status[0] = run_demo(speed=args.speed, path=args.path, out=out)
        elif args.command == "emulator":
            from wait_and_dispatch.emulator.server import serve_forever

            serve_forever(
                scenario_path=args.scenario,
                host=args.host,
                port=args.port,
                blob_port=args.blob_port,
                print_fn=lambda line: print(line, file=out, flush=True),
            )
    return status[0]


def entry_point() -> None:
    sys.exit(main())
