"""`wait-and-dispatch plan FILE`: the command line's edge for plans.

Run a plan (progress on stderr, the result on stdout), preview it (`--dry-run`, over an API that
refuses writes), validate it (`--check`), or write the orchestrator workflows it stands for
(`--emit-workflow`). Errors go up to `cli.handle_errors`, the command line's one handler.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TextIO

from wait_and_dispatch import ACTION_REPOSITORY, __version__
from wait_and_dispatch.cli.invocation import Invocation
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.progress import format_seconds
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans import advance_checks
from wait_and_dispatch.plans.advance_guards import PlanElsewhere, check_start_triggers
from wait_and_dispatch.plans.advance_nodes import runs_inline
from wait_and_dispatch.plans.executor import PlanContext
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeKind, Plan, PlanNode
from wait_and_dispatch.plans.timeline import critical_path, node_times, plan_times
from wait_and_dispatch.session.advance import read_event, repository_path
from wait_and_dispatch.session.connection import api_url_for_host, connect, parse_repository
from wait_and_dispatch.session.edge import run_plan
from wait_and_dispatch.session.plan_step import (
    PlanSettings,
    load,
    plan_repository,
    read_plan_settings,
)
from wait_and_dispatch.session.progress import notice_progress, plan_progress_printer
from wait_and_dispatch.session.summary import RESULT_EMOJI, plan_preview_summary, plan_summary
from wait_and_dispatch.step import results
from wait_and_dispatch.support.errors import GitHubApiError, UsageError
from wait_and_dispatch.support.text import print_line


def run_plan_command(call: Invocation) -> int:
    args, environ, stdout, stderr, output = call.args, call.environ, call.stdout, call.stderr, call.json_out
    if args.schema:
        stdout.write(resources.files("wait_and_dispatch.plans").joinpath("plan.schema.json").read_text())
        return 0
    if not args.file:
        raise UsageError("no plan file given", hint="wait-and-dispatch plan FILE (see docs/plans.md)")
    # gh's `[HOST/]OWNER/REPO`, from --repo or GH_REPO; the runner's GITHUB_REPOSITORY.
    given = args.repository or environ.get("GH_REPO") or ""
    host, repository_name = parse_repository(given) if given.strip() else (None, "")
    repository_name = repository_name or environ.get("GITHUB_REPOSITORY", "")
    settings = read_plan_settings(
        {
            "plan": args.file,
            "plan-environment": args.environment or "",
            "plan-vars": "\n".join(args.variables),
            "plan-node": args.node or "",
            "plan-needs": args.needs or "",
            "repository": repository_name,
            "dry-run": "true" if args.dry_run else "false",
            "advance": "true" if args.advance else "false",
        }
    )
    plan = load(settings)
    if settings.advance:
        # Found before anything runs or is written: a start trigger that is also a node's workflow.
        for loaded in _per_environment(plan, settings) if args.check or args.emit_workflow else [plan]:
            check_start_triggers(loaded, Path(args.workflows_dir))
    if args.summary_file and not Path(args.summary_file).resolve().parent.is_dir():
        # Found out now, not after the plan has run and its result would be lost.
        raise UsageError(
            f"--summary-file {args.summary_file}: its folder does not exist",
            hint="create the folder first, or give another path",
        )
    if args.check:
        return _check(plan, settings, Path(args.workflows_dir), stdout)
    if args.emit_workflow:
        return _emit(plan, settings, args, environ, stdout, stderr)
    repository = plan_repository(plan, settings)
    api_url = args.api_url or (api_url_for_host(host) if host else None)
    connection = connect(
        api_url,
        environ,
        insecure_http=args.insecure_http,
        stderr=stderr,
        host_from_repository=not args.api_url and host is not None,
    )
    if call.secrets is not None:
        call.secrets.add(connection.token)
    shown = [args.node] if args.node else list(plan.nodes)  # `--node`: the one node this step runs
    printer = plan_progress_printer(stderr, environ, shown, quiet=args.quiet)

    if settings.advance:
        settings = replace(settings, event=read_event(environ, plan))

    def context(api: GitHubApi) -> PlanContext:
        if settings.advance:  # the instance says (plans/advance.py): nothing to ask here
            return PlanContext(repository=repository, sha=None, ref_name=None, workdir=Path(args.workdir))
        ref_name = args.ref or workflow_runs.default_branch(api, repository)
        return PlanContext(
            repository=repository,
            sha=args.sha or workflow_runs.resolve_sha(api, repository, ref_name),
            ref_name=ref_name,
            event_name=environ.get("GITHUB_EVENT_NAME") or "workflow_dispatch",
            workdir=Path(args.workdir),
        )

    def say_cancelled(outcomes: Mapping[int, str]) -> None:
        for run_id, what in outcomes.items():
            print_line(f"run {run_id}, which this plan dispatched: {what}", file=stderr)

    report = run_plan(
        connection,
        plan,
        settings,
        printer,
        context=context,
        cancel_dispatched=True,
        on_cancelled=say_cancelled,
        on_notice=(lambda notice: printer.line("api", notice_progress(notice).message))
        if args.debug
        else None,
    )
    if settings.dry_run:
        if args.json:  # stdout is one JSON object, nothing else
            output.write(results.plan_preview(plan.name, report.preview))
        else:
            for name, lines in report.preview:
                print_line(f"{name}:", file=stdout)
                for line in lines:
                    print_line(f"  {line}", file=stdout)
        if args.summary_file:
            Path(args.summary_file).write_text(plan_preview_summary(plan, report.preview), encoding="utf-8")
        return 0
    for advanced in report.advanced:
        for line in advanced.lines:
            print_line(line, file=stderr if args.json or report.result is not None else stdout)
    if report.node is not None:
        node = report.node
        if args.json:
            alone = node_times(node, node.started or 0.0, kind=plan.nodes[node.name].kind)
            fields = results.node_fields(
                node.result.value,
                node.outputs,
                node.reason,
                node.duration,
                None if alone is None else alone.as_json(),
                node.failure,
            )
            output.write(results.plan_node_result(plan.name, node.name, fields, report.error))
        else:
            print_line(f"{node.name}: {node.result.value} {node.reason}".rstrip(), file=stdout)
    elif report.result is not None:
        result = report.result
        if args.summary_file:
            Path(args.summary_file).write_text(
                plan_summary(result, repository=repository.full_name), encoding="utf-8"
            )
        if args.json:
            times = plan_times(result)
            nodes = {
                name: results.node_fields(
                    o.result.value,
                    o.outputs,
                    o.reason,
                    o.duration,
                    times[name].as_json() if name in times else None,
                    o.failure,
                )
                for name, o in result.outcomes.items()
            }
            path = critical_path(result)
            document = results.plan_result(
                plan.name,
                result.conclusion.value,
                result.elapsed,
                nodes,
                result.dispatched,
                report.error,
                None if path is None else path.as_json(),
            )
            output.write(document)
        else:
            width = max(len(name) for name in result.outcomes)
            for name, outcome in result.outcomes.items():
                took = f" in {format_seconds(outcome.duration)}" if outcome.duration is not None else ""
                url = f" {outcome.run_url}" if outcome.run_url else ""
                detail = f" ({outcome.reason})" if outcome.reason else ""
                mark = RESULT_EMOJI[outcome.result]
                print_line(f"{mark} {name:<{width}} {outcome.result.value}{took}{url}{detail}", file=stdout)
            print_line(
                f"plan {plan.name}: {result.conclusion.value} in {format_seconds(result.elapsed)}",
                file=stdout,
            )
    if report.error is not None:
        raise report.error
    return 0


def _per_environment(plan: Plan, settings: PlanSettings) -> list[Plan]:
    """The plan under the environment chosen, else under each one it defines (else as it is):
    what --check validates and --emit-workflow writes a workflow for. The plan already loaded is
    reused, not read again."""
    if settings.environment or not plan.environments:
        return [plan]
    return [
        load_plan(settings.path, environment=environment, variables=settings.variables)
        for environment in plan.environments
    ]


def _check(plan: Plan, settings: PlanSettings, workflows_dir: Path, stdout: TextIO) -> int:
    """Validate the plan as given and under every environment it defines; errors raise. In advance
    mode, say how each node that no run of its own advances is run (`workflows_dir`: the
    checkout's workflows, whose jobs may carry a checks node's checks)."""
    for loaded in _per_environment(plan, settings):
        where = f" ({loaded.environment})" if loaded.environment else ""
        edges = sum(len(node.needs) for node in loaded.nodes.values())
        print_line(f"{settings.path}{where}: ok, {len(loaded.nodes)} nodes, {edges} needs", file=stdout)
        for node in loaded.nodes.values():
            if node.kind is NodeKind.CHECKS:
                print_line(f"  {node.name}: {_checks_wait(node.values)}", file=stdout)
            if settings.advance and runs_inline(node):
                print_line(f"  {node.name}: in advance mode, {_inline_why(node, workflows_dir)}", file=stdout)
    return 0


def _inline_why(node: PlanNode, workflows_dir: Path) -> str:
    """Why an advance orchestrator's run does this node itself rather than on an event."""
    if node.kind is NodeKind.COLLECT:
        return "collected by the orchestrator run that makes it ready"
    if node.kind is NodeKind.CHECKS:
        return advance_checks.check_note(node, workflows_dir)
    return (
        "it dispatches nothing whose completion would be an event (run-id, dispatch: never or "
        "wait: false): the orchestrator run that makes it ready runs it as the action would"
    )


def _checks_wait(values: Mapping[str, object]) -> str:
    """Which workflow runs a checks node waits for, and why (README, "Waiting for checks")."""
    names = values.get("checks") or []
    regex = values.get("checks-regex")
    listed = ", ".join(str(name) for name in names) if isinstance(names, list) else str(names)
    what = " and ".join(filter(None, [listed, f"/{regex}/" if regex else ""])) or "every check"
    return (
        f"waits for {what}; a workflow run in progress on the commit holds it only while its "
        "workflow file has a job that could still report a matching check (a file it cannot read: "
        "10 s at most); never its own run or its own check"
    )


_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def _action_reference(
    args: argparse.Namespace, environ: Mapping[str, str], stderr: TextIO
) -> tuple[str, str | None]:
    """The `uses:` of the generated jobs and the version comment after it.

    By default this version's release, `ACTION_REPOSITORY` at the tag `v<__version__>`, pinned to
    the commit the tag points to (`GET /repos/{owner}/{repo}/commits/tags/{tag}`, the OpenAPI
    description's form for a tag): a moving `@v1` is what zizmor's unpinned-uses audit and
    GitHub's "require actions to be pinned to a full-length commit SHA" policy refuse.
    """
    if args.action_ref:
        ref = args.action_ref.strip()
        # A local action (./) comes with the workflow's own commit: nothing to pin.
        if not ref.startswith("./") and not _FULL_SHA.fullmatch(ref.rpartition("@")[2]):
            print_line(
                f"warning: --action-ref {ref} is not a full commit SHA: the generated `uses:` can move "
                "under you, and zizmor (unpinned-uses) and GitHub's SHA-pinning policy refuse it",
                file=stderr,
            )
        return ref, None
    tag = f"v{__version__}"
    connection = connect(args.api_url, environ, insecure_http=args.insecure_http, stderr=stderr)
    hint = (
        f"pass --action-ref {ACTION_REPOSITORY}@SHA with the commit of the release to use "
        f"(git ls-remote https://github.com/{ACTION_REPOSITORY} {tag})"
    )
    try:
        with GitHubApi(base_url=connection.api_url, token=connection.token, read_only=True) as api:
            sha = workflow_runs.resolve_sha(api, Repository.parse(ACTION_REPOSITORY), f"tags/{tag}")
    except UsageError:  # 404 or 422: no such tag
        raise UsageError(
            f"the action's release tag {tag} does not exist in {ACTION_REPOSITORY} at {connection.api_url}",
            hint=hint,
        ) from None
    except GitHubApiError as exc:
        raise UsageError(
            f"cannot look up the action's release tag {tag} in {ACTION_REPOSITORY}: {exc.message}",
            hint=hint,
        ) from None
    return f"{ACTION_REPOSITORY}@{sha}", tag


def _repository_plan_path(path: Path, environ: Mapping[str, str]) -> str:
    """The plan's path as the orchestrator's checkout sees it, from the repository's root: given
    from a folder below the root, or absolute, it would name no file there. Outside any checkout
    it is written as given."""
    try:
        return repository_path(path, environ.get("GITHUB_WORKSPACE", "").strip())
    except PlanElsewhere:
        return path.as_posix()


def _emit(
    plan: Plan,
    settings: PlanSettings,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    from wait_and_dispatch.plans.emit import check_workflows, emit_workflows
    from wait_and_dispatch.plans.emit_advance import emit_advance_workflows

    plans = _per_environment(plan, settings)
    action_ref, action_version = _action_reference(args, environ, stderr)
    if args.advance_sweep and not settings.advance:
        raise UsageError("--advance-sweep is a trigger of the advance orchestrator", hint="add --advance")
    plan_path = _repository_plan_path(settings.path, environ)
    if settings.advance:
        emitted = emit_advance_workflows(
            plans,
            plan_path=plan_path,
            action_ref=action_ref,
            action_version=action_version,
            workflows_dir=Path(args.workflows_dir),
            sweep=args.advance_sweep,
        )
    else:
        emitted = emit_workflows(
            plans, plan_path=plan_path, action_ref=action_ref, action_version=action_version
        )
    report = stdout
    if args.output_dir == "-":
        report = stderr  # stdout holds the workflows alone, ready to be redirected to files
        for workflow in emitted:
            stdout.write(f"# --- {workflow.file_name}\n{workflow.text}")
    else:
        output = Path(args.output_dir)
        existing = [w.file_name for w in emitted if (output / w.file_name).exists()]
        if existing and not args.force:
            raise UsageError(
                f"{', '.join(existing)} already exist in {output}",
                hint="pass --force to overwrite them, or --output-dir to write elsewhere",
            )
        try:
            output.mkdir(parents=True, exist_ok=True)
            for workflow in emitted:
                (output / workflow.file_name).write_text(workflow.text, encoding="utf-8")
                print_line(f"wrote {output / workflow.file_name}", file=stdout)
        except OSError as exc:
            raise UsageError(
                f"cannot write to --output-dir {output}: {exc.strerror or exc}",
                hint="give a folder you can write to, or - to print the workflows",
            ) from None
    findings = [finding for workflow in emitted for finding in workflow.findings]
    workflows_dir = Path(args.workflows_dir)
    if workflows_dir.is_dir():
        findings += check_workflows(plans, workflows_dir)
    else:
        print_line(
            f"note: {workflows_dir} is not a folder, so the driven workflows were not checked", file=report
        )
    for finding in findings:
        print_line(f"to change: {finding.workflow_file}: {finding.message}", file=report)
        if finding.hint:
            for hint_line in finding.hint.splitlines():
                print_line(f"  {hint_line}", file=report)
    if not findings and workflows_dir.is_dir():
        print_line(f"the workflows in {workflows_dir} need no change", file=report)
    return 0
