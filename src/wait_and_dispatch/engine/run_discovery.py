"""Finding the run a dispatch started, when GitHub's answer did not name it.

By a correlation id: a fresh, unique value in an input the workflow declares (`distinct_id` by
default), shown in the run's `display_title`/`name` through its `run-name` (actions/runner#4141)
or in a job step's name. "Get a run" does not return inputs (Alfresco/alfresco-build-tools#1409),
so these are the only places it can be seen. Else by the set of `workflow_dispatch` runs on the
ref, created since just before the dispatch, that were not there before it (and by our actor
when known). "Since" is on GitHub's clock, as `created_at` and the `created` filter are: the
`Date` of its answers, never the runner's clock, which may be seconds off. Exactly one: it is
ours. More than one: an error that says how to add a correlation input. Never the "newest run".
"""

from __future__ import annotations

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.dispatch_target import ANY_MARK, Target, earliest, label, titles
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.engine.progress import ProgressCallback, ProgressEvent, ProgressKind, format_seconds
from wait_and_dispatch.engine.results import DispatchedRun
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.github_api.polling import PollBounds, governor_for
from wait_and_dispatch.support.errors import AmbiguousRunError

# How long to keep looking for other candidate runs once one new run has appeared, so that a
# second dispatch made at the same moment is seen (runs can take seconds to be listed:
# apache/airflow#71305) and the choice is never a guess.
SETTLE_SECONDS = 15.0
# How long after a dispatch its run is first looked for in the lists (it takes seconds to appear).
LIST_DELAY = 3.0


class RunDiscovery:
    """Looks for the run a dispatch started, and announces it once found."""

    def __init__(self, api: GitHubApi, on_progress: ProgressCallback) -> None:
        self.api = api
        self.say = on_progress

    def started(
        self, target: Target, run: WorkflowRun, correlation_id: str | None, how: str
    ) -> DispatchedRun:
        """The run the dispatch started, found (`how`), told as a DISPATCHED event naming it: the
        edges learn from it which run to cancel."""
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

    def new_runs(self, target: Target, since: float, deadline: float | None) -> list[WorkflowRun]:
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

    def snapshot(self, target: Target, deadline: float | None) -> set[int]:
        """The runs already there before our dispatch, so that they are never taken for ours."""
        return {run.id for run in self.new_runs(target, self.server_now() - 3600, deadline)}

    def server_now(self) -> float:
        """GitHub's time now, from the `Date` of its answers (never ahead of it: a filter from it
        starts early, never late). Before any answer, which a dispatch never is, our clock."""
        server = self.api.server_time()
        return self.api.clock.now() if server is None else server

    def correlate(
        self,
        target: Target,
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
        limit = earliest(start + window, deadline)
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
                        subject=label(target),
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
                        subject=label(target),
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
                for run in self.new_runs(target, since, deadline)
                if snapshot is None or run.id not in snapshot
            ]
            if correlation_id is not None:
                match = self._match_correlation_id(target, candidates, correlation_id, checked_jobs, deadline)
                if match is not None:
                    return match, "correlation id"
                unmarked = [run for run in candidates if not ANY_MARK.search(titles(run))]
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
                        f"{len(candidates)} new {target.event} runs of {label(target)} on {target.ref} "
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
        target: Target,
        candidates: list[WorkflowRun],
        correlation_id: str,
        checked_jobs: set[int],
        deadline: float | None,
    ) -> WorkflowRun | None:
        for run in candidates:
            if correlation_id in titles(run):
                return run
        name = target.request.correlation_input
        if target.definition is not None and name and target.definition.shows_in_run_name(name):
            return None  # its run-name shows the id: a run that does not show it is not ours
        # Not in any run-name: the workflow may show it in a step name instead. Jobs exist only
        # once the run starts, so a run is checked again until it has jobs.
        for run in candidates:
            if run.id in checked_jobs or ANY_MARK.search(titles(run)):
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
        self, target: Target, snapshot: set[int] | None, since: float, deadline: float | None
    ) -> tuple[WorkflowRun, str] | None:
        candidates = [
            run
            for run in self.new_runs(target, since, deadline)
            if (snapshot is None or run.id not in snapshot) and not ANY_MARK.search(titles(run))
        ]
        if len(candidates) > 1:
            raise AmbiguousRunError(
                f"{len(candidates)} new runs of {label(target)} on {target.ref} and the correlation id shows "
                "in none of them; cannot tell which one is ours"
            )
        return (candidates[0], "new run on the ref") if candidates else None


def find_by_correlation(
    api: GitHubApi, repo: Repository, suffix: str, since: float, *, deadline: float | None = None
) -> WorkflowRun | None:
    """The `workflow_dispatch` run of `repo` created since `since` (GitHub's time) whose name shows
    a correlation id ending in `suffix` (`RunRequest.correlation_suffix`), if one is listed: the
    run another process dispatched with that id and may not have lived to record."""
    mark = f"-{suffix}"
    runs = workflow_runs.find_runs(
        api, repo, event="workflow_dispatch", created=workflow_runs.created_since(since), deadline=deadline
    )
    return next((run for run in runs if mark in titles(run)), None)
