"""Reading the workflows of a scenario's repository: triggers, inputs, jobs, artifacts, cases
(conditions on the run's context), and the runs that exist before the first request."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from wait_and_dispatch.emulator.scenario_reader import (
    Reader,
    parse_annotations,
    parse_conclusions,
    parse_lines,
    parse_sha,
    parse_template,
    parse_timeline,
    scenario_error,
    type_name,
)
from wait_and_dispatch.emulator.specs import (
    INPUT_TYPES,
    STEP_CONDITIONS_AFTER_FAILURE,
    WORKFLOW_RUN_TYPES,
    WORKFLOW_STATES,
    ArtifactSpec,
    CaseSpec,
    InputSpec,
    JobSpec,
    RunSpec,
    StepSpec,
    TimelineSpec,
    WorkflowRunTrigger,
    WorkflowSpec,
    ZipEntry,
    first_script_line,
)
from wait_and_dispatch.support.expressions import ExpressionError, check_template, function_calls, unwrap
from wait_and_dispatch.support.github_vocabulary import CHECK_CONCLUSIONS
from wait_and_dispatch.support.input_text import StructuredValueError, input_text


def _parse_triggers(value: object, path: str) -> dict[str, tuple[str, ...] | None]:
    if isinstance(value, str):
        return {value: None}
    if isinstance(value, list):
        if not all(isinstance(x, str) for x in value):
            raise scenario_error(f"scenario: {path}: expected event names")
        return {str(x): None for x in value}
    if isinstance(value, Mapping):
        triggers: dict[str, tuple[str, ...] | None] = {}
        for event, spec in value.items():
            if spec is None:
                triggers[str(event)] = None
            elif event == "schedule" and isinstance(spec, list):
                # `schedule: [{cron: ...}]`: the crons stand where other events keep their types.
                crons = [x.get("cron") if isinstance(x, Mapping) else None for x in spec]
                if not all(isinstance(c, str) for c in crons):
                    raise scenario_error(f"scenario: {path}.schedule: expected a list of {{cron: ...}}")
                triggers["schedule"] = tuple(str(c) for c in crons)
            elif isinstance(spec, list):
                triggers[str(event)] = tuple(str(x) for x in spec)
            elif isinstance(spec, Mapping):
                # `repository_dispatch: {types: [deploy]}` as in a workflow file; other keys
                # (branches, inputs...) do not change what the emulator does.
                types = spec.get("types")
                triggers[str(event)] = None if types is None else tuple(str(x) for x in types)
            else:
                raise scenario_error(f"scenario: {path}.{event}: expected a list of types or a mapping")
        return triggers
    raise scenario_error(f"scenario: {path}: expected an event, a list of events or a mapping")


def _parse_workflow_run(value: object, path: str) -> WorkflowRunTrigger | None:
    """`on.workflow_run: {workflows: [Build], types: [completed], branches: [main]}`."""
    if isinstance(value, Mapping):
        present, spec = "workflow_run" in value, value.get("workflow_run")
    else:
        present, spec = value == "workflow_run" or (isinstance(value, list) and "workflow_run" in value), None
    if not present:
        return None
    if not isinstance(spec, Mapping):
        raise scenario_error(
            f"scenario: {path}.workflow_run: name the workflows listened to (workflows: [...])"
        )
    r = Reader(spec, f"{path}.workflow_run")

    def names(key: str) -> tuple[str, ...] | None:
        return tuple(str(x) for x in r.items(key)) if r.has(key) else None

    trigger = WorkflowRunTrigger(
        workflows=names("workflows") or (),
        types=names("types"),
        branches=names("branches"),
        branches_ignore=names("branches-ignore"),
    )
    r.done()
    if not trigger.workflows:
        raise scenario_error(f"scenario: {path}.workflow_run.workflows: name at least one workflow")
    for kind in trigger.types or ():
        if kind not in WORKFLOW_RUN_TYPES:
            raise scenario_error(
                f"scenario: {path}.workflow_run.types: {kind!r} is not one of {', '.join(WORKFLOW_RUN_TYPES)}"
            )
    if trigger.branches is not None and trigger.branches_ignore is not None:
        # GitHub refuses both filters on one event (workflow syntax, `on.<event>.branches`).
        raise scenario_error(f"scenario: {path}.workflow_run: use branches or branches-ignore, not both")
    return trigger


def _parse_input(name: str, r: Reader) -> InputSpec:
    type_ = r.choice("type", INPUT_TYPES, "string")
    default_raw = r.raw("default")
    default = None if default_raw is None else _input_text(default_raw, r.key_path("default"))
    options = tuple(str(x) for x in r.items("options"))
    r.raw("description")
    spec = InputSpec(
        name=name, type=type_, required=r.flag("required", False), default=default, options=options
    )
    if type_ == "choice" and not options:
        raise scenario_error(f"scenario: {r.path}.options: a choice input needs options")
    r.done()
    return spec


def _input_text(value: object, path: str) -> str:
    """An input's value as GitHub holds it: text (`support.input_text`); a list or a mapping is
    no input value."""
    try:
        return input_text(value)
    except StructuredValueError:
        raise scenario_error(
            f"scenario: {path}: expected text, a number or a boolean, got {type_name(value)}"
        ) from None


def _parse_jobs(items: list[Any], path: str) -> tuple[JobSpec, ...]:
    jobs = []
    for i, item in enumerate(items):
        r = Reader(item, f"{path}[{i}]")
        steps_raw = r.items("steps") or ["Set up job", "Run", "Complete job"]
        details = tuple(_parse_step(s, f"{r.key_path('steps')}[{j}]") for j, s in enumerate(steps_raw))
        steps = tuple(step.name for step in details)
        conclusion = r.opt_text("conclusion")
        if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
            raise scenario_error(
                f"scenario: {r.key_path('conclusion')}: {conclusion!r} is not a job conclusion"
            )
        fails_at = _failing_step(r, steps)
        if fails_at is not None:
            if conclusion not in (None, "failure"):
                raise scenario_error(
                    f"scenario: {r.key_path('fails_at')}: a job that fails at a step concludes failure, "
                    f"not {conclusion!r}"
                )
            conclusion = "failure"
        duration = r.raw("duration")
        jobs.append(
            JobSpec(
                name=parse_template(r.text("name", required=True), r.key_path("name")) or "",
                steps=steps,
                start=r.nonneg("start", 0.0),
                duration=None if duration is None else r.nonneg("duration", 0.0),
                conclusion=conclusion,
                labels=tuple(str(x) for x in r.items("labels")) or ("ubuntu-latest",),
                fails_at=fails_at,
                annotations=parse_annotations(r.items("annotations"), r.key_path("annotations")),
                log=parse_lines(r.raw("log"), r.key_path("log")),
                step_details=details if any(isinstance(s, Mapping) for s in steps_raw) else (),
            )
        )
        r.done()
    return tuple(jobs)


def _parse_step(item: object, path: str) -> StepSpec:
    """A step: its name, or a mapping with its `run` or `uses`, `if` and `log` (its output). A
    step without a name is named as GitHub names it, `Run <first line of run>` or `Run <uses>`
    (the recording `WorkflowRun.test_jobs`: "Run actions/checkout@v2")."""
    if not isinstance(item, Mapping):
        return StepSpec(parse_template(str(item), path) or "")
    r = Reader(item, path)
    run, uses = r.opt_text("run"), r.opt_text("uses")
    if run is not None and uses is not None:
        raise scenario_error(f"scenario: {path}: a step has `run` or `uses`, not both")
    condition = r.opt_text("if")
    if condition is not None:
        condition = unwrap(condition)
        if condition not in STEP_CONDITIONS_AFTER_FAILURE | {"success()"}:
            allowed = ", ".join(sorted(STEP_CONDITIONS_AFTER_FAILURE | {"success()"}))
            raise scenario_error(f"scenario: {r.key_path('if')}: the emulator knows {allowed}")
    named = "Run " + first_script_line(run) if run is not None else f"Run {uses}" if uses else None
    name = parse_template(r.opt_text("name") or named, r.key_path("name"))
    if not name:
        raise scenario_error(f"scenario: {path}: a step needs a name, `run` or `uses`")
    step = StepSpec(name, run, uses, condition, parse_lines(r.raw("log"), r.key_path("log")))
    r.done()
    return step


def _failing_step(r: Reader, steps: tuple[str, ...]) -> int | None:
    """`fails_at`: the name of one of the job's steps, which fails it."""
    name = r.opt_text("fails_at")
    if name is None:
        return None
    if name not in steps:
        raise scenario_error(f"scenario: {r.key_path('fails_at')}: {name!r} is not one of the job's steps")
    return steps.index(name)


# What GitHub refuses in an artifact's name at upload, also for an `archive: false` one whose name is
# its file's (actions/toolkit, packages/artifact/src/internal/upload/path-and-artifact-name-
# validation.ts: `validateArtifactName`): a name that could leave the download folder never exists.
_NAME_REFUSED = {
    '"': "a double quote",
    ":": "a colon",
    "<": "a less-than sign",
    ">": "a greater-than sign",
    "|": "a vertical bar",
    "*": "an asterisk",
    "?": "a question mark",
    "\r": "a carriage return",
    "\n": "a line feed",
    "\\": "a backslash",
    "/": "a forward slash",
}


def _artifact_name(value: str, path: str) -> str:
    """An artifact's name as the scenario gives it, refused as GitHub refuses it at upload. The
    `${{ }}` parts are rendered per run; the text around them is checked."""
    name = parse_template(value, path) or ""
    literal = re.sub(r"\$\{\{.*?\}\}", "x", name, flags=re.DOTALL)
    if not literal.strip():
        raise scenario_error(f"scenario: {path}: an artifact's name must not be empty")
    for character, what in _NAME_REFUSED.items():
        if character in literal:
            raise scenario_error(
                f"scenario: {path}: {name!r} contains {what} ({character!r}), which GitHub refuses in "
                "an artifact's name at upload"
            )
    return name


def _parse_artifacts(items: list[Any], path: str) -> tuple[ArtifactSpec, ...]:
    artifacts = []
    for i, item in enumerate(items):
        r = Reader(item, f"{path}[{i}]")
        # Names and contents may hold `${{ }}`, rendered per run (`metrics-${{ inputs.attempt }}`).
        files = {
            str(k): (parse_template(str(v), f"{r.key_path('files')}.{k}") or "").encode()
            for k, v in r.mapping("files").items()
        }
        entries = []
        for j, entry in enumerate(r.items("entries")):
            er = Reader(entry, f"{r.key_path('entries')}[{j}]")
            entries.append(
                ZipEntry(
                    name=er.text("name", required=True),
                    content=er.text("content", "").encode(),
                    symlink=er.opt_text("symlink"),
                )
            )
            er.done()
        size = r.integer("size", None)
        if size is not None and size < 0:
            raise scenario_error(f"scenario: {r.key_path('size')}: must not be negative")
        if size is not None and (files or entries):
            raise scenario_error(f"scenario: {r.path}: `size` cannot be combined with files or entries")
        archive = r.flag("archive", True)
        content = (parse_template(r.text("content", ""), r.key_path("content")) or "").encode()
        if r.has("content_base64"):  # binary content: a jar, an image
            if r.has("content"):
                raise scenario_error(f"scenario: {r.path}: give `content` or `content_base64`, not both")
            try:
                content = base64.b64decode(r.text("content_base64"), validate=True)
            except ValueError:
                raise scenario_error(f"scenario: {r.key_path('content_base64')}: not base64") from None
        content_type = r.opt_text("content_type")
        given = r.has("content") or r.has("content_base64")
        if archive and (given or content_type is not None):
            raise scenario_error(
                f"scenario: {r.path}: `content`, `content_base64` and `content_type` are for "
                "`archive: false` artifacts"
            )
        if not archive and (files or entries):
            raise scenario_error(
                f"scenario: {r.path}: an `archive: false` artifact is one file: give `content` or `size`, "
                "not files or entries"
            )
        if not archive and size is not None and given:
            raise scenario_error(f"scenario: {r.path}: `size` cannot be combined with content")
        artifacts.append(
            ArtifactSpec(
                archive=archive,
                content=content,
                content_type=content_type,
                name=_artifact_name(r.text("name", required=True), r.key_path("name")),
                files=files,
                entries=tuple(entries),
                size=size,
                retention_days=r.nonneg("retention_days", 90.0),
                expired=r.flag("expired", False),
                digest=r.opt_text("digest"),
                digest_set=r.has("digest"),
            )
        )
        r.done()
    return tuple(artifacts)


def parse_workflow(r: Reader) -> WorkflowSpec:
    path = r.text("path", required=True)
    if not path.startswith(".github/workflows/") or not path.endswith((".yml", ".yaml")):
        raise scenario_error(f"scenario: {r.key_path('path')}: expected .github/workflows/NAME.yml")
    inputs_reader = r.mapping("inputs")
    inputs = tuple(
        _parse_input(str(name), Reader(spec or {}, f"{r.key_path('inputs')}.{name}"))
        for name, spec in inputs_reader.items()
    )
    timeline = parse_timeline(r.mapping("timeline"), r.key_path("timeline"))
    cases = tuple(
        _parse_case(Reader(case, f"{r.key_path('cases')}[{i}]"), timeline)
        for i, case in enumerate(r.items("cases"))
    )
    on = r.raw("on", ["workflow_dispatch"])
    spec = WorkflowSpec(
        path=path,
        name=r.text("name", path.rsplit("/", 1)[-1]),
        id=r.integer("id", None),
        state=r.choice("state", WORKFLOW_STATES, "active"),
        triggers=_parse_triggers(on, r.key_path("on")),
        workflow_run=_parse_workflow_run(on, r.key_path("on")),
        held=r.flag("held", False),
        run_name=parse_template(r.opt_text("run_name"), r.key_path("run_name")),
        inputs=inputs,
        timeline=timeline,
        conclusions=parse_conclusions(r.raw("conclusion", "success"), r.key_path("conclusion")),
        jobs=_parse_jobs(r.items("jobs"), r.key_path("jobs")),
        artifacts=_parse_artifacts(r.items("artifacts"), r.key_path("artifacts")),
        cases=cases,
    )
    r.done()
    return spec


# The functions a case's `if` may call: the expression language's own. Status functions
# (`always()`, `success()`...) belong to jobs, which a case is not.
_CONDITION_FUNCTIONS = ("contains", "startsWith", "endsWith", "format", "join", "toJSON", "fromJSON")


def _parse_condition(r: Reader) -> str:
    """An `if:` as GitHub reads one: `${{ expr }}` or the bare expression."""
    where = r.key_path("if")
    try:
        text = unwrap(r.text("if", required=True))
        check_template("${{ " + text + " }}")
        calls = function_calls(text)
    except ExpressionError as error:
        raise scenario_error(f"scenario: {where}: {error}") from error
    known = {name.lower() for name in _CONDITION_FUNCTIONS}
    for name in calls:
        if name.lower() not in known:
            raise scenario_error(
                f"scenario: {where}: unknown function {name}() (known: {', '.join(_CONDITION_FUNCTIONS)})"
            )
    return text


def _parse_case(r: Reader, timeline: TimelineSpec) -> CaseSpec:
    condition = _parse_condition(r)
    conclusion = r.raw("conclusion")
    case_timeline = r.raw("timeline")
    jobs = r.raw("jobs")
    artifacts = r.raw("artifacts")
    spec = CaseSpec(
        condition=condition,
        conclusions=None if conclusion is None else parse_conclusions(conclusion, r.key_path("conclusion")),
        # A case's timeline changes only the phases it names; the others stay the workflow's.
        timeline=None
        if case_timeline is None
        else parse_timeline(case_timeline, r.key_path("timeline"), timeline),
        jobs=None if jobs is None else _parse_jobs(r.items("jobs"), r.key_path("jobs")),
        artifacts=None
        if artifacts is None
        else _parse_artifacts(r.items("artifacts"), r.key_path("artifacts")),
    )
    r.done()
    return spec


def parse_run(r: Reader) -> RunSpec:
    timeline = r.raw("timeline")
    conclusion = r.raw("conclusion")
    artifacts = r.raw("artifacts")
    head_sha = r.raw("head_sha")
    inputs = r.mapping("inputs")
    run_attempt = r.integer("run_attempt", 1) or 1
    if run_attempt < 1:
        raise scenario_error(f"scenario: {r.key_path('run_attempt')}: must be at least 1")
    spec = RunSpec(
        workflow=r.text("workflow", required=True),
        event=r.text("event", "push"),
        head_sha=None if head_sha is None else parse_sha(head_sha, r.key_path("head_sha")),
        head_branch=r.opt_text("head_branch"),
        created=r.number("created", 0.0),
        timeline=None if timeline is None else parse_timeline(timeline, r.key_path("timeline")),
        conclusions=None if conclusion is None else parse_conclusions(conclusion, r.key_path("conclusion")),
        run_attempt=run_attempt,
        actor=r.text("actor", "octocat"),
        head_repository=r.opt_text("head_repository"),
        inputs={str(k): _input_text(v, f"{r.key_path('inputs')}.{k}") for k, v in inputs.items()},
        artifacts=None
        if artifacts is None
        else _parse_artifacts(r.items("artifacts"), r.key_path("artifacts")),
        display_title=r.opt_text("display_title"),
    )
    r.done()
    return spec
