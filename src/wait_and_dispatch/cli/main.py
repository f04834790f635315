"""The command line: `wait-and-dispatch SUBCOMMAND ...`.

An edge, like the action: it parses arguments, reads the environment, prints, and turns the
core's typed errors into one line, a hint and a documented exit code (see `ExitCode`). Heavy
modules (PyGithub, werkzeug, the emulator) are imported only by the subcommand that needs them,
so `--help` stays fast.

`main` hands each command to its body: the parser is `parser.py`'s, the errors end in
`exit_codes.py`'s `handle_errors`, `run`/`checks`/`download` are `job_command.py`, `plan` is
`plan_command.py`, `demo` is `demo.py` and `completion` is `completion.py`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Protocol, TextIO, cast

from wait_and_dispatch.cli.exit_codes import handle_errors
from wait_and_dispatch.cli.parser import build_parser, command_parser
from wait_and_dispatch.session.boundary import RedactingStream, Secrets
from wait_and_dispatch.session.signals import interrupt_on_termination
from wait_and_dispatch.support.errors import InternalError
from wait_and_dispatch.support.text import print_line


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
        command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    secrets = Secrets(os.environ.get(name) for name in secret_variables())
    # The runner masks the action's log itself (`::add-mask::`, which redacting would break); the
    # emulator prints the tokens of its scenario on purpose.
    if args.command not in ("action", "emulator"):
        out, err = _redacted(out, secrets), _redacted(err, secrets)
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    with handle_errors(err, args.debug, in_actions=in_actions, secrets=secrets) as status:
        if args.command == "demo":
            from wait_and_dispatch.cli.demo import run_advance_demo, run_demo

            if args.advance:
                status[0] = run_advance_demo(speed=args.speed, out=out)
            else:
                status[0] = run_demo(speed=args.speed, path=args.path, failure=args.failure, out=out)
        elif args.command in ("run", "checks", "download", "plan"):
            from wait_and_dispatch.cli.invocation import Invocation
            from wait_and_dispatch.cli.job_command import run_command
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
