"""The command line's parser: the commands, their options (the job commands' made from
`step/catalogue.py`), and the exit codes every --help lists.

Built fresh by `build_parser` for each run and for the completion scripts; the catalogue is
imported only when the parser is built, so importing this module costs nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from wait_and_dispatch import ACTION_REPOSITORY, __version__

PROG = "wait-and-dispatch"

EXIT_CODES_HELP = """exit codes:
  0    success
  1    a run or check ended with a conclusion that is not allowed
  2    usage or input error (options, inputs, scenario or plan files)
  3    timeout: the runs or checks did not appear, or did not complete, before the deadline
  4    GitHub API or permission error
  5    artifact error (missing, expired, digest mismatch, unsafe archive)
  70   internal error: a defect, or an environment nobody anticipated (the runs it dispatched are cancelled)
  130  interrupted (SIGINT or SIGTERM; the runs it dispatched are cancelled)
"""


_JOB_COMMANDS = (
    (
        "run",
        "find or dispatch a workflow run for a SHA, wait for it, download its artifacts",
        "Find the run of a workflow for a head SHA, or dispatch one and know exactly which run it "
        "started; wait for it with conditional polling; download the artifacts you name.",
    ),
    (
        "checks",
        "wait for the check runs on a SHA",
        "Wait for check runs on a commit: by name, by regex, or every check; with a grace period "
        "for checks that start late.",
    ),
    (
        "download",
        "download artifacts from a run (by --run-id, or the run found for --workflow and --sha)",
        "Download named artifacts from a run, streamed, digest-verified and safely extracted.",
    ),
)


# The inputs that are not a command's business, left out of its options and its --help: `checks`
# waits for check runs on a commit, `download` takes artifacts from a run that exists. `run`
# takes every input, as the action does. An input added later shows up everywhere unless listed.
_NOT_FOR: dict[str, frozenset[str]] = {
    "run": frozenset(),
    "checks": frozenset(
        {
            "workflow",
            "ref",
            "event",
            "dispatch",
            "inputs",
            "event-type",
            "client-payload",
            "correlation-input",
            "discovery-timeout",
            "wait",
            "cancel-on-timeout",
            "fail-on-failed-job",
            "cancel-on-failure",
            "cancel-on-cancel",
            "artifacts",
            "artifacts-from-branch",
            "run-id",
            "path",
            "merge-multiple",
            "allow-forks",
            "skip-decompress",
            "if-artifacts-missing",
        }
    ),
    "download": frozenset(
        {
            "ref",
            "dispatch",
            "inputs",
            "event-type",
            "client-payload",
            "correlation-input",
            "cancel-on-timeout",
            "cancel-on-failure",
            "cancel-on-cancel",
            "checks",
            "checks-regex",
            "ignore-checks",
            "ignore-check-run",
            "ignore-run",
            "checks-discovery-timeout",
            "fail-fast",
            "if-checks-missing",
        }
    ),
}


def job_inputs(command: str) -> list[str]:
    """The action inputs that `command` takes as options, in the action's order."""
    from wait_and_dispatch.step.catalogue import INPUTS

    return [item.name for item in INPUTS if item.cli and item.name not in _NOT_FOR[command]]


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """`--debug` and `--quiet`, accepted before the command and after it. The command's copies
    default to SUPPRESS, so that not repeating them after the command keeps what came before."""
    default: Any = False if top else argparse.SUPPRESS
    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks and HTTP details on errors"
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="no progress lines on stderr (errors, warnings and the result still show)",
    )


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        help="send the token to a plain http:// API URL that is not this machine (refused otherwise)",
    )


def _add_job_options(parser: argparse.ArgumentParser, command: str) -> None:
    from wait_and_dispatch.step.catalogue import INPUTS

    wanted = set(job_inputs(command))
    for item in INPUTS:
        if item.name not in wanted:
            continue
        flags = [f"--{item.name}"]  # the peer actions' names (options.ALIASES) are the action's only
        if item.name == "repository":
            flags = ["-R", "--repo", "--repository"]  # gh's
        default = f" (default: {item.default})" if item.default and not item.default.startswith("${{") else ""
        description = item.cli_help(command)
        if item.default in ("true", "false"):
            parser.add_argument(
                *flags,
                dest=item.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=description + default,
            )
        else:
            metavar = "[HOST/]OWNER/REPO" if item.name == "repository" else "VALUE"
            parser.add_argument(
                *flags, dest=item.name, default=None, metavar=metavar, help=description + default
            )
    if "inputs" in wanted:
        parser.add_argument(
            "--input",
            dest="input_pairs",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a workflow input (repeatable); added to --inputs",
        )
    if "artifacts" in wanted:
        parser.add_argument(
            "--artifact",
            dest="artifact_list",
            action="append",
            default=[],
            metavar="NAME",
            help="an artifact name or glob to download (repeatable); added to --artifacts",
        )
    _add_connection_options(parser)
    parser.add_argument(
        "--json", action="store_true", help="print one typed JSON object (docs/cli.md, schema_version 2)"
    )


def _speed(text: str) -> float:
    """A --speed: a finite number above 0 (nan or 0 would stop the emulated clock, inf break it)."""
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number above 0, e.g. 30")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors, with the `hint:` line every other error has."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\nhint: {self.prog} --help lists what it takes\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Find or dispatch GitHub Actions workflow runs by head SHA, wait for them and their "
            "checks, and download their artifacts."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add_command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        command = commands.add_parser(name, **kwargs)
        _add_global_options(command, top=False)
        return command

    demo = add_command(
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
        type=_speed,
        default=30.0,
        help="how many times faster than real time the emulated runs go (default: 30)",
    )
    demo.add_argument(
        "--path", default=None, help="where to put downloaded artifacts (default: a temp folder)"
    )
    demo.add_argument(
        "--advance",
        action="store_true",
        help="show a plan in advance mode instead: one short orchestrator job per event, none waiting",
    )
    demo.add_argument(
        "--failure",
        action="store_true",
        help="dispatch a workflow that fails instead, and show its failed job, step, annotations, log tail",
    )

    for name, help_text, description in _JOB_COMMANDS:
        job = add_command(
            name,
            help=help_text,
            description=description,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_job_options(job, name)

    _add_plan_command(add_command)

    action = add_command(
        "action",
        help="run as the GitHub Action (reads INPUT_* from the environment, as the runner passes them)",
        description=(
            "The container action's entrypoint: reads the inputs from INPUT_* environment variables, "
            "writes outputs to $GITHUB_OUTPUT and a job summary to $GITHUB_STEP_SUMMARY."
        ),
    )
    action.add_argument(
        "--post",
        action="store_true",
        help="the post step: cancel runs this step dispatched if the job was cancelled",
    )

    emulator = add_command(
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
    emulator.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="play the scenario's runs this many times faster; timestamps stay on the real clock "
        "(default: 1)",
    )

    completion = add_command(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description=(
            "Print a completion script for your shell, generated from this command line's options. "
            'bash: eval "$(wait-and-dispatch completion bash)" in ~/.bashrc; zsh: write it to '
            "a folder on $fpath as _wait-and-dispatch; fish: write it to "
            "~/.config/fish/completions/wait-and-dispatch.fish (docs/cli.md)."
        ),
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete for")
    return parser


# The action's inputs that are no option of run, checks or download, and the `plan` command's
# options that mean the same.
PLAN_OPTIONS = {
    "plan": "FILE",
    "plan-environment": "--environment",
    "plan-vars": "--var",
    "plan-node": "--node",
    "plan-needs": "--needs",
    "advance": "--advance",
    "summary": "--summary-file",  # the job summary, into a file only when asked
}


def _add_plan_command(add_command: Callable[..., argparse.ArgumentParser]) -> None:
    plan = add_command(
        "plan",
        help="run a plan: a dependency graph of workflows, checks and artifact collections",
        description=(
            "Run a plan file (docs/plans.md): every node starts as soon as its needs succeed, "
            "independent nodes run at once, a failure skips what depends on it. Progress goes to "
            "stderr, the result to stdout. --dry-run only reads; --emit-workflow writes the "
            "equivalent orchestrator workflows instead of running anything."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("file", nargs="?", metavar="FILE", help="the plan file (YAML)")
    plan.add_argument("-e", "--environment", help="apply this environment overlay of the plan")
    plan.add_argument(
        "--var",
        dest="variables",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one of the plan's vars (repeatable)",
    )
    plan.add_argument(
        "-R",
        "--repo",
        "--repository",
        dest="repository",
        metavar="[HOST/]OWNER/REPO",
        help="the repository, unless the plan names it (default: GH_REPO, else GITHUB_REPOSITORY)",
    )
    plan.add_argument(
        "--api-url", help="GitHub REST API URL (default: GH_HOST's, GITHUB_API_URL or api.github.com)"
    )
    plan.add_argument("--sha", help="github.sha for the plan's expressions (default: the ref's head)")
    plan.add_argument(
        "--ref", help="github.ref_name for the plan's expressions (default: the default branch)"
    )
    plan.add_argument(
        "--workdir", default=".", help="folder that artifact paths are relative to (default: .)"
    )
    plan.add_argument("--dry-run", action="store_true", help="only read: say what each node would do")
    plan.add_argument("--check", action="store_true", help="only validate the plan (every environment)")
    _add_connection_options(plan)
    plan.add_argument(
        "--json", action="store_true", help="print one typed JSON object (docs/cli.md, schema_version 2)"
    )
    plan.add_argument("--summary-file", metavar="PATH", help="also write the Markdown summary here")
    plan.add_argument("--node", help="run only this node (as generated orchestrator jobs do)")
    plan.add_argument("--needs", metavar="JSON", help="with --node: the node's needs, as toJSON(needs)")
    plan.add_argument("--schema", action="store_true", help="print the plan file JSON Schema and exit")
    plan.add_argument(
        "--advance",
        action="store_true",
        help="advance mode: do what the event of this workflow run asks (GITHUB_EVENT_NAME, "
        "GITHUB_EVENT_PATH...) and end, never waiting for a run; with --emit-workflow, write the "
        "orchestrator that does it",
    )
    emit = plan.add_argument_group("generating orchestrator workflows")
    emit.add_argument(
        "--emit-workflow",
        action="store_true",
        help="write one orchestrator workflow per environment instead of running the plan",
    )
    emit.add_argument(
        "--output-dir",
        default=".github/workflows",
        metavar="DIR",
        help="where to write them; - prints them (default: .github/workflows)",
    )
    emit.add_argument(
        "--workflows-dir",
        default=".github/workflows",
        metavar="DIR",
        help=(
            "the workflows the plan drives, checked for workflow_dispatch; with --advance, also read "
            "for their names and for the jobs that carry a checks node's checks "
            "(default: .github/workflows)"
        ),
    )
    emit.add_argument("--force", action="store_true", help="overwrite existing orchestrator files")
    emit.add_argument(
        "--advance-sweep",
        metavar="PERIOD",
        help="with --advance: also run every PERIOD (5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, "
        "12h, 24h: a period that divides an hour or a day) to end what is past its timeout when no "
        "event comes (a billed minute per run; docs/plans.md)",
    )
    emit.add_argument(
        "--action-ref",
        metavar="REPO@SHA",
        help=(
            "the `uses:` of this action in the generated jobs (default: this version's release, "
            f"{ACTION_REPOSITORY}@v{__version__} pinned to its commit SHA, looked up through the API)"
        ),
    )


def command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    chosen: argparse.ArgumentParser = commands.choices[command]
    return chosen
