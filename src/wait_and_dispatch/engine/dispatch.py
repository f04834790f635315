"""Find or dispatch the run for a request, and always know exactly which run it is.

How we know the run we started, best first:
1. `return_run_details: true`: GitHub answers 200 with `workflow_run_id` (changelog 2026-02-19,
   OpenAPI `actions/create-workflow-dispatch`). Servers that predate the field refuse it with
   400/422 naming it (GHES <= 3.20; benc-uk/workflow-dispatch#86); a refusal started nothing, so
   we send again without it.
2. A correlation id: a fresh, unique value in an input the workflow declares (`distinct_id` by
   default), shown in the run's `display_title`/`name` through its `run-name` (actions/runner#4141)
   or in a job step's name. "Get a run" does not return inputs
   (Alfresco/alfresco-build-tools#1409), so these are the only places it can be seen. The
   workflow file, read once through the contents API before the first dispatch
   (`engine/workflow_file.py`), says whether the input is declared and shown;
   an undeclared one is not sent, and does not count against GitHub's 25 inputs. When the file
   cannot be read (no `contents: read`), the id is sent, and a workflow that does not declare it
   refuses it with 422 "Unexpected inputs provided": nothing started, and we send without it.
3. The set of `workflow_dispatch` runs on the ref, created since just before our dispatch, that
   were not there before it (and by our actor when known). "Since" is on GitHub's clock, as
   `created_at` and the `created` filter are: the `Date` of its answers, never the runner's clock,
   which may be seconds off. Exactly one: it is ours. More than
   one: we fail and say how to add a correlation input. We never guess by "newest run".

A dispatch whose outcome is unknown (5xx, timeout, connection lost after sending) may have
started a run: we look for it by the same means, for the whole discovery window, before sending
it again. If the deadline ends the search first, the dispatch is not sent again: the request ends
with the run unknown, naming the correlation id to find it by: a second dispatch could start a
second run.

A run once dispatched is never left going unseen: when an interrupt (SIGINT, SIGTERM) comes after
the dispatch may have gone out, or the deadline comes during the search with cancel-on-timeout,
the run is looked for `FIND_GRACE` seconds more and then cancelled (the edges cancel what a
DISPATCHED event names); one that still cannot be found is named by its correlation id (or ref
and time) in the error.

Only what is needed is asked, each request costing rate limit: a workflow named by its file is
not looked up (the workflow endpoints take the file name), the commit is resolved only when runs
are to be found for it, and runs are listed before a dispatch only when GitHub will not return the run.

Idempotence across re-runs of the calling workflow: with `dispatch: if-missing`, a run for the
same head SHA is reused. The correlation id begins with a key derived from the request (workflow,
ref, SHA, inputs), so runs we dispatched for a different request on the same SHA (other inputs)
are told apart and not reused. A run that shows no key is reused only when it cannot be another
request's: the request has no inputs and GitHub started the run itself (push, schedule...), not a
dispatch, whose inputs no API answer lists.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository, Workflow, WorkflowRun
from wait_and_dispatch.engine.inputs import MAX_INPUTS, check_input_limits
from wait_and_dispatch.engine.progress import (
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    format_seconds,
    ignore_progress,
)
from wait_and_dispatch.engine.requests import DispatchPolicy, RunRequest
from wait_and_dispatch.engine.results import DispatchedRun
from wait_and_dispatch.engine.waiting import cancel_after_timeout
from wait_and_dispatch.engine.workflow_file import WorkflowDefinition
from wait_and_dispatch.github_api import FALLBACK_API_VERSION, GitHubApi
from wait_and_dispatch.github_api.polling import PollBounds, governor_for
from wait_and_dispatch.support.errors import (
    AmbiguousRunError,
    DeadlineExceededError,
    DispatchInterrupted,
    DispatchOutcomeUnknownError,
    NotFoundError,
    RefusedBeforeSendingError,
    RunNotFoundError,
    UsageError,
    ValidationFailedError,
    WaitAndDispatchError,
    WriteOutcomeUnknownError,
)
from wait_and_dispatch.support.interrupts import write_in_flight

# Every correlation id we send starts with this and the request key; other tools' ids do not.
_MARK = "wad-"
_KEY_LENGTH = 10
_ANY_MARK = re.compile(_MARK + "[0-9a-f]{" + str(_KEY_LENGTH) + "}")
# How long to keep looking for other candidate runs once one new run has appeared, so that a
# second dispatch made at the same moment is seen (runs can take seconds to be listed:
# apache/airflow#71305) and the choice is never a guess.
SETTLE_SECONDS = 15.0
# How long after a dispatch its run is first looked for in the lists (it takes seconds to appear).
LIST_DELAY = 3.0
_RESENDS = 2
# How long a dispatched run is still looked for once the deadline or an interrupt has come, so
# that it can be cancelled rather than left going unseen. A few seconds: the runner kills a
# cancelled step 10 s after its SIGINT (SIGTERM at 7.5 s, SIGKILL 2.5 s later: `_sigintTimeout`
# and `_sigtermTimeout` in actions/runner's src/Runner.Sdk/ProcessInvoker.cs), a job ends within
# 5 s of its deadline, and the cancel needs a moment of its own.
FIND_GRACE = 4.0
# GitHub's repository_dispatch takes at most 10 top-level client_payload properties (OpenAPI
# `repos/create-dispatch-event`).
_MAX_PAYLOAD_KEYS = 10


_DISPATCH_EVENTS = ("workflow_dispatch", "repository_dispatch")
_NOT_REUSED = frozenset({"failure", "cancelled", "timed_out", "startup_failure"})


def request_key(request: RunRequest, workflow: Workflow | None, ref: str, sha: str | None) -> str:
    """A stable key for "this request": the same workflow, ref, SHA and inputs give the same key.

    The workflow counts by its file, which is known however it was named; the SHA only when it
    was given or needed (`dispatch: always` does not look it up).
    """
    material = json.dumps(
        {
            "repo": request.repository.full_name.lower(),
            "workflow": workflow.file_name.lower() if workflow else None,
            "ref": ref,
            "sha": sha,
            "inputs": dict(sorted(request.inputs.items())),
            "event_type": request.event_type,
            "payload": request.client_payload,
        },
        sort_keys=True,
        default=str,
    )
    return _MARK + hashlib.sha256(material.encode()).hexdigest()[:_KEY_LENGTH]


@dataclass(frozen=True)
class _Target:
    """The request with everything resolved."""

    request: RunRequest
    workflow: Workflow | None
    ref: str
    sha: str | None  # None: not given and not needed (dispatch: always)
    key: str
    definition: WorkflowDefinition | None = None  # the workflow file, when it could be read

    @property
    def repo(self) -> Repository:
        return self.request.repository

    @property
    def event(self) -> str:
        return "repository_dispatch" if self.request.is_repository_dispatch else "workflow_dispatch"


@dataclass
class _Sent:
    """A dispatch while its run is looked for: what it takes to find that run again."""

    correlation_id: str | None
    snapshot: set[int] | None = None  # runs there before it, when it carries no correlation id
    since: float | None = None  # GitHub's time just before the last POST; None: none sent yet
    run_id: int | None = None  # when GitHub's answer named the run


@dataclass(frozen=True)
class DispatchPreview:
    """What `find_or_dispatch` would do, found out with read requests only (a dry run)."""

    workflow: Workflow | None
    ref: str
    sha: str
    existing: WorkflowRun | None  # the run it would reuse
    would_dispatch: bool
    inputs: Mapping[str, str]  # as they would be sent, the correlation id shown as a placeholder
    event_type: str | None = None

    def describe(self) -> str:
        what = self.workflow.describe() if self.workflow else f"repository_dispatch {self.event_type!r}"
        if self.existing is not None:
            return (
                f"would reuse {self.existing.describe()} ({self.existing.status}) for {self.sha[:7]}: "
                f"{self.existing.html_url}"
            )
        if self.would_dispatch:
            shown = f" with inputs {json.dumps(dict(self.inputs), sort_keys=True)}" if self.inputs else ""
            return f"would dispatch {what} on {self.ref} ({self.sha[:7]}){shown}"
        return f"no run of {what} for {self.sha[:7]} yet; would wait for one to appear (dispatch: never)"


class Dispatcher:
    """Finds or starts runs. Remembers per server whether `return_run_details` is understood."""

    def __init__(self, api: GitHubApi, on_progress: ProgressCallback = ignore_progress) -> None:
        self.api = api
        self.say = on_progress
        self.run_details_supported: bool | None = None  # None: not known yet

    # -- the entry point ---------------------------------------------------------------------

    def find_or_dispatch(
        self, request: RunRequest, *, deadline: float | None = None, cancel_on_timeout: bool = False
    ) -> DispatchedRun:
        """The run for `request`: found, or dispatched and then found. `cancel_on_timeout`: when
        the deadline comes before a dispatched run is found, look for it a few seconds more and
        cancel it."""
        target = self._resolve(request, deadline, need_sha=request.dispatch is not DispatchPolicy.ALWAYS)
        if request.dispatch is not DispatchPolicy.ALWAYS:
            existing = self._existing_run(target, deadline)
            if existing is not None:
                self.say(
                    ProgressEvent(
                        ProgressKind.FOUND,
                        f"found {existing.describe()} for {_short(target.sha)} ({existing.status}); "
                        "not dispatching",
                        subject=f"run {existing.id}",
                        status=existing.status,
                        url=existing.html_url,
                    )
                )
                return DispatchedRun(existing, dispatched=False, how="existing run")
        if request.dispatch is DispatchPolicy.NEVER:
            return self._wait_for_appearance(target, deadline)
        return self._dispatch(self._prepare(target, deadline), deadline, cancel_on_timeout=cancel_on_timeout)

    def preview(self, request: RunRequest, *, deadline: float | None = None) -> DispatchPreview:
        """What `find_or_dispatch` would do, using read requests only."""
        target = self._resolve(request, deadline, need_sha=True)
        existing = None if request.dispatch is DispatchPolicy.ALWAYS else self._existing_run(target, deadline)
        would_dispatch = existing is None and request.dispatch is not DispatchPolicy.NEVER
        if would_dispatch:
            target = self._prepare(target, deadline)  # the same checks as a real dispatch
        inputs = dict(request.client_payload if request.is_repository_dispatch else request.inputs)
        if self._correlation_name(target):
            inputs[str(request.correlation_input)] = f"{target.key}-<random>"
        return DispatchPreview(
            workflow=target.workflow,
            ref=target.ref,
            sha=target.sha or "",
            existing=existing,
            would_dispatch=would_dispatch,
            inputs=inputs,
            event_type=request.event_type,
        )

    # -- resolving ---------------------------------------------------------------------------

    def _resolve(self, request: RunRequest, deadline: float | None, *, need_sha: bool) -> _Target:
        """The workflow, ref and (when `need_sha`, or given) SHA of a request: only what is not known."""
        repo = request.repository
        if not request.is_repository_dispatch and not request.workflow:
            raise UsageError(
                "no workflow given", hint="name the workflow to find or dispatch (workflow: deploy.yml)"
            )
        workflow: Workflow | None = None
        if request.workflow:
            workflow = (
                # Named by file: the workflow endpoints take the file name, so no look-up.
                workflow_runs.workflow_from_file_name(request.workflow)
                if workflow_runs.named_by_file(request.workflow)
                else self._look_up_workflow(repo, request.workflow, deadline)
            )
        if request.is_repository_dispatch:
            # repository_dispatch runs only on the default branch (GitHub docs, "Events that trigger
            # workflows", repository_dispatch).
            ref = self._call(workflow_runs.default_branch, repo, deadline)
            if request.ref and request.ref != ref:
                raise UsageError(
                    f"repository_dispatch always runs on the default branch ({ref}), not {request.ref!r}",
                    hint="drop ref, or use workflow_dispatch to run on another branch",
                )
        else:
            ref = request.ref or self._call(workflow_runs.default_branch, repo, deadline)
        sha = request.sha
        if sha is None and need_sha:
            dispatches = request.dispatch is not DispatchPolicy.NEVER and not request.is_repository_dispatch
            sha = workflow_runs.resolve_sha(self.api, repo, ref, deadline=deadline, dispatch_ref=dispatches)
        if workflow is not None:
            self._say_resolved(workflow, repo, ref, sha)
        return _Target(request, workflow, ref, sha, request_key(request, workflow, ref, sha))

    def _say_resolved(self, workflow: Workflow, repo: Repository, ref: str, sha: str | None) -> None:
        known = f" (id {workflow.id})" if workflow.id is not None else ""
        self.say(
            ProgressEvent(
                ProgressKind.RESOLVED,
                f"workflow {workflow.describe()}{known} in {repo}; ref {ref}"
                + (f", head SHA {sha[:7]}" if sha else ""),
                subject=workflow.path,
                url=workflow.html_url or None,
            )
        )

    def _look_up_workflow(self, repo: Repository, name: str, deadline: float | None) -> Workflow:
        try:
            return workflow_runs.resolve_workflow(self.api, repo, name, deadline=deadline)
        except NotFoundError as exc:
            raise self._tokenless(exc) from None

    def _call(self, read: Callable[..., str], repo: Repository, deadline: float | None) -> str:
        """A read of the repository, with the no-token hint on a 404."""
        try:
            return read(self.api, repo, deadline=deadline)
        except NotFoundError as exc:
            raise self._tokenless(exc) from None

    def _tokenless(self, exc: NotFoundError) -> NotFoundError:
        """Without a token GitHub answers 404 for every private repository (it does not say 401):
        say that no token was found, and where one is looked for, rather than "not found"."""
        if self.api.has_token:
            return exc
        exc.hint = (
            "no token was found, and GitHub answers 404 for a private repository it is asked about "
            "anonymously: set GH_TOKEN or GITHUB_TOKEN (command line), or pass github-token (action)"
        )
        return exc

    def _prepare(self, target: _Target, deadline: float | None) -> _Target:
        """Before a workflow_dispatch: refuse what GitHub would refuse, and read the workflow file.

        The file (one conditional read) tells the inputs and the run-name; without it (no
        `contents: read`, or not on that ref) the dispatch goes as it always did.
        """
        if target.request.is_repository_dispatch or target.workflow is None:
            return target
        if workflow_runs.is_sha(target.ref):
            raise UsageError(
                f"ref {target.ref} is a commit SHA, but GitHub dispatches a workflow only on a branch or "
                f'tag (it answers 422 "No ref found for: {target.ref}")',
                hint="give the branch or tag to run on as ref (the run tests its head), and the commit as "
                "sha to find the runs for it",
            )
        read = workflow_runs.read_workflow_file(
            self.api, target.repo, target.workflow.path, target.ref, deadline=deadline
        )
        # GHES says its version in every answer; up to 3.20 it refuses `return_run_details`, so
        # that refusal need not be paid for.
        version = read.enterprise_version
        if version and self.run_details_supported is None and not _returns_run_details(version):
            self.run_details_supported = False
        definition = read.definition
        workflow = target.workflow
        if definition is None:
            if workflow.id is None:
                # Not readable: ask for the workflow itself, which says whether it exists at all.
                workflow = self._look_up_workflow(
                    target.repo, target.request.workflow or workflow.path, deadline
                )
            return replace(target, workflow=workflow)
        if workflow.id is None and definition.name:
            workflow = replace(workflow, name=definition.name)
        if not definition.dispatchable:
            raise RefusedBeforeSendingError(
                f"{workflow.describe()} on {target.ref}: Workflow does not have 'workflow_dispatch' trigger",
                hint=_NOT_DISPATCHABLE_HINT.format(path=workflow.path),
            )
        problems = definition.problems(target.request.inputs)
        if problems:
            # GitHub's own words (its 422 answers), before anything is sent.
            raise RefusedBeforeSendingError(
                f"{workflow.describe()} on {target.ref}: " + "; ".join(problems),
                hint=f"{workflow.path} on {target.ref} declares these inputs: {definition.describe_inputs()}",
            )
        return replace(target, workflow=workflow, definition=definition)

    def _correlation_name(self, target: _Target) -> str | None:
        """The input to carry the correlation id, if one is to be sent."""
        request = target.request
        name = request.correlation_input
        if not name:
            return None
        if request.is_repository_dispatch:
            # GitHub's repository_dispatch takes at most 10 client_payload properties.
            payload = request.client_payload
            return name if name not in payload and len(payload) < _MAX_PAYLOAD_KEYS else None
        if name in request.inputs:
            return None  # the user gives it
        if target.definition is not None:
            # Declared: sent, and it counts among GitHub's 25 like any input. Not declared: not
            # sent, so the user keeps all 25; the run is found otherwise.
            return name if target.definition.declares(name) else None
        # Unknown file: sent (a 422 says if it is not declared), unless it would make 26 inputs.
        return name if len(request.inputs) < MAX_INPUTS else None

    # -- finding -----------------------------------------------------------------------------

    def _existing_run(self, target: _Target, deadline: float | None) -> WorkflowRun | None:
        """The newest run for the SHA that this request may reuse.

        Runs carrying another request's key were dispatched by us with other inputs: not ours.
        """
        try:
            candidates = workflow_runs.find_runs(
                self.api,
                target.repo,
                workflow_id=target.workflow.api_id if target.workflow else None,
                head_sha=target.sha,
                event=target.request.event or (target.event if target.workflow is None else None),
                deadline=deadline,
            )
        except NotFoundError as exc:
            if target.workflow is not None and target.workflow.id is None:
                # Named by file and never looked up: say which workflows there are instead.
                self._look_up_workflow(target.repo, target.request.workflow or target.workflow.path, deadline)
            raise self._tokenless(exc) from None
        # A run that failed or was cancelled is not reused: running the caller again is how a
        # person retries it, so a new run is dispatched.
        candidates = [run for run in candidates if not (run.completed and run.conclusion in _NOT_REUSED)]
        ours = [run for run in candidates if target.key in _titles(run)]
        if ours:
            return ours[0]
        if target.request.inputs or target.request.client_payload:
            # A run that shows no key cannot be told to have had these inputs (GitHub lists no
            # run's inputs): reusing it could hand back another request's run.
            return None
        # Without inputs, a run GitHub started itself (push, pull_request, schedule...) is this
        # request's. A dispatched run that shows no key may have had any inputs: not reused.
        unmarked = [
            run
            for run in candidates
            if not _ANY_MARK.search(_titles(run)) and run.event not in _DISPATCH_EVENTS
        ]
        return unmarked[0] if unmarked else None

    def _wait_for_appearance(self, target: _Target, deadline: float | None) -> DispatchedRun:
        """dispatch: never: something else starts the run; wait for it up to the discovery timeout."""
        clock = self.api.clock
        start = clock.now()
        limit = _earliest(start + target.request.discovery_timeout, deadline)
        governor = governor_for(self.api)  # the one cadence of every wait on this token
        while True:
            now = clock.now()
            if now >= limit:
                raise RunNotFoundError(
                    f"no run of {_what(target)} for {_short(target.sha)} appeared within "
                    f"{format_seconds(now - start)} (dispatch: never)"
                )
            pause = min(governor.next_poll(PollBounds()).interval, limit - now)
            self.say(
                ProgressEvent(
                    ProgressKind.POLL,
                    f"no run for {_short(target.sha)} yet; looking again in {pause:.0f}s",
                    subject=_what(target),
                    elapsed=now - start,
                    next_poll_in=pause,
                )
            )
            clock.sleep(pause)
            run = self._existing_run(target, deadline)
            if run is not None:
                self.say(
                    ProgressEvent(
                        ProgressKind.FOUND,
                        f"found {run.describe()} for {_short(target.sha)} ({run.status})",
                        subject=f"run {run.id}",
                        status=run.status,
                        url=run.html_url,
                    )
                )
                return DispatchedRun(run, dispatched=False, how="existing run")

    # -- dispatching -------------------------------------------------------------------------

    def _dispatch(self, target: _Target, deadline: float | None, *, cancel_on_timeout: bool) -> DispatchedRun:
        name = self._correlation_name(target)
        sent = _Sent(f"{target.key}-{secrets.token_hex(4)}" if name else None)
        try:
            return self._send_and_find(target, sent, deadline, cancel_on_timeout=cancel_on_timeout)
        except KeyboardInterrupt:
            # SIGINT or SIGTERM once the dispatch may have gone out: its run must not be left
            # going unseen. Look for it a little longer, so that the edge cancels it, or say how
            # to find it.
            if sent.since is None:
                raise
            unfound = self._after_interrupt(target, sent)
            if unfound is None:
                raise
            raise unfound from None

    def _send_and_find(
        self, target: _Target, sent: _Sent, deadline: float | None, *, cancel_on_timeout: bool
    ) -> DispatchedRun:
        resends = 0
        while True:
            if sent.correlation_id is None and sent.snapshot is None and self._needs_snapshot(target):
                sent.snapshot = self._snapshot(target, deadline)
            # On GitHub's clock: `created` and `created_at` are, and ours may be seconds off.
            # `_new_runs` starts a second early for `created`'s one-second precision.
            since = sent.since = self._server_now()
            try:
                # An interrupt waits for the answer, which may name the run (support/interrupts.py).
                with write_in_flight():
                    run_id = sent.run_id = self._send(target, sent.correlation_id, deadline)
            except ValidationFailedError as exc:
                refused = self._refused_field(exc, target, sent.correlation_id)
                if refused == "return_run_details":
                    self.run_details_supported = False
                    continue
                if refused == "correlation":
                    sent.correlation_id = None
                    continue
                raise _explained(exc, target) from None
            except WriteOutcomeUnknownError as exc:
                self.say(
                    ProgressEvent(
                        ProgressKind.CORRELATING,
                        f"the dispatch may or may not have started a run ({exc.message}); looking for it "
                        "before sending it again",
                        subject=_what(target),
                    )
                )
                window = target.request.discovery_timeout
                searched_until = self.api.clock.now() + window
                found = self._correlate(
                    target, sent.correlation_id, sent.snapshot, since, deadline, give_up_after=window
                )
                if found is not None:
                    return self._started(
                        target, found[0], sent.correlation_id, "correlation after an unknown outcome"
                    )
                if deadline is not None and deadline < searched_until:
                    # The deadline cut the search short: the run may yet appear, so sending the
                    # dispatch again could start a second one. Stop, and say how to find it.
                    raise self._cut_by_deadline(target, sent, cancel_on_timeout, lost=exc) from exc
                resends += 1
                if resends > _RESENDS:
                    raise
                continue
            if run_id is not None:
                run = workflow_runs.get_run(self.api, target.repo, run_id, deadline=deadline)
                return self._started(target, run, sent.correlation_id, "return_run_details")
            searched_until = self.api.clock.now() + target.request.discovery_timeout
            found = self._correlate(
                target, sent.correlation_id, sent.snapshot, since, deadline, give_up_after=None
            )
            if found is not None:
                return self._started(target, found[0], sent.correlation_id, found[1])
            if deadline is not None and deadline < searched_until:
                raise self._cut_by_deadline(target, sent, cancel_on_timeout, lost=None)
            raise RunNotFoundError(
                f"dispatched {_what(target)} on {target.ref}, but its run did not appear within "
                f"{format_seconds(target.request.discovery_timeout)}: {self._how_to_find(target, sent)}",
                hint="GitHub may be slow to list new runs; raise the discovery timeout",
            )

    def _after_interrupt(self, target: _Target, sent: _Sent) -> DispatchInterrupted | None:
        """Interrupted after the dispatch went out: make its run known to the edge (a DISPATCHED
        event, which is how the edges learn what to cancel), looking for it for a few seconds if
        need be. None when it was found by correlation; else the interrupt to raise, naming the run
        the dispatch's answer named, or saying how to find it."""
        if sent.run_id is not None:
            self.say(
                ProgressEvent(
                    ProgressKind.DISPATCHED,
                    f"started run {sent.run_id} (known by return_run_details)",
                    subject=f"run {sent.run_id}",
                    run_id=sent.run_id,
                    repository=target.repo.full_name,
                )
            )
            # The signal waited for this answer: name the run in the error, whichever way the
            # edge then goes (cancel-on-cancel or not).
            return DispatchInterrupted(
                f"the dispatch of {_what(target)} on {target.ref} had started run {sent.run_id} "
                "when the signal came",
                hint="it is cancelled unless cancel-on-cancel is off; then cancel it in the "
                "repository's Actions tab if it should not run",
            )
        found = self._find_within_grace(target, sent)
        if found is not None:
            self._started(target, found[0], sent.correlation_id, "correlation after an interrupt")
            return None
        return DispatchInterrupted(
            f"the dispatch of {_what(target)} on {target.ref} may have started a run, and it was not "
            f"found before stopping: {self._how_to_find(target, sent)}",
            hint="find that run in the repository's Actions tab, and cancel it if it should not run",
        )

    def _cut_by_deadline(
        self, target: _Target, sent: _Sent, cancel: bool, *, lost: WriteOutcomeUnknownError | None
    ) -> DeadlineExceededError:
        """The deadline came while the dispatched run was looked for. With cancel-on-timeout the
        run is looked for a few seconds more and cancelled; either way the error says which run
        it is, or how to find it."""
        if lost is not None:
            what = (
                f"the dispatch of {_what(target)} on {target.ref} may have started a run (GitHub's answer "
                f"was lost: {lost.status or 'no answer'}), and the deadline came before the search for it "
                "ended; it was not sent again, so at most one run started"
            )
            error: type[DeadlineExceededError] = DispatchOutcomeUnknownError
        else:
            what = (
                f"dispatched {_what(target)} on {target.ref}, and the deadline came before its run was listed"
            )
            error = DeadlineExceededError
        hint = (
            "raise the timeout above the discovery timeout so that the search can finish, or find the "
            "run in the repository's Actions tab"
        )
        found = self._find_within_grace(target, sent) if cancel else None
        if found is None:
            return error(f"{what}: {self._how_to_find(target, sent)}", hint=hint)
        started = self._started(target, found[0], sent.correlation_id, found[1])
        if cancel_after_timeout(self.api, target.repo, started.run, self.say):
            return error(f"{what}; found it afterwards, run {started.run.id}, and cancelled it", hint=hint)
        return error(
            f"{what}; found it afterwards, run {started.run.id}, and could not cancel it: "
            f"{started.run.html_url}",
            hint=hint,
        )

    def _find_within_grace(self, target: _Target, sent: _Sent) -> tuple[WorkflowRun, str] | None:
        """The dispatched run, looked for `FIND_GRACE` seconds more (past any deadline); None if
        it cannot be told apart or does not appear by then."""
        if sent.since is None or (sent.correlation_id is None and sent.snapshot is None):
            return None  # nothing to tell our run from someone else's: never guess
        until = self.api.clock.now() + FIND_GRACE
        try:
            with self.api.deadline_scope(until, replace=True):
                return self._correlate(
                    target, sent.correlation_id, sent.snapshot, sent.since, until, give_up_after=FIND_GRACE
                )
        except WaitAndDispatchError:
            return None

    def _how_to_find(self, target: _Target, sent: _Sent) -> str:
        if sent.correlation_id:
            return f"look for the run whose name shows {sent.correlation_id}"
        moment = datetime.datetime.fromtimestamp(sent.since or self._server_now(), datetime.UTC)
        return (
            f"look for a {target.event} run of it on {target.ref} created at "
            f"{moment:%Y-%m-%dT%H:%M:%SZ} or just after"
        )

    def _needs_snapshot(self, target: _Target) -> bool:
        """Whether to list the runs already there before dispatching without a correlation id.

        Only when GitHub is known not to return the run: otherwise the dispatch's answer names it,
        and the list would be paid for nothing. (If an answer unexpectedly names no run, the new
        runs are still told apart from older ones by their creation time, and several are never
        guessed between.)
        """
        return target.request.is_repository_dispatch or self.run_details_supported is False

    def _send(self, target: _Target, correlation_id: str | None, deadline: float | None) -> int | None:
        """One dispatch POST. Returns the run id when GitHub tells it."""
        request = target.request
        if request.is_repository_dispatch:
            payload: dict[str, Any] = dict(request.client_payload)
            if correlation_id and request.correlation_input:
                payload[request.correlation_input] = correlation_id
            self.say(
                ProgressEvent(
                    ProgressKind.DISPATCHED,
                    f"sending repository_dispatch {request.event_type!r} to {target.repo}",
                    subject=target.repo.full_name,
                )
            )
            self.api.post(
                f"{target.repo.api_path}/dispatches",
                {"event_type": request.event_type, "client_payload": payload},
                deadline=deadline,
            )
            return None  # repository_dispatch answers 204, never the run (repos/create-dispatch-event)
        assert target.workflow is not None  # nosec B101 # an invariant for mypy, not a check of input
        inputs = dict(request.inputs)
        if correlation_id and request.correlation_input:
            inputs[request.correlation_input] = correlation_id
        check_input_limits(inputs)
        body: dict[str, Any] = {"ref": target.ref, "inputs": inputs}
        # Under API version 2026-03-10 the dispatch always answers 200 with the run's details and
        # the field is gone (REST "Breaking changes"); under 2022-11-28 it must be asked for.
        if self.run_details_supported is not False and self.api.api_version == FALLBACK_API_VERSION:
            body["return_run_details"] = True
        self.say(
            ProgressEvent(
                ProgressKind.DISPATCHED,
                f"dispatching {target.workflow.describe()} on {target.ref}"
                + (f" with inputs {json.dumps(inputs, sort_keys=True)}" if inputs else ""),
                subject=target.workflow.path,
            )
        )
        answer = self.api.post(
            f"{target.repo.api_path}/actions/workflows/{target.workflow.api_id}/dispatches",
            body,
            deadline=deadline,
        )
        # 200 with the run's id under 2026-03-10 or when asked for it; 204 from servers that ignore
        # the field. Both are success (PyGithub/PyGithub#3426: the endpoint once answered 200 to plain
        # requests).
        data = answer.data if isinstance(answer.data, Mapping) else {}
        run_id = data.get("workflow_run_id")
        if run_id is None:
            return None
        if isinstance(run_id, int) and not isinstance(run_id, bool) and run_id > 0:
            self.run_details_supported = True
            return run_id
        # Not an id GitHub would send (OpenAPI: an integer): the dispatch was accepted, so a run
        # started; it is found as a 204's would be, never guessed from this value.
        self.say(
            ProgressEvent(
                ProgressKind.CORRELATING,
                f"the dispatch was accepted but its answer names no valid run (workflow_run_id "
                f"{str(run_id)[:40]!r}); looking for the run it started",
                subject=_what(target),
            )
        )
        return None

    def _refused_field(
        self, exc: ValidationFailedError, target: _Target, correlation_id: str | None
    ) -> str | None:
        """Which of our own additions a 400/422 refused, if any: such a refusal started nothing."""
        text = exc.message
        if "return_run_details" in text and self.run_details_supported is not False:
            return "return_run_details"
        name = target.request.correlation_input
        if correlation_id and name and "Unexpected inputs" in text and f'"{name}"' in text:
            return "correlation"
        return None

    def _started(
        self, target: _Target, run: WorkflowRun, correlation_id: str | None, how: str
    ) -> DispatchedRun:
        self.say(
            ProgressEvent(
                ProgressKind.DISPATCHED,
                f"started {run.describe()} (known by {how}): {run.html_url}",
                subject=f"run {run.id}",
                status=run.status,
                url=run.html_url,
                run_id=run.id,
                repository=target.repo.full_name,
            )
        )
        if target.sha is not None and run.head_sha != target.sha:
            self.say(
                ProgressEvent(
                    ProgressKind.DISPATCHED,
                    f"note: {target.ref} is now at {run.head_sha[:7]}, not {target.sha[:7]}; the run tests "
                    f"{run.head_sha[:7]}",
                    subject=f"run {run.id}",
                )
            )
        return DispatchedRun(run, dispatched=True, how=how, correlation_id=correlation_id)

    # -- correlation -------------------------------------------------------------------------

    def _new_runs(self, target: _Target, since: float, deadline: float | None) -> list[WorkflowRun]:
        # Runs of the same second as `since` are included; the snapshot and the settle window
        # sort out which one is ours.
        created = workflow_runs.created_since(since)
        runs = workflow_runs.find_runs(
            self.api,
            target.repo,
            workflow_id=target.workflow.api_id if target.workflow else None,
            event=target.event,
            branch=target.ref,
            created=created,
            deadline=deadline,
        )
        actor = target.request.actor
        return [run for run in runs if actor is None or run.actor in (None, actor)]

    def _snapshot(self, target: _Target, deadline: float | None) -> set[int]:
        """The runs already there before our dispatch, so that they are never taken for ours."""
        return {run.id for run in self._new_runs(target, self._server_now() - 3600, deadline)}

    def _server_now(self) -> float:
        """GitHub's time now, from the `Date` of its answers (never ahead of it: a filter from it
        starts early, never late). Before any answer, which a dispatch never is, our clock."""
        server = self.api.server_time()
        return self.api.clock.now() if server is None else server

    def _correlate(
        self,
        target: _Target,
        correlation_id: str | None,
        snapshot: set[int] | None,
        since: float,
        deadline: float | None,
        *,
        give_up_after: float | None,
    ) -> tuple[WorkflowRun, str] | None:
        """Look for the run our dispatch started, and say how it was recognised. None if it did not
        appear in time."""
        clock = self.api.clock
        start = clock.now()
        window = target.request.discovery_timeout if give_up_after is None else give_up_after
        limit = _earliest(start + window, deadline)
        governor = governor_for(self.api)  # the one cadence of every wait on this token
        first_candidate_at: float | None = None
        checked_jobs: set[int] = set()
        # GitHub lists a new run only seconds after the dispatch (apache/airflow#71305): a
        # first look at once would pay a unit for an empty answer (later empty ones are free 304s).
        first_look = min(start + LIST_DELAY, limit)

        said = False

        def pause_before_looking(pause: float, elapsed: float | None) -> None:
            # Said once; then each look is a poll line, which the edges thin out or overwrite.
            nonlocal said
            if not said:
                said = True
                self.say(
                    ProgressEvent(
                        ProgressKind.CORRELATING,
                        "waiting for the dispatched run to be listed"
                        + (f" (looking for {correlation_id})" if correlation_id else ""),
                        subject=_what(target),
                        elapsed=elapsed,
                        next_poll_in=pause,
                    )
                )
            else:
                self.say(
                    ProgressEvent(
                        ProgressKind.POLL,
                        f"the dispatched run is not listed yet, {format_seconds(elapsed or 0.0)} elapsed; "
                        f"looking again in {pause:.0f}s",
                        subject=_what(target),
                        elapsed=elapsed,
                        next_poll_in=pause,
                    )
                )
            clock.sleep(pause)

        if first_look > start:
            pause_before_looking(first_look - start, None)
        while True:
            candidates = [
                run
                for run in self._new_runs(target, since, deadline)
                if snapshot is None or run.id not in snapshot
            ]
            if correlation_id is not None:
                match = self._match_correlation_id(target, candidates, correlation_id, checked_jobs, deadline)
                if match is not None:
                    return match, "correlation id"
                unmarked = [run for run in candidates if not _ANY_MARK.search(_titles(run))]
                if unmarked and all(run.id in checked_jobs for run in unmarked) and give_up_after is None:
                    # Every new run has started and none shows the id in its name or steps: the
                    # workflow declares the input but displays it nowhere. Fall back to the set of
                    # new runs once late arrivals have had time to appear.
                    now = clock.now()
                    first_candidate_at = now if first_candidate_at is None else first_candidate_at
                    if now - first_candidate_at >= SETTLE_SECONDS:
                        return self._only_new_run(target, snapshot, since, deadline)

            elif candidates:
                now = clock.now()
                if first_candidate_at is None:
                    first_candidate_at = now
                if len(candidates) > 1:
                    raise AmbiguousRunError(
                        f"{len(candidates)} new {target.event} runs of {_what(target)} on {target.ref} "
                        f"appeared since the dispatch ({', '.join(str(r.id) for r in candidates[:5])}); "
                        "cannot tell which one is ours"
                    )
                if now - first_candidate_at >= SETTLE_SECONDS or now >= limit:
                    return candidates[0], "new run on the ref"
            now = clock.now()
            if now >= limit:
                if correlation_id is not None and give_up_after is None:
                    # The workflow declared the input (it was accepted) but shows it nowhere we can
                    # see: fall back to the set of new runs, and never guess among several.
                    return self._only_new_run(target, snapshot, since, deadline)
                return None
            pause_before_looking(min(governor.next_poll(PollBounds()).interval, limit - now), now - start)

    def _match_correlation_id(
        self,
        target: _Target,
        candidates: list[WorkflowRun],
        correlation_id: str,
        checked_jobs: set[int],
        deadline: float | None,
    ) -> WorkflowRun | None:
        for run in candidates:
            if correlation_id in _titles(run):
                return run
        name = target.request.correlation_input
        if target.definition is not None and name and target.definition.shows_in_run_name(name):
            return None  # its run-name shows the id: a run that does not show it is not ours
        # Not in any run-name: the workflow may show it in a step name instead. Jobs exist only
        # once the run starts, so a run is checked again until it has jobs.
        for run in candidates:
            if run.id in checked_jobs or _ANY_MARK.search(_titles(run)):
                continue
            jobs = self.api.get(f"{target.repo.api_path}/actions/runs/{run.id}/jobs", deadline=deadline).data
            names = [
                str(step.get("name", ""))
                for job in jobs.get("jobs", [])
                for step in [*job.get("steps", []), {"name": job.get("name", "")}]
            ]
            if any(correlation_id in name for name in names):
                return run
            if jobs.get("jobs"):
                checked_jobs.add(run.id)
        return None

    def _only_new_run(
        self, target: _Target, snapshot: set[int] | None, since: float, deadline: float | None
    ) -> tuple[WorkflowRun, str] | None:
        candidates = [
            run
            for run in self._new_runs(target, since, deadline)
            if (snapshot is None or run.id not in snapshot) and not _ANY_MARK.search(_titles(run))
        ]
        if len(candidates) > 1:
            raise AmbiguousRunError(
                f"{len(candidates)} new runs of {_what(target)} on {target.ref} and the correlation id shows "
                "in none of them; cannot tell which one is ours"
            )
        return (candidates[0], "new run on the ref") if candidates else None


def _titles(run: WorkflowRun) -> str:
    # With a run-name, both `display_title` and `name` carry it (actions/runner#4141).
    return f"{run.display_title}\n{run.name}"


# The first GitHub Enterprise Server release that may know `return_run_details`: up to 3.20 it
# is refused (benc-uk/workflow-dispatch#86; the ghes-3.19 description in @octokit/openapi 23.0.2
# has no such field). Later releases are asked, and a refusal is still understood.
_RUN_DETAILS_FROM_GHES = (3, 21)


def _returns_run_details(enterprise_version: str) -> bool:
    numbers = re.findall(r"\d+", enterprise_version)[:2]
    if len(numbers) < 2:
        return True  # not understood: ask, and understand a refusal
    return (int(numbers[0]), int(numbers[1])) >= _RUN_DETAILS_FROM_GHES


def _short(sha: str | None) -> str:
    return sha[:7] if sha else "the ref's head"


_NOT_DISPATCHABLE_HINT = (
    "GitHub dispatches only workflows whose file on the dispatch ref has `on: workflow_dispatch`: "
    "add it to {path} (on that branch or tag), or, for a workflow on `repository_dispatch`, give "
    "event-type instead of workflow"
)


def _explained(exc: ValidationFailedError, target: _Target) -> WaitAndDispatchError:
    """GitHub's 422 for a dispatch, with a hint for what it means, not GitHub's words alone: its
    messages are recorded in Workflow.testCreateDispatchForNonTriggerEnabled ("Workflow does not
    have 'workflow_dispatch' trigger") and reported in github/docs#590 ("No ref found for: <sha>")."""
    text = exc.message
    if "No ref found for" in text:
        if workflow_runs.is_sha(target.ref):
            exc.hint = (
                "dispatch takes a branch or tag, not a commit SHA: give the branch or tag as ref, and the "
                "commit as sha to find its runs"
            )
        else:
            return UsageError(
                f"ref {target.ref!r} does not exist in {target.repo} ({text})",
                hint="give an existing branch or tag name (without refs/heads/)",
            )
    elif "does not have 'workflow_dispatch' trigger" in text and target.workflow is not None:
        exc.hint = _NOT_DISPATCHABLE_HINT.format(path=target.workflow.path)
    elif "disabled workflow" in text:
        exc.hint = "enable the workflow (Actions tab, or `gh workflow enable`), then dispatch it again"
    return exc


def _what(target: _Target) -> str:
    if target.workflow is not None:
        return target.workflow.describe()
    return f"repository_dispatch {target.request.event_type!r}"


def _earliest(limit: float, deadline: float | None) -> float:
    return limit if deadline is None else min(limit, deadline)
