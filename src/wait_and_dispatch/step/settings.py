"""A step's settings: the input values of one step (the action's input names) read into typed
`JobSettings`, with the conflicts between inputs refused before anything is sent.

The action reads the values from `INPUT_*`, the command line from its options, a plan from a
node; all hand this module the same mapping of input name to text, so a value means the same in
every place. No I/O: `step.run` runs the settings through the engine.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.inputs import json_object, parse_duration, parse_inputs
from wait_and_dispatch.engine.requests import (
    DEFAULT_CHECK_CONCLUSIONS,
    DEFAULT_RUN_CONCLUSIONS,
    ArtifactSelection,
    CallerJob,
    CheckSelection,
    DispatchPolicy,
    RunRequest,
    WaitOptions,
    parse_conclusions,
)
from wait_and_dispatch.step.catalogue import INPUTS
from wait_and_dispatch.support.errors import UsageError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}
_IF_MISSING = ("fail", "warn", "ignore")  # if-checks-missing, if-artifacts-missing: the first is the default
# Durations that cannot be 0: a wait that ends before it starts, or polls without a pause.
_POSITIVE_DURATIONS = frozenset({"timeout", "poll-interval", "max-poll-interval"})


@dataclass(frozen=True)
class Conflict:
    """Two inputs that cannot be given together: one would silently override the other."""

    first: str
    second: str
    why: str
    hint: str
    second_value: str | None = None  # only this value of `second` conflicts (dispatch: always)
    unless: tuple[str, ...] = ()  # no conflict when one of these is given too


_ONE_THING = "a step waits for one thing"
_TWO_STEPS = "use two steps: one for the workflow run, one for the checks"
# Every pair of inputs the job would otherwise reinterpret without a word, each refused:
# the first input decides what the job does, and the second would be ignored. `run-id` with
# `workflow` is not here: peers (dawidd6/action-download-artifact) take both, run-id winning, and
# docs/MIGRATION.md promises the same; `ignore-checks` alone waits for every other check (lewagon);
# `fail-fast` is on by default, so it is never "given" alone.
CONFLICTS: tuple[Conflict, ...] = (
    Conflict(
        "run-id",
        "event-type",
        "run-id names the run, so no repository_dispatch is sent",
        "give run-id to use that run, or event-type to dispatch one, not both",
    ),
    Conflict(
        "run-id",
        "dispatch",
        "run-id names an existing run, so nothing is dispatched",
        "leave dispatch out with run-id, or give workflow instead of run-id to dispatch a new run",
        second_value="always",
    ),
    Conflict(
        "run-id",
        "artifacts-from-branch",
        "run-id names the run the artifacts come from",
        "give run-id or artifacts-from-branch, not both",
    ),
    Conflict("run-id", "checks", f"{_ONE_THING}: the run named by run-id, or check runs", _TWO_STEPS),
    Conflict("run-id", "checks-regex", f"{_ONE_THING}: the run named by run-id, or check runs", _TWO_STEPS),
    Conflict("workflow", "checks", f"{_ONE_THING}: a workflow run or check runs", _TWO_STEPS),
    Conflict("workflow", "checks-regex", f"{_ONE_THING}: a workflow run or check runs", _TWO_STEPS),
    Conflict("event-type", "checks", f"{_ONE_THING}: a dispatched run or check runs", _TWO_STEPS),
    Conflict("event-type", "checks-regex", f"{_ONE_THING}: a dispatched run or check runs", _TWO_STEPS),
    Conflict("checks", "artifacts", "check runs have no artifacts to download", _TWO_STEPS),
    Conflict("checks-regex", "artifacts", "check runs have no artifacts to download", _TWO_STEPS),
    Conflict("checks", "artifacts-from-branch", "check runs have no artifacts to download", _TWO_STEPS),
    # Without waiting, a run found or dispatched has not completed, and artifacts are taken only
    # from a completed run: nothing would be downloaded, without a word. A run-id's artifacts are
    # taken as they are (upload-artifact v4 makes each available once uploaded), and a branch's
    # latest successful run has completed.
    Conflict(
        "artifacts",
        "wait",
        "artifacts are downloaded from the run once it has completed, and without waiting it has not",
        "wait for the run to download its artifacts, or download them later by its run-id",
        second_value="false",
        unless=("run-id", "artifacts-from-branch"),
    ),
    Conflict(
        "fail-on-failed-job",
        "wait",
        "it ends the wait at a failed job, and without waiting there is no wait to end",
        "leave fail-on-failed-job out, or wait for the run",
        second_value="false",
    ),
    Conflict(
        "checks",
        "fail-on-failed-job",
        "a wait for checks already ends at the first failed check (fail-fast, on by default)",
        "leave fail-on-failed-job out when waiting for checks",
    ),
    Conflict(
        "checks-regex",
        "fail-on-failed-job",
        "a wait for checks already ends at the first failed check (fail-fast, on by default)",
        "leave fail-on-failed-job out when waiting for checks",
    ),
    Conflict(
        "event-type",
        "inputs",
        "repository_dispatch has no inputs (only workflow_dispatch has)",
        "send the values in client-payload and read them as github.event.client_payload",
    ),
)


@dataclass(frozen=True)
class Requirement:
    """An input that means nothing without one of some others: given alone, it would be ignored."""

    name: str
    needs: tuple[str, ...]  # any one of them
    why: str
    hint: str


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "client-payload",
        ("event-type",),
        "client-payload is sent only with a repository_dispatch",
        "give event-type too, or send the values as workflow inputs (inputs)",
    ),
    Requirement(
        "ignore-run",
        ("checks", "checks-regex", "ignore-checks"),
        "ignore-run is a run a checks wait does not wait for",
        "leave it out unless the step waits for checks (checks, checks-regex or ignore-checks)",
    ),
    Requirement(
        "cancel-on-failure",
        ("fail-on-failed-job",),
        "it cancels the rest of a run whose wait ended at a failed job, and a run that has "
        "completed has nothing left to cancel",
        "give fail-on-failed-job too",
    ),
)


@dataclass(frozen=True)
class Wording:
    """How an edge names an input to its user: the action by the input's name (`wait: false`),
    the command line by its option (`--no-wait`), so that a message says what to change there."""

    options: bool
    # The option the user typed, where more than one sets an input (`--artifact` for artifacts):
    # a message names what they wrote, not another option that means the same.
    typed: tuple[tuple[str, str], ...] = ()

    def name(self, name: str) -> str:
        if not self.options:
            return name
        return dict(self.typed).get(name) or ("--repo" if name == "repository" else f"--{name}")

    def as_typed(self, **typed: str) -> Wording:
        """This wording, naming each input by the option given for it (`artifacts="--artifact"`)."""
        return Wording(self.options, tuple({**dict(self.typed), **typed}.items()))

    def setting(self, name: str, value: str) -> str:
        if not self.options:
            return f"{name}: {value}"
        if _DEFAULTS.get(name) in ("true", "false") and value in ("true", "false"):
            return f"--{name}" if value == "true" else f"--no-{name}"
        return f"{self.name(name)} {value}"


ACTION = Wording(options=False)
COMMAND_LINE = Wording(options=True)
_DEFAULTS = {i.name: i.default for i in INPUTS}


def check_conflicts(
    values: Mapping[str, str], *, checks_only: bool = False, wording: Wording = ACTION
) -> None:
    """A `UsageError` naming both inputs of the first conflict in `CONFLICTS`, or the first unmet
    of `REQUIREMENTS`. An input counts as given when it is set to other than its default, as
    action.yml passes every default; the `checks` command is `checks` given."""
    v = InputValues(values)

    def given(name: str, value: str | None = None) -> bool:
        if name == "checks" and checks_only:
            return True
        text = v.text(name)
        if value == "false":
            return text.lower() in _FALSE - {""}
        if value is not None:
            return text.lower() == value
        return bool(text) and text != _DEFAULTS.get(name, "")

    def label(name: str) -> str:
        return "the checks command" if name == "checks" and checks_only else wording.name(name)

    for rule in CONFLICTS:
        if (
            given(rule.first)
            and given(rule.second, rule.second_value)
            and not any(given(name) for name in rule.unless)
        ):
            second = label(rule.second)
            if rule.second_value:
                second = wording.setting(rule.second, rule.second_value)
            raise UsageError(
                f"{label(rule.first)} and {second} cannot be given together: {rule.why}", hint=rule.hint
            )
    for requirement in REQUIREMENTS:
        if given(requirement.name) and not any(given(name) for name in requirement.needs):
            needs = " or ".join(wording.name(name) for name in requirement.needs)
            raise UsageError(
                f"{wording.name(requirement.name)} needs {needs}: {requirement.why}",
                hint=requirement.hint,
            )


@dataclass(frozen=True)
class JobSettings:
    repository: Repository
    request: RunRequest | None  # None: a checks-only or run-id job
    run_id: int | None
    wait: bool
    wait_options: WaitOptions
    checks: CheckSelection | None
    check_sha: str | None  # a SHA, or a branch or tag to resolve
    artifacts: ArtifactSelection | None
    cancel_on_cancel: bool
    summary: bool
    dry_run: bool
    if_checks_missing: str = "fail"  # fail, warn or ignore
    if_artifacts_missing: str = "fail"
    notes: tuple[str, ...] = ()  # what the inputs were taken to mean, one line each, for the log
    wording: Wording = ACTION  # how messages name the inputs

    @property
    def mode(self) -> str:
        if self.checks is not None and self.request is None and self.run_id is None:
            return "checks"
        if self.run_id is not None:
            return "download"
        return "run"


def read_settings(
    values: Mapping[str, str],
    *,
    default_sha: str | None = None,
    checks_only: bool = False,
    caller: CallerJob | None = None,
    wording: Wording = ACTION,
) -> JobSettings:
    """Typed settings from input values (missing names take action.yml's defaults).

    `checks_only` (the `checks` command): wait for checks, every check when none are named.
    `caller`: the job that runs this one, as the runner says (the action's edge reads it); the
    `ignore-run` and `ignore-check-run` inputs win over it.
    `wording`: how the edge's user names the inputs, for the messages.
    """
    v = InputValues(values)
    repository = Repository.parse(v.text("repository") or "")
    check_conflicts(values, checks_only=checks_only, wording=wording)
    workflow = v.text("workflow")
    event_type = v.text("event-type")
    checks_names = tuple(v.lines("checks"))
    checks_regex = v.text("checks-regex")
    run_id_text = v.text("run-id")
    run_id: int | None = None
    if run_id_text:
        if not run_id_text.isdigit():
            raise UsageError(
                f"run-id {run_id_text!r} is not a number", hint="give the numeric id of a workflow run"
            )
        run_id = int(run_id_text)
    sha = v.text("sha") or None
    allowed_text = v.text("allowed-conclusions")
    patterns = tuple(v.lines("artifacts"))
    from_branch = v.text("artifacts-from-branch") or None
    if_artifacts_missing = v.choice("if-artifacts-missing", _IF_MISSING)
    notes: list[str] = []
    if run_id is not None and not (patterns or from_branch):
        notes.append(
            f"nothing is downloaded from run {run_id}: no artifacts named "
            "(artifacts: '*' downloads every one, as actions/download-artifact does without name)"
        )
    # A step that downloads from the run it names takes its artifacts whatever the run's
    # conclusion, as actions/download-artifact and dawidd6's run_id do: a failed run's test reports.
    only_downloads = run_id is not None and bool(patterns)
    # Checks to ignore and nothing else to do: every other check on the commit, as
    # lewagon/wait-on-check-action waits for without check-name (running-workflow-name only).
    every_other_check = bool(v.lines("ignore-checks")) and not (workflow or event_type or run_id)
    wants_checks = bool(checks_names or checks_regex) or checks_only or every_other_check
    if checks_only:
        workflow = event_type = ""
    if not (workflow or event_type or wants_checks or run_id):
        raise UsageError(
            "nothing to do: give a workflow, an event-type, checks to wait for, or a run-id",
            hint="e.g. workflow: deploy.yml, or checks: build",
        )
    wait_options = WaitOptions(
        timeout=v.duration("timeout"),
        poll_interval=v.duration("poll-interval"),
        max_poll_interval=v.duration("max-poll-interval"),
        allowed_conclusions=parse_conclusions(
            allowed_text,
            default=DEFAULT_CHECK_CONCLUSIONS
            if wants_checks and not (workflow or event_type)
            else parse_conclusions("any", default=DEFAULT_RUN_CONCLUSIONS)
            if only_downloads
            else DEFAULT_RUN_CONCLUSIONS,
        ),
        cancel_on_timeout=v.flag("cancel-on-timeout"),
        fail_on_failed_job=v.flag("fail-on-failed-job"),
        cancel_on_failure=v.flag("cancel-on-failure"),
    )
    request = None
    if workflow or event_type:
        payload_text = v.text("client-payload")
        request = RunRequest(
            repository=repository,
            workflow=workflow or None,
            ref=v.text("ref") or None,
            # A dispatched run tests the ref's head, so only `dispatch: never` (pure finding) looks
            # for the caller's own commit by default, and only when no ref names another commit;
            # otherwise runs are found for the ref's head.
            sha=sha or (default_sha if v.text("dispatch") == "never" and not v.text("ref") else None),
            event=v.text("event") or None,
            dispatch=DispatchPolicy.parse(v.text("dispatch") or "if-missing"),
            inputs=parse_inputs(v.text("inputs")),
            event_type=event_type or None,
            client_payload=_payload(payload_text),
            correlation_input=v.text("correlation-input") or None,
            discovery_timeout=v.duration("discovery-timeout"),
        )
    checks = None
    if wants_checks:
        checks = CheckSelection(
            names=checks_names,
            regex=checks_regex or None,
            ignore=tuple(v.lines("ignore-checks")),
            discovery_timeout=v.duration("checks-discovery-timeout"),
            allowed_conclusions=wait_options.allowed_conclusions,
            fail_fast=v.flag("fail-fast"),
            missing_ok=v.choice("if-checks-missing", _IF_MISSING) != "fail",
            caller=_caller(v, caller or CallerJob()),
        )
    artifacts = None
    # Only what is asked for: a run-id alone must not download every artifact into `path` (`.`),
    # which would replace files of the same names there.
    if patterns or from_branch:
        artifacts = ArtifactSelection(
            patterns=patterns,
            path=Path(v.text("path") or "."),
            merge_multiple=v.flag("merge-multiple"),
            allow_forks=v.flag("allow-forks"),
            from_branch=from_branch,
            skip_decompress=v.flag("skip-decompress"),
        )
    # A checks-only step may name its commit by `ref` (a branch, tag or SHA), as
    # lewagon/wait-on-check-action's required `ref` does; `refs/heads/` and `refs/tags/` are dropped.
    check_ref = v.text("ref") if request is None and run_id is None else ""
    check_ref = re.sub(r"^refs/(heads|tags)/", "", check_ref)
    return JobSettings(
        repository=repository,
        request=request,
        run_id=run_id,
        wait=v.flag("wait"),
        wait_options=wait_options,
        checks=checks,
        check_sha=sha or check_ref or default_sha,
        artifacts=artifacts,
        cancel_on_cancel=v.flag("cancel-on-cancel"),
        summary=v.flag("summary"),
        dry_run=v.flag("dry-run"),
        if_checks_missing=v.choice("if-checks-missing", _IF_MISSING),
        if_artifacts_missing=if_artifacts_missing,
        notes=tuple(notes),
        wording=wording,
    )


def _caller(v: InputValues, runner: CallerJob) -> CallerJob:
    """The waiting job from `ignore-run` and `ignore-check-run`, else from the runner."""

    def number(name: str) -> int | None:
        text = v.text(name)
        if not text:
            return None
        if not text.isdigit():
            raise UsageError(f"{name} {text!r} is not a number", hint=f"give the numeric id for {name}")
        return int(text)

    run_id, check_run_id = number("ignore-run"), number("ignore-check-run")
    if run_id is not None and run_id != runner.run_id:
        runner = CallerJob(run_id=run_id)  # another run: the runner's attempt and job are not its
    if check_run_id is not None:
        runner = dataclasses.replace(runner, check_run_id=check_run_id)
    return runner


def _payload(text: str) -> dict[str, Any]:
    return json_object(text, what="client-payload", example='{"environment": "prod"}') if text else {}


def _outer_comma_parts(line: str) -> list[str]:
    """`line` split at each comma outside parentheses (`job (a, b), lint` is two names). A `)`
    without its `(` closes nothing, and a `(` never closed keeps nothing together: no item ever
    holds a comma that no pair of parentheses explains."""
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(line):
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif char == "," and not depth:
            parts.append(line[start:index])
            start = index + 1
    rest = line[start:]
    return [*parts, *(rest.split(",") if depth else [rest])]


class InputValues:
    """Input values by name, with action.yml's defaults for the missing ones."""

    def __init__(self, values: Mapping[str, str]) -> None:
        defaults = {i.name: i.default for i in INPUTS if not i.default.startswith("${{")}
        self.values = {**defaults, **{k: v for k, v in values.items() if v is not None}}

    def text(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def lines(self, name: str) -> list[str]:
        """One item per line, or a comma list; a comma inside parentheses does not split, so a
        matrix job's check name (`build (ubuntu-latest, 3.12)`, as GitHub names it) stays whole."""
        text = self.values.get(name, "")
        return [
            part.strip() for line in text.splitlines() for part in _outer_comma_parts(line) if part.strip()
        ]

    def flag(self, name: str) -> bool:
        text = self.text(name).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise UsageError(f"{name} must be true or false, not {text!r}", hint=f"e.g. {name}: true")

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        """One of `choices`; empty means the first (the default)."""
        text = self.text(name).lower() or choices[0]
        if text not in choices:
            raise UsageError(
                f"{name} must be one of {', '.join(choices)}, not {text!r}", hint=f"e.g. {name}: {choices[0]}"
            )
        return text

    def duration(self, name: str) -> float:
        return parse_duration(self.text(name) or "0", what=name, positive=name in _POSITIVE_DURATIONS)
