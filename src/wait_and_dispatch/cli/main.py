"""The command line: `wait-and-dispatch SUBCOMMAND ...`.

An edge, like the action: it parses arguments, reads the environment, prints, and turns the
core's typed errors into one line, a hint and a documented exit code (see `ExitCode`). Heavy
modules (PyGithub, werkzeug, the emulator) are imported only by the subcommand that needs them,
so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TextIO, cast

from wait_and_dispatch import ACTION_REPOSITORY, __version__
from wait_and_dispatch.session.boundary import RedactingStream, Secrets, traceback_lines, unexpected
from wait_and_dispatch.session.signals import interrupt_on_termination
from wait_and_dispatch.support.errors import (
    DispatchInterrupted,
    ExitCode,
    InternalError,
    WaitAndDispatchError,
)
from wait_and_dispatch.support.text import print_line

if TYPE_CHECKING:  # imported lazily at run time, so that --help stays fast
    from wait_and_dispatch.cli.invocation import Invocation
    from wait_and_dispatch.session.json_output import JsonOutput
    from wait_and_dispatch.step.run import JobReport

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
        "--json", action="store_true", help="print one typed JSON object (docs/cli.md, schema_version 1)"
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
        "--json", action="store_true", help="print one typed JSON object (docs/cli.md, schema_version 1)"
    )
    plan.add_argument("--summary-file", metavar="PATH", help="also write the Markdown summary here")
    plan.add_argument("--node", help="run only this node (as generated orchestrator jobs do)")
    plan.add_argument("--needs", metavar="JSON", help="with --node: the node's needs, as toJSON(needs)")
    plan.add_argument("--schema", action="store_true", help="print the plan file JSON Schema and exit")
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
        help="the workflows the plan drives, checked for workflow_dispatch (default: .github/workflows)",
    )
    emit.add_argument("--force", action="store_true", help="overwrite existing orchestrator files")
    emit.add_argument(
        "--action-ref",
        metavar="REPO@SHA",
        help=(
            "the `uses:` of this action in the generated jobs (default: this version's release, "
            f"{ACTION_REPOSITORY}@v{__version__} pinned to its commit SHA, looked up through the API)"
        ),
    )


@contextlib.contextmanager
def handle_errors(
    stderr: TextIO, debug: bool, *, in_actions: bool = False, secrets: Secrets | None = None
) -> Iterator[list[int]]:
    """Turn every error into one line, a hint and an exit code: the CLI's only handler. One that
    is none of ours is an `InternalError` (exit code 70); the traceback shows with --debug only."""
    status = [int(ExitCode.SUCCESS)]
    try:
        yield status
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, DispatchInterrupted):  # says how to find the run it may have started
            message, hint = interrupt.message, interrupt.hint
            if secrets is not None:
                message, hint = secrets.redact(message), secrets.redact(hint)
            print_line(f"interrupted: {message}", file=stderr)
            print_line(f"hint: {hint}", file=stderr)
        else:
            print_line("interrupted", file=stderr)
        status[0] = int(ExitCode.INTERRUPTED)
    except Exception as caught:  # noqa: BLE001 - the one boundary: every error ends here, reported
        error = caught if isinstance(caught, WaitAndDispatchError) else unexpected(caught, secrets)
        if debug:
            for line in traceback_lines(in_actions=in_actions, secrets=secrets):
                stderr.write(line + "\n")
        for detail in error.details:
            print_line(detail, file=stderr)
        print_line(f"error: {error.message}", file=stderr)
        if error.hint:
            print_line(f"hint: {error.hint}", file=stderr)
        status[0] = int(error.exit_code)


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    chosen: argparse.ArgumentParser = commands.choices[command]
    return chosen


class ActionEdge(Protocol):
    """The action edge's one entry (`action.main.run_action`), handed in by `wait_and_dispatch.program`:
    the command line never imports the action, and the action never imports the command line."""

    def __call__(self, environ: Mapping[str, str], *, stdout: TextIO, post: bool = False) -> int: ...


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    run_action: ActionEdge | None = None,
) -> int:
    """Run one command. `run_action` is the body of the `action` command (the Docker image's entry
    point); `wait_and_dispatch.program` passes it, and without it the command is refused."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the command's parser, so that its usage and --help are the ones shown
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    secrets = Secrets(os.environ.get(name) for name in secret_variables())
    # The runner masks the action's log itself (`::add-mask::`, which redacting would break); the
    # emulator prints the tokens of its scenario on purpose.
    if args.command not in ("action", "emulator"):
        out, err = _redacted(out, secrets), _redacted(err, secrets)
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    with handle_errors(err, args.debug, in_actions=in_actions, secrets=secrets) as status:
        if args.command == "demo":
            from wait_and_dispatch.cli.demo import run_demo

            status[0] = run_demo(speed=args.speed, path=args.path, out=out)
        elif args.command in ("run", "checks", "download", "plan"):
            from wait_and_dispatch.cli.invocation import Invocation
            from wait_and_dispatch.session.json_output import json_output

            command, as_json = run_command, args.json
            if args.command == "plan":
                from wait_and_dispatch.cli.plan_command import run_plan_command as command

                # --check, --emit-workflow and --schema print text, with or without --json.
                as_json = args.json and not (args.check or args.emit_workflow or args.schema)
            with interrupt_on_termination(), json_output(args.command, out, enabled=as_json) as json_out:
                status[0] = command(Invocation(args, os.environ, out, err, json_out, secrets))
        elif args.command == "action":
            if run_action is None:
                raise InternalError("the action command was started without the action edge")
            status[0] = run_action(os.environ, stdout=out, post=args.post)
        elif args.command == "emulator":
            from wait_and_dispatch.emulator.server import serve_forever

            serve_forever(
                scenario_path=args.scenario,
                host=args.host,
                port=args.port,
                blob_port=args.blob_port,
                speed=args.speed,
                print_fn=lambda line: print_line(line, file=out, flush=True),
            )
        elif args.command == "completion":
            from wait_and_dispatch.cli.completion import completion_script

            out.write(completion_script(args.shell, parser))
    return status[0]


def secret_variables() -> tuple[str, ...]:
    """The environment variables that may hold a secret: every token variable the command line
    reads, and the action's token and App key inputs."""
    from wait_and_dispatch.session.connection import ENTERPRISE_TOKEN_VARIABLES, GITHUB_COM_TOKEN_VARIABLES
    from wait_and_dispatch.step.catalogue import find_input

    inputs = (find_input(name).env_names for name in ("github-token", "app-private-key"))
    return (
        *GITHUB_COM_TOKEN_VARIABLES,
        *ENTERPRISE_TOKEN_VARIABLES,
        *(name for names in inputs for name in names),
    )


def _redacted(stream: TextIO, secrets: Secrets) -> TextIO:
    return cast(TextIO, RedactingStream(stream, secrets))


def command_values(args: argparse.Namespace) -> dict[str, str]:
    """The command's options as input values, keyed by the action's input names."""
    import json

    from wait_and_dispatch.engine.inputs import parse_inputs, parse_key_values
    from wait_and_dispatch.step.catalogue import INPUTS

    values: dict[str, str] = {}
    for item in INPUTS:
        value = getattr(args, item.name, None)
        if value is None:
            continue
        values[item.name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    input_pairs = getattr(args, "input_pairs", [])
    if input_pairs:
        merged = {**parse_inputs(values.get("inputs")), **parse_key_values(input_pairs)}
        values["inputs"] = json.dumps(merged)
    artifact_list = getattr(args, "artifact_list", [])
    if artifact_list:
        values["artifacts"] = "\n".join([values.get("artifacts", ""), *artifact_list]).strip()
    if args.command == "download" and "dispatch" not in values:
        values["dispatch"] = "never"
    if args.command == "download" and not values.get("artifacts", "").strip():
        from wait_and_dispatch.support.errors import UsageError

        # Never every artifact by default: they would replace files of the same names in --path.
        raise UsageError(
            "download needs the artifacts to download",
            hint="name them with --artifact NAME (repeatable; a glob such as 'dist-*', or '*' for all)",
        )
    return values


def typed_options(args: argparse.Namespace) -> dict[str, str]:
    """The inputs given only through their repeatable option (`--artifact`, `--input`), by that
    option: a message about them names what the user typed."""
    typed: dict[str, str] = {}
    if getattr(args, "artifact_list", []) and getattr(args, "artifacts", None) is None:
        typed["artifacts"] = "--artifact"
    if getattr(args, "input_pairs", []) and getattr(args, "inputs", None) is None:
        typed["inputs"] = "--input"
    return typed


def run_command(call: Invocation) -> int:
    """`run`, `checks`, `download`: the job over the engine, progress on stderr, the result on stdout."""
    from wait_and_dispatch.session.connection import connect
    from wait_and_dispatch.session.edge import run_step
    from wait_and_dispatch.session.progress import ProgressPrinter, notice_progress, progress_stream
    from wait_and_dispatch.step.settings import COMMAND_LINE, read_settings

    args, environ, stdout, stderr = call.args, call.environ, call.stdout, call.stderr
    values = command_values(args)
    api_url, host_from_repository = _repository(values, environ, stderr, quiet=args.quiet)
    settings = read_settings(
        values,
        default_sha=values.get("sha"),
        checks_only=args.command == "checks",
        wording=COMMAND_LINE.as_typed(**typed_options(args)),
    )
    connection = connect(
        api_url,
        environ,
        insecure_http=args.insecure_http,
        stderr=stderr,
        host_from_repository=host_from_repository,
    )
    if call.secrets is not None:
        call.secrets.add(connection.token)  # also one `gh auth token` printed
    printer = ProgressPrinter(progress_stream(stderr, quiet=args.quiet))

    def print_report(report: JobReport, api_url: str) -> JobReport:
        _print_report(args, report, stdout, stderr, call.json_out, dry_run=settings.dry_run)
        return report

    report = run_step(
        connection,
        settings,
        printer,
        report=print_report,
        on_cancelled=lambda outcomes: _say_cancelled(outcomes, stderr),
        on_notice=(lambda notice: printer(notice_progress(notice))) if args.debug else None,
    )
    if report.error is not None:
        raise report.error
    return 0


def _repository(
    values: dict[str, str], environ: Mapping[str, str], stderr: TextIO, *, quiet: bool
) -> tuple[str | None, bool]:
    """Put the repository in `values` as gh finds it (`resolve_repository`), saying where it came
    from when it was not given; the API URL: --api-url, else that of a host the repository names,
    and whether it is the latter (no github.com token goes to such a host: `resolve_connection`)."""
    from wait_and_dispatch.session.connection import api_url_for_host, resolve_repository
    from wait_and_dispatch.support.errors import UsageError

    choice = resolve_repository(values.get("repository"), environ)
    if choice is None:
        raise UsageError(
            "no repository given",
            hint="pass --repo OWNER/REPO (or set GH_REPO), or run it in a clone of the repository",
        )
    values["repository"] = choice.name
    if choice.said and not quiet:
        print_line(choice.said, file=stderr)
    if values.get("api-url") or choice.host is None:
        return values.get("api-url"), False
    # A remote's host is only a guess: the API named in the environment wins over it.
    if choice.said and (environ.get("GH_HOST") or environ.get("GITHUB_API_URL")):
        return None, False
    return api_url_for_host(choice.host), True


def _print_report(
    args: argparse.Namespace,
    report: JobReport,
    stdout: TextIO,
    stderr: TextIO,
    json_out: JsonOutput | None,
    *,
    dry_run: bool,
) -> None:
    from wait_and_dispatch.step import results  # after the requests: not at start-up

    if dry_run:
        if args.json:  # stdout is one JSON object, nothing else
            _write_json(json_out, stdout, results.job_preview(args.command, report.preview))
        else:
            for line in report.preview:
                print_line(line, file=stdout)
        return
    if args.json:
        _write_json(json_out, stdout, results.job_result(args.command, report.outputs, report.error))
    elif report.checks is not None:  # checks fields only: there is no run
        print_line(f"head-sha: {report.checks.sha}", file=stdout)
        print_line(f"checks: {report.outputs['checks']}", file=stdout)
        if report.checks.missing:
            print_line(f"missing-checks: {', '.join(report.checks.missing)}", file=stdout)
    else:
        for name, value in report.outputs.items():
            if value and name not in ("result", "checks"):
                print_line(f"{name}: {value}", file=stdout)
    for note in report.notes:
        print_line(f"note: {note}", file=stderr)
    for warning in report.warnings:
        print_line(f"warning: {warning}", file=stderr)


def _write_json(json_out: JsonOutput | None, stdout: TextIO, document: Mapping[str, Any]) -> None:
    from wait_and_dispatch.session.json_output import JsonOutput

    (json_out or JsonOutput(stdout, enabled=True)).write(document)


def _say_cancelled(outcomes: Mapping[int, str], stderr: TextIO) -> None:
    """Interrupted: what became of each run this command dispatched (cancel-on-cancel)."""
    for run_id, outcome in outcomes.items():
        if outcome == "cancelled":
            print_line(f"cancelled run {run_id}, which this command dispatched", file=stderr)
        elif outcome == "already completed":
            print_line(f"run {run_id}, which this command dispatched, had already completed", file=stderr)
        else:
            print_line(f"could not cancel run {run_id}: {outcome}", file=stderr)
