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

The pieces: `dispatch_target.py` resolves the request (workflow, ref, SHA, key) and checks it
against the workflow file; `existing_runs.py` finds a run to reuse, or waits for one (dispatch:
never); `dispatch_send.py` sends the POST and reads its answer; `run_discovery.py` finds the run
a dispatch started. `Dispatcher`, here, runs them in order, sends again when that is safe, and
keeps a run it may have started from going unseen.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.dispatch_send import DispatchSender, explained
from wait_and_dispatch.engine.dispatch_target import Target, TargetResolver, label, short_sha
from wait_and_dispatch.engine.existing_runs import existing_run, wait_for_appearance
from wait_and_dispatch.engine.github_objects import Workflow, WorkflowRun
from wait_and_dispatch.engine.progress import (
    ProgressCallback,
    ProgressEvent,
    ProgressKind,
    format_seconds,
    ignore_progress,
)
from wait_and_dispatch.engine.requests import DispatchPolicy, RunRequest
from wait_and_dispatch.engine.results import DispatchedRun
from wait_and_dispatch.engine.run_discovery import RunDiscovery
from wait_and_dispatch.engine.waiting import cancel_after_timeout
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import (
    DeadlineExceededError,
    DispatchInterrupted,
    DispatchOutcomeUnknownError,
    RunNotFoundError,
    ValidationFailedError,
    WaitAndDispatchError,
    WriteOutcomeUnknownError,
)
from wait_and_dispatch.support.interrupts import write_in_flight

_RESENDS = 2
# How long a dispatched run is still looked for once the deadline or an interrupt has come, so
# that it can be cancelled rather than left going unseen. A few seconds: the runner kills a
# cancelled step 10 s after its SIGINT (SIGTERM at 7.5 s, SIGKILL 2.5 s later: `_sigintTimeout`
# and `_sigtermTimeout` in actions/runner's src/Runner.Sdk/ProcessInvoker.cs), a job ends within
# 5 s of its deadline, and the cancel needs a moment of its own.
FIND_GRACE = 4.0


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
    """Finds or starts runs: resolves the request (`TargetResolver`), reuses a run already there
    (`existing_runs.py`), sends the dispatch (`DispatchSender`) and finds the run it started
    (`RunDiscovery`); a run it may have started is never left going unseen."""

    def __init__(self, api: GitHubApi, on_progress: ProgressCallback = ignore_progress) -> None:
        self.api = api
        self.say = on_progress
        self.sender = DispatchSender(api, on_progress)
        self.targets = TargetResolver(api, on_progress, self.sender.learn_server_version)
        self.discovery = RunDiscovery(api, on_progress)

    @property
    def run_details_supported(self) -> bool | None:
        """Whether this server understands `return_run_details`; None: not known yet."""
        return self.sender.run_details_supported

    @run_details_supported.setter
    def run_details_supported(self, known: bool | None) -> None:
        self.sender.run_details_supported = known

    # -- the entry point ---------------------------------------------------------------------

    def find_or_dispatch(
        self, request: RunRequest, *, deadline: float | None = None, cancel_on_timeout: bool = False
    ) -> DispatchedRun:
        """The run for `request`: found, or dispatched and then found. `cancel_on_timeout`: when
        the deadline comes before a dispatched run is found, look for it a few seconds more and
        cancel it."""
        target = self.targets.resolve(
            request, deadline, need_sha=request.dispatch is not DispatchPolicy.ALWAYS
        )
        if request.dispatch is not DispatchPolicy.ALWAYS:
            existing = existing_run(self.api, target, deadline)
            if existing is not None:
                self.say(
                    ProgressEvent(
                        ProgressKind.FOUND,
                        f"found {existing.describe()} for {short_sha(target.sha)} ({existing.status}); "
                        "not dispatching",
                        subject=f"run {existing.id}",
                        status=existing.status,
                        url=existing.html_url,
                    )
                )
                return DispatchedRun(existing, dispatched=False, how="existing run")
        if request.dispatch is DispatchPolicy.NEVER:
            return wait_for_appearance(self.api, self.say, target, deadline)
        return self._dispatch(
            self.targets.prepare(target, deadline), deadline, cancel_on_timeout=cancel_on_timeout
        )

    def preview(self, request: RunRequest, *, deadline: float | None = None) -> DispatchPreview:
        """What `find_or_dispatch` would do, using read requests only."""
        target = self.targets.resolve(request, deadline, need_sha=True)
        existing = (
            None if request.dispatch is DispatchPolicy.ALWAYS else existing_run(self.api, target, deadline)
        )
        would_dispatch = existing is None and request.dispatch is not DispatchPolicy.NEVER
        if would_dispatch:
            target = self.targets.prepare(target, deadline)  # the same checks as a real dispatch
        inputs = dict(request.client_payload if request.is_repository_dispatch else request.inputs)
        if self.targets.correlation_name(target):
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

    # -- dispatching -------------------------------------------------------------------------

    def _dispatch(self, target: Target, deadline: float | None, *, cancel_on_timeout: bool) -> DispatchedRun:
        name = self.targets.correlation_name(target)
        suffix = target.request.correlation_suffix or secrets.token_hex(4)
        sent = _Sent(f"{target.key}-{suffix}" if name else None)
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
        self, target: Target, sent: _Sent, deadline: float | None, *, cancel_on_timeout: bool
    ) -> DispatchedRun:
        resends = 0
        while True:
            if sent.correlation_id is None and sent.snapshot is None and self.sender.needs_snapshot(target):
                sent.snapshot = self.discovery.snapshot(target, deadline)
            # On GitHub's clock: `created` and `created_at` are, and ours may be seconds off.
            # `RunDiscovery.new_runs` starts a second early for `created`'s one-second precision.
            since = sent.since = self.discovery.server_now()
            try:
                # An interrupt waits for the answer, which may name the run (support/interrupts.py).
                with write_in_flight():
                    run_id = sent.run_id = self.sender.send(target, sent.correlation_id, deadline)
            except ValidationFailedError as exc:
                refused = self.sender.refused_field(exc, target, sent.correlation_id)
                if refused == "return_run_details":
                    self.sender.run_details_supported = False
                    continue
                if refused == "correlation":
                    sent.correlation_id = None
                    continue
                raise explained(exc, target) from None
            except WriteOutcomeUnknownError as exc:
                self.say(
                    ProgressEvent(
                        ProgressKind.CORRELATING,
                        f"the dispatch may or may not have started a run ({exc.message}); looking for it "
                        "before sending it again",
                        subject=label(target),
                    )
                )
                window = target.request.discovery_timeout
                searched_until = self.api.clock.now() + window
                found = self.discovery.correlate(
                    target, sent.correlation_id, sent.snapshot, since, deadline, give_up_after=window
                )
                if found is not None:
                    return self.discovery.started(
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
                return self.discovery.started(target, run, sent.correlation_id, "return_run_details")
            searched_until = self.api.clock.now() + target.request.discovery_timeout
            found = self.discovery.correlate(
                target, sent.correlation_id, sent.snapshot, since, deadline, give_up_after=None
            )
            if found is not None:
                return self.discovery.started(target, found[0], sent.correlation_id, found[1])
            if deadline is not None and deadline < searched_until:
                raise self._cut_by_deadline(target, sent, cancel_on_timeout, lost=None)
            raise RunNotFoundError(
                f"dispatched {label(target)} on {target.ref}, but its run did not appear within "
                f"{format_seconds(target.request.discovery_timeout)}: {self._how_to_find(target, sent)}",
                hint="GitHub may be slow to list new runs; raise the discovery timeout",
            )

    def _after_interrupt(self, target: Target, sent: _Sent) -> DispatchInterrupted | None:
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
                f"the dispatch of {label(target)} on {target.ref} had started run {sent.run_id} "
                "when the signal came",
                hint="it is cancelled unless cancel-on-cancel is off; then cancel it in the "
                "repository's Actions tab if it should not run",
            )
        found = self._find_within_grace(target, sent)
        if found is not None:
            self.discovery.started(target, found[0], sent.correlation_id, "correlation after an interrupt")
            return None
        return DispatchInterrupted(
            f"the dispatch of {label(target)} on {target.ref} may have started a run, and it was not "
            f"found before stopping: {self._how_to_find(target, sent)}",
            hint="find that run in the repository's Actions tab, and cancel it if it should not run",
        )

    def _cut_by_deadline(
        self, target: Target, sent: _Sent, cancel: bool, *, lost: WriteOutcomeUnknownError | None
    ) -> DeadlineExceededError:
        """The deadline came while the dispatched run was looked for. With cancel-on-timeout the
        run is looked for a few seconds more and cancelled; either way the error says which run
        it is, or how to find it."""
        if lost is not None:
            what = (
                f"the dispatch of {label(target)} on {target.ref} may have started a run (GitHub's answer "
                f"was lost: {lost.status or 'no answer'}), and the deadline came before the search for it "
                "ended; it was not sent again, so at most one run started"
            )
            error: type[DeadlineExceededError] = DispatchOutcomeUnknownError
        else:
            what = (
                f"dispatched {label(target)} on {target.ref}, and the deadline came before its run was listed"
            )
            error = DeadlineExceededError
        hint = (
            "raise the timeout above the discovery timeout so that the search can finish, or find the "
            "run in the repository's Actions tab"
        )
        found = self._find_within_grace(target, sent) if cancel else None
        if found is None:
            return error(f"{what}: {self._how_to_find(target, sent)}", hint=hint)
        started = self.discovery.started(target, found[0], sent.correlation_id, found[1])
        if cancel_after_timeout(self.api, target.repo, started.run, self.say):
            return error(f"{what}; found it afterwards, run {started.run.id}, and cancelled it", hint=hint)
        return error(
            f"{what}; found it afterwards, run {started.run.id}, and could not cancel it: "
            f"{started.run.html_url}",
            hint=hint,
        )

    def _find_within_grace(self, target: Target, sent: _Sent) -> tuple[WorkflowRun, str] | None:
        """The dispatched run, looked for `FIND_GRACE` seconds more (past any deadline); None if
        it cannot be told apart or does not appear by then."""
        if sent.since is None or (sent.correlation_id is None and sent.snapshot is None):
            return None  # nothing to tell our run from someone else's: never guess
        until = self.api.clock.now() + FIND_GRACE
        try:
            with self.api.deadline_scope(until, replace=True):
                return self.discovery.correlate(
                    target, sent.correlation_id, sent.snapshot, sent.since, until, give_up_after=FIND_GRACE
                )
        except WaitAndDispatchError:
            return None

    def _how_to_find(self, target: Target, sent: _Sent) -> str:
        if sent.correlation_id:
            return f"look for the run whose name shows {sent.correlation_id}"
        moment = datetime.datetime.fromtimestamp(sent.since or self.discovery.server_now(), datetime.UTC)
        return (
            f"look for a {target.event} run of it on {target.ref} created at "
            f"{moment:%Y-%m-%dT%H:%M:%SZ} or just after"
        )
