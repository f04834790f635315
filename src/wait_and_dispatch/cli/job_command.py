"""`run`, `checks` and `download`: the options read as the action's inputs, the step run through
the session, and its report printed (progress on stderr, the result on stdout)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from wait_and_dispatch.support.text import print_line

if TYPE_CHECKING:  # imported lazily at run time, so that --help stays fast
    from wait_and_dispatch.cli.invocation import Invocation
    from wait_and_dispatch.session.json_output import JsonOutput
    from wait_and_dispatch.step.run import JobReport


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
    from wait_and_dispatch.session.progress import notice_progress, progress_printer
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
    printer = progress_printer(stderr, environ, quiet=args.quiet)

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
