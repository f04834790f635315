"""The live model: every object of the emulated GitHub (model.py), the tokens and budgets, and
what changes them: a scenario loaded, a dispatch, a cancel, a re-run.

Nothing here moves on its own. A run stores when it was requested and what its timeline and
conclusion are; its status, its jobs, its check runs and its artifacts are computed from
`clock.now()` each time someone asks (docs/emulator.md: "all timeline state is derived
lazily"). A test that shares a ManualClock with the client therefore sees a 20-minute run
complete exactly when the client's sleeps add up to 20 minutes.

All access goes through `State.lock` (one re-entrant lock for the whole model).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wait_and_dispatch.emulator.blobs import BlobStore
from wait_and_dispatch.emulator.loading import load_repo
from wait_and_dispatch.emulator.model import (
    ACTIONS_APP,
    NO_JOB_CONCLUSIONS,
    Artifact,
    Attempt,
    Budget,
    Ids,
    Job,
    JobState,
    Repo,
    Run,
    Workflow,
)
from wait_and_dispatch.emulator.scenario import Scenario
from wait_and_dispatch.emulator.specs import ArtifactSpec, GitHubAppSpec, JobSpec, TimelineSpec, TokenSpec
from wait_and_dispatch.support.clock import Clock
from wait_and_dispatch.support.expressions import render


class State:
    """The whole emulated GitHub. Hold `lock` while reading or changing anything."""

    def __init__(self, scenario: Scenario, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.scenario = scenario
        self.options = scenario.options
        self.clock = clock
        self.start = self.now()
        self.ids = Ids()
        self.blobs = BlobStore()
        self.tokens: dict[str, TokenSpec] = dict(scenario.tokens)
        self.apps: dict[str, GitHubAppSpec] = dict(scenario.apps)
        self.revoked_tokens: list[str] = []  # names of installation tokens revoked, in order
        self.budgets: dict[str, Budget] = {}
        self.repos: dict[str, Repo] = {}
        self.runs: dict[int, Run] = {}
        self.artifacts: dict[int, Artifact] = {}
        self.jobs: dict[int, tuple[Run, Attempt, Job]] = {}
        self.app_ids: dict[str, int] = {ACTIONS_APP.slug: ACTIONS_APP.id or 15368}
        self.request_count = 0
        for spec in scenario.repos.values():
            load_repo(self, spec)

    # -- runs ------------------------------------------------------------------------------

    def now(self) -> float:
        """The server's time: the clock it was given, off by the scenario's `clock_offset`."""
        return self.clock.now() + self.options.clock_offset

    def create_run(
        self,
        repo: Repo,
        wf: Workflow,
        *,
        event: str,
        head_sha: str,
        head_branch: str | None,
        actor: str,
        created: float,
        visible_delay: float,
        inputs: Mapping[str, str],
        client_payload: Mapping[str, Any] | None,
        timeline: TimelineSpec | None = None,
        conclusions: tuple[str, ...] | None = None,
        head_repository: str | None = None,
        artifacts: tuple[ArtifactSpec, ...] | None = None,
        attempts: int = 1,
        display_title: str | None = None,
        event_type: str | None = None,
        token_kind: str | None = None,
        workflow_run_depth: int = 0,
        webhook_payload: Mapping[str, Any] | None = None,
    ) -> Run:
        wf.run_count += 1
        event_payload: dict[str, Any] = dict(webhook_payload or {})
        if event == "workflow_dispatch":
            event_payload["inputs"] = dict(inputs)
        if client_payload is not None:
            event_payload["client_payload"] = dict(client_payload)
            event_payload["action"] = event_type
        ref_name = head_branch or ""
        run_id = self.ids.next("run")
        context: dict[str, Any] = {
            "inputs": dict(inputs),
            "github": {
                "actor": actor,
                "triggering_actor": actor,
                "event_name": event,
                "event": event_payload,
                "sha": head_sha,
                "ref_name": ref_name,
                "ref": (f"refs/tags/{ref_name}" if ref_name in repo.tags else f"refs/heads/{ref_name}"),
                "repository": repo.full_name,
                "repository_owner": repo.owner,
                "workflow": wf.spec.name,
                # Contexts docs: `github.run_id` is "a unique number for each workflow run", known
                # before run-name and the jobs are evaluated, and a string like every github.* value.
                "run_id": str(run_id),
                "run_number": wf.run_count,
                "run_attempt": 1,
            },
        }
        # run-name gives both `display_title` and `name` (actions/runner#4141). Without it: the
        # workflow name for dispatches, the head commit's first line for pushes (display_title
        # only; `name` stays the workflow name).
        if wf.spec.run_name is not None:
            name = title = render(wf.spec.run_name, context)
        else:
            name = wf.spec.name
            title = (
                name
                if event in ("workflow_dispatch", "repository_dispatch", "schedule")
                else (
                    repo.commit(head_sha).message.splitlines()[0] if repo.commit(head_sha).message else name
                )
            )
        case = wf.case_for(context)
        run = Run(
            id=run_id,
            repo=repo,
            workflow=wf,
            run_number=wf.run_count,
            event=event,
            head_sha=head_sha,
            head_branch=head_branch,
            actor=actor,
            created_at=created,
            visible_at=created + visible_delay,
            head_repository=head_repository or repo.full_name,
            name=name,
            display_title=display_title or title,
            context=context,
            conclusions=conclusions,
            artifact_specs=artifacts,
            case=case,
            token_kind=token_kind,
            workflow_run_depth=workflow_run_depth,
            event_payload=webhook_payload,
        )
        case_spec = run.case_spec
        run_timeline = timeline or (case_spec.timeline if case_spec is not None else None) or wf.spec.timeline
        for number in range(1, attempts + 1):
            # Earlier attempts of a scenario run ended before the latest one was requested.
            origin = created - (attempts - number) * (run_timeline.total + 1)
            self._add_attempt(run, origin, run_timeline, actor)
        repo.runs.append(run)
        self.runs[run.id] = run
        return run

    def _conclusion_for(self, run: Run, number: int) -> str:
        if run.workflow.spec.held:
            return "cancelled"  # unless the test finishes it first (`finish`)
        if run.conclusions is not None:
            return run.conclusions[min(number, len(run.conclusions)) - 1]
        return run.workflow.next_conclusion(run.case)

    def _add_attempt(
        self,
        run: Run,
        origin: float,
        timeline: TimelineSpec,
        triggering_actor: str,
        only_jobs: set[str] | None = None,
    ) -> Attempt:
        number = len(run.attempts) + 1
        attempt = Attempt(
            number=number,
            origin=origin,
            timeline=timeline,
            conclusion=self._conclusion_for(run, number),
            # Each attempt reports in a new check suite, so `filter=latest` can list a job
            # name twice across suites (lewagon/wait-on-check-action PR #156).
            check_suite_id=self.ids.next("suite"),
            triggering_actor=triggering_actor,
            held=run.workflow.spec.held,
        )
        context = dict(run.context)
        context["github"] = {**run.context["github"], "run_attempt": number}
        specs = run.job_specs or (
            JobSpec(
                name="build", steps=("Set up job", "Run build", "Complete job"), start=0.0, duration=None
            ),
        )
        if only_jobs is not None:
            specs = tuple(s for s in specs if render(s.name, context) in only_jobs)
        if attempt.conclusion not in NO_JOB_CONCLUSIONS:
            for index, spec in enumerate(specs):
                job = Job(
                    id=self.ids.next("job"),
                    spec=spec,
                    name=render(spec.name, context),
                    steps=tuple(render(s, context) for s in spec.steps),
                    conclusion=spec.conclusion
                    or _job_conclusion(attempt.conclusion, index == len(specs) - 1),
                )
                attempt.jobs.append(job)
                self.jobs[job.id] = (run, attempt, job)
        for artifact_spec in run.uploads:
            # upload-artifact names and the files a job writes often come from the run's
            # context (`metrics-${{ matrix.attempt }}`), so both are rendered per attempt.
            artifact = Artifact(
                id=self.ids.next("artifact"), spec=_rendered(artifact_spec, context), run=run, attempt=number
            )
            attempt.artifacts.append(artifact)
            self.artifacts[artifact.id] = artifact
        run.attempts.append(attempt)
        return attempt

    def dispatch(
        self,
        repo: Repo,
        wf: Workflow,
        ref_name: str,
        sha: str,
        inputs: Mapping[str, str],
        actor: str,
        token_kind: str | None = None,
    ) -> Run:
        now = self.now()
        return self.create_run(
            repo,
            wf,
            event="workflow_dispatch",
            head_sha=sha,
            head_branch=ref_name,
            actor=actor,
            created=now,
            visible_delay=self.options.dispatch_visibility_delay,
            inputs=inputs,
            client_payload=None,
            token_kind=token_kind,
        )

    def repository_dispatch(
        self,
        repo: Repo,
        event_type: str,
        client_payload: Mapping[str, Any],
        actor: str,
        token_kind: str | None = None,
    ) -> list[Run]:
        # Runs only on the default branch (Events that trigger workflows, `repository_dispatch`:
        # "This event will only trigger a workflow run if the workflow file exists on the default
        # branch").
        now = self.now()
        branch = repo.spec.default_branch
        runs = []
        for wf in repo.workflows:
            if wf.state != "active" or "repository_dispatch" not in wf.spec.triggers:
                continue
            types = wf.spec.triggers["repository_dispatch"]
            if types is not None and event_type not in types:
                continue
            runs.append(
                self.create_run(
                    repo,
                    wf,
                    event="repository_dispatch",
                    head_sha=repo.branches[branch],
                    head_branch=branch,
                    actor=actor,
                    created=now,
                    visible_delay=self.options.dispatch_visibility_delay,
                    inputs={},
                    client_payload=dict(client_payload),
                    event_type=event_type,
                    token_kind=token_kind,
                )
            )
        return runs

    def finish(self, run: Run, conclusion: str) -> None:
        """End the latest attempt of a `held` workflow's run now, with `conclusion`: what its job
        did, played by the test."""
        attempt = run.latest
        if not attempt.held:
            raise ValueError(f"run {run.id} is not of a held workflow: its timeline ends it")
        now = self.now()
        if attempt.status_at(now)[0] == "completed":
            raise ValueError(f"run {run.id} has already completed")
        attempt.finished_at = now
        attempt.conclusion = conclusion
        last = len(attempt.jobs) - 1
        for index, job in enumerate(attempt.jobs):
            job.conclusion = job.spec.conclusion or _job_conclusion(conclusion, index == last)

    def cancel(self, run: Run) -> bool:
        """Cancel the latest attempt at once; False when it had already completed."""
        now = self.now()
        attempt = run.latest
        if attempt.status_at(now)[0] == "completed":
            return False
        attempt.cancelled_at = now
        return True

    def rerun(self, run: Run, actor: str, failed_only: bool) -> bool:
        """Start a new attempt (same run id, run_attempt + 1); False when the run is not done."""
        now = self.now()
        previous = run.latest
        if previous.status_at(now)[0] != "completed":
            return False
        only: set[str] | None = None
        if failed_only:
            only = set()
            for job in previous.jobs:
                state = previous.job_state(job, now)
                if state is None or state.conclusion not in ("success", "skipped", "neutral"):
                    only.add(job.name)
            if not only and previous.jobs:
                return False
        timeline = previous.timeline
        self._add_attempt(run, now, timeline, actor, only)
        return True

    # -- derived views ---------------------------------------------------------------------

    def job_states(self, run: Run, attempt: Attempt, now: float) -> list[tuple[Job, JobState]]:
        states = []
        for job in attempt.jobs:
            state = attempt.job_state(job, now)
            if state is not None:
                states.append((job, state))
        return states

    def artifact_visible(self, artifact: Artifact, now: float) -> bool:
        """Artifacts exist once their attempt completes (uploads happen during the run)."""
        if artifact.deleted or not artifact.run.exists(now):
            return False
        attempt = artifact.run.attempts[artifact.attempt - 1]
        return attempt.status_at(now)[0] == "completed" and attempt.uploads_artifacts()

    def artifact_times(self, artifact: Artifact) -> tuple[float, float]:
        """(created_at, expires_at) of a visible artifact."""
        created = artifact.run.attempts[artifact.attempt - 1].end
        return created, created + artifact.spec.retention_days * 86400

    def artifact_expired(self, artifact: Artifact, now: float) -> bool:
        return artifact.spec.expired or now >= self.artifact_times(artifact)[1]

    def budget(self, key: str, limit: int) -> Budget:
        if key not in self.budgets:
            self.budgets[key] = Budget(limit=limit)
        return self.budgets[key]


def _rendered(spec: ArtifactSpec, context: Mapping[str, Any]) -> ArtifactSpec:
    files = {
        path: render(content.decode(), context).encode() if b"${{" in content else content
        for path, content in spec.files.items()
    }
    return replace(spec, name=render(spec.name, context), files=files)


def _job_conclusion(run_conclusion: str, last: bool) -> str:
    """How a run's conclusion shows on its jobs: the last job carries a failure-like conclusion."""
    if run_conclusion in ("success", "neutral"):
        return "success"
    if run_conclusion == "skipped":
        return "skipped"
    if run_conclusion == "stale":
        # `stale` is not a job conclusion (OpenAPI job `conclusion` enum): jobs of a stale
        # run were left unfinished and are shown as cancelled.
        return "cancelled" if last else "success"
    return run_conclusion if last else "success"
