"""The live model: repositories, workflows, runs and their attempts, jobs, checks, artifacts, tokens.

Nothing here moves on its own. A run stores when it was requested and what its timeline and
conclusion are; its status, its jobs, its check runs and its artifacts are computed from
`clock.now()` each time someone asks (docs/emulator.md: "all timeline state is derived
lazily"). A test that shares a ManualClock with the client therefore sees a 20-minute run
complete exactly when the client's sleeps add up to 20 minutes.

All access goes through `State.lock` (one re-entrant lock for the whole model).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, Any

from wait_and_dispatch.emulator.scenario import (
    AppSpec,
    ArtifactSpec,
    CaseSpec,
    CheckRunSpec,
    CommitSpec,
    GitHubAppSpec,
    JobSpec,
    RepoSpec,
    Scenario,
    TimelineSpec,
    TokenSpec,
    WorkflowSpec,
)
from wait_and_dispatch.support.clock import Clock
from wait_and_dispatch.support.expressions import evaluate, render, truthy

# The GitHub Actions app: its real id on github.com is 15368 (`app.id` of every Actions check run).
ACTIONS_APP = AppSpec(slug="github-actions", id=15368)
# Conclusions after which a run has no jobs at all: the run never started
# (startup_failure: the workflow file is invalid; action_required: approval needed first).
_NO_JOB_CONCLUSIONS = ("startup_failure", "action_required")
# Runs that end like this upload nothing (upload-artifact steps never ran).
_NO_ARTIFACT_CONCLUSIONS = ("cancelled", "skipped", "startup_failure", "action_required", "stale")
# Hourly primary budgets per token kind (GITHUB-FACTS "Rate limits").
RATE_LIMITS = {"github_token": 1000, "pat": 5000, "app": 5000}  # nosec # B105: request budgets per token kind, not passwords
HOUR = 3600.0


def stable_id(text: str, base: int, spread: int) -> int:
    """A deterministic id for a name (user and app ids), so answers do not change between runs."""
    return base + int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % spread


class Ids:
    """Id counters, one per kind of object, starting where GitHub's ids look plausible."""

    def __init__(self) -> None:
        self._next = {
            "repo": 700_000_001,
            "workflow": 1001,
            "run": 9_000_000_001,
            "job": 30_000_000_001,
            "suite": 20_000_000_001,
            "artifact": 500_000_001,
            "app": 900_001,
            "installation_token": 1,  # nosec # B105: the first id of a counter, not a password
        }

    def next(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value


@dataclass
class Workflow:
    spec: WorkflowSpec
    id: int
    repo: Repo
    state: str
    created_at: float
    updated_at: float
    run_count: int = 0
    conclusion_turn: int = 0
    case_turns: dict[int, int] = field(default_factory=dict)  # per case index, as conclusion_turn

    def next_conclusion(self, case: int | None = None) -> str:
        # `conclusion: [failure, success]`: successive runs and re-run attempts take them in turn;
        # a case's list is taken in turn by the runs that match that case.
        if case is not None:
            case_conclusions = self.spec.cases[case].conclusions
            if case_conclusions is not None:
                turn = self.case_turns.get(case, 0)
                self.case_turns[case] = turn + 1
                return case_conclusions[turn % len(case_conclusions)]
        conclusions = self.spec.conclusions
        value = conclusions[self.conclusion_turn % len(conclusions)]
        self.conclusion_turn += 1
        return value

    def case_for(self, context: Mapping[str, Any]) -> int | None:
        """The index of the first case whose `if` holds for a run with this context."""
        for index, case in enumerate(self.spec.cases):
            if _holds(case.condition, context):
                return index
        return None


@dataclass
class Job:
    id: int
    spec: JobSpec
    name: str
    steps: tuple[str, ...]
    conclusion: str


@dataclass
class JobState:
    status: str
    conclusion: str | None
    created_at: float
    started_at: float
    completed_at: float | None


@dataclass
class Artifact:
    id: int
    spec: ArtifactSpec
    run: Run
    attempt: int
    deleted: bool = False


@dataclass
class Attempt:
    number: int
    origin: float
    timeline: TimelineSpec
    conclusion: str
    check_suite_id: int
    triggering_actor: str
    jobs: list[Job] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    cancelled_at: float | None = None

    @property
    def started_in_progress(self) -> float:
        return self.origin + self.timeline.before_start

    @property
    def natural_end(self) -> float:
        return self.origin + self.timeline.total

    @property
    def end(self) -> float:
        if self.cancelled_at is not None and self.cancelled_at < self.natural_end:
            return self.cancelled_at
        return self.natural_end

    def final_conclusion(self) -> str:
        if self.cancelled_at is not None and self.cancelled_at < self.natural_end:
            return "cancelled"
        return self.conclusion

    def status_at(self, now: float) -> tuple[str, str | None, float]:
        """(status, conclusion, time of the last change) at `now`."""
        if now >= self.end:
            return "completed", self.final_conclusion(), self.end
        t = self.origin
        tl = self.timeline
        for status, seconds in (
            ("requested", tl.requested),
            ("pending", tl.pending),
            ("queued", tl.queued),
            ("waiting", tl.waiting),
        ):
            if now < t + seconds:
                return status, None, t
            t += seconds
        return "in_progress", None, t

    def job_state(self, job: Job, now: float) -> JobState | None:
        """The job at `now`, or None while it does not exist yet (jobs behind `needs:` are late)."""
        begin = self.started_in_progress
        start = begin + job.spec.start
        natural_end = self.natural_end
        cancel = (
            self.cancelled_at if self.cancelled_at is not None and self.cancelled_at < natural_end else None
        )
        if cancel is not None and cancel < begin:
            return None
        if cancel is not None and cancel <= start:
            if now < cancel:
                return None
            return JobState("completed", "cancelled", cancel, cancel, cancel)
        if start >= natural_end:
            # The run ended before this job could start: GitHub shows it as skipped.
            if now < natural_end:
                return None
            return JobState("completed", "skipped", natural_end, natural_end, natural_end)
        if now < start:
            return None
        end = natural_end if job.spec.duration is None else min(start + job.spec.duration, natural_end)
        conclusion = job.conclusion
        if cancel is not None and cancel < end:
            end, conclusion = cancel, "cancelled"
        if now < end:
            return JobState("in_progress", None, start, start, None)
        return JobState("completed", conclusion, start, start, end)

    def uploads_artifacts(self) -> bool:
        return self.final_conclusion() not in _NO_ARTIFACT_CONCLUSIONS


@dataclass
class Run:
    id: int
    repo: Repo
    workflow: Workflow
    run_number: int
    event: str
    head_sha: str
    head_branch: str | None
    actor: str
    created_at: float
    visible_at: float
    head_repository: str
    name: str
    display_title: str
    context: Mapping[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    conclusions: tuple[str, ...] | None = None  # per attempt, from the scenario
    artifact_specs: tuple[ArtifactSpec, ...] | None = None  # None: the case's or the workflow's
    deleted: bool = False
    case: int | None = None  # the index of the workflow's case this run matched

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]

    @property
    def case_spec(self) -> CaseSpec | None:
        return None if self.case is None else self.workflow.spec.cases[self.case]

    @property
    def job_specs(self) -> tuple[JobSpec, ...]:
        case = self.case_spec
        return case.jobs if case is not None and case.jobs is not None else self.workflow.spec.jobs

    @property
    def uploads(self) -> tuple[ArtifactSpec, ...]:
        """What each attempt uploads: the scenario run's own list, else the case's, else the workflow's."""
        if self.artifact_specs is not None:
            return self.artifact_specs
        case = self.case_spec
        return (
            case.artifacts
            if case is not None and case.artifacts is not None
            else self.workflow.spec.artifacts
        )

    def attempt(self, number: int) -> Attempt | None:
        return self.attempts[number - 1] if 1 <= number <= len(self.attempts) else None

    def exists(self, now: float) -> bool:
        return not self.deleted and now >= self.created_at


@dataclass
class AppCheckRun:
    id: int
    spec: CheckRunSpec
    app_id: int
    suite_id: int
    created_at: float

    def state(self, now: float) -> JobState | None:
        if now < self.created_at:
            return None
        start = self.created_at + self.spec.timeline.before_start
        end = self.created_at + self.spec.timeline.total
        if now < start:
            return JobState("queued", None, self.created_at, self.created_at, None)
        if now < end:
            return JobState("in_progress", None, self.created_at, start, None)
        return JobState("completed", self.spec.conclusion, self.created_at, start, end)


@dataclass
class Repo:
    spec: RepoSpec
    id: int
    created_at: float
    workflows: list[Workflow] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    check_runs: list[AppCheckRun] = field(default_factory=list)
    app_suites: dict[tuple[int, str], int] = field(default_factory=dict)
    # When each app suite exists from, if before its first check run (scenario `check_suites`).
    app_suite_created: dict[int, float] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return self.spec.full_name

    @property
    def owner(self) -> str:
        return self.spec.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.spec.full_name.split("/")[1]

    def workflow(self, ref: str) -> Workflow | None:
        """A workflow by id, file name or path (OpenAPI actions/get-workflow: `workflow_id`)."""
        for wf in self.workflows:
            if ref in (str(wf.id), wf.spec.file_name, wf.spec.path):
                return wf
        return None

    def branch_or_tag(self, ref: str) -> tuple[str, str] | None:
        """(short name, sha) for a branch or tag name (`refs/heads/x`, `refs/tags/x` also)."""
        for prefix, table in (("refs/heads/", self.spec.branches), ("refs/tags/", self.spec.tags)):
            if ref.startswith(prefix) and ref[len(prefix) :] in table:
                return ref[len(prefix) :], table[ref[len(prefix) :]]
        if ref in self.spec.branches:
            return ref, self.spec.branches[ref]
        if ref in self.spec.tags:
            return ref, self.spec.tags[ref]
        return None

    def known_shas(self) -> set[str]:
        shas = set(self.spec.branches.values()) | set(self.spec.tags.values()) | set(self.spec.commits)
        shas.update(run.head_sha for run in self.runs)
        shas.update(cr.spec.head_sha for cr in self.check_runs)
        shas.update(sha for _, sha in self.app_suites)
        return shas

    def resolve_commit(self, ref: str) -> str | None:
        """A commit SHA for a branch, a tag, a SHA or an unambiguous SHA prefix of 7+ characters."""
        named = self.branch_or_tag(ref)
        if named is not None:
            return named[1]
        # repos/get-commit and the check-runs/check-suites lists (OpenAPI `commit-ref`): "a commit
        # SHA, branch name (`heads/BRANCH_NAME`), or tag name (`tags/TAG_NAME`)".
        for prefix, table in (("heads/", self.spec.branches), ("tags/", self.spec.tags)):
            if ref.startswith(prefix) and ref[len(prefix) :] in table:
                return table[ref[len(prefix) :]]
        ref = ref.lower()
        matches = [sha for sha in self.known_shas() if sha.startswith(ref)] if len(ref) >= 7 else []
        return matches[0] if len(matches) == 1 else None

    def commit(self, sha: str) -> CommitSpec:
        return self.spec.commits.get(sha) or CommitSpec(message=f"Commit {sha[:7]}")


@dataclass
class Budget:
    limit: int
    window_start: float | None = None
    used: int = 0

    def refresh(self, now: float) -> None:
        # GitHub's window starts with the first request and resets an hour later.
        if self.window_start is None or now >= self.window_start + HOUR:
            self.window_start = now
            self.used = 0

    def reset_at(self, now: float) -> int:
        self.refresh(now)
        assert self.window_start is not None  # nosec B101 # an invariant for mypy, not a check of input
        return int(self.window_start + HOUR)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class BlobStore:
    """Artifact zips: built on first use; synthetic big ones are written once to a temp file."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._small: dict[int, bytes] = {}
        self._files: dict[tuple[str, int, bool], tuple[str, int, str]] = {}
        self._meta: dict[int, tuple[int, str]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None
            self._files.clear()

    def describe(self, artifact: Artifact) -> tuple[int, str]:
        """(size in bytes, sha256 hex) of the artifact's blob: its zip, or its one raw file."""
        with self._lock:
            if artifact.id not in self._meta:
                spec = artifact.spec
                if spec.size is not None:
                    _, size, digest = self._synthetic(spec.name, spec.size, archive=spec.archive)
                    self._meta[artifact.id] = (size, digest)
                else:
                    data = _build_zip(spec) if spec.archive else spec.content
                    self._small[artifact.id] = data
                    self._meta[artifact.id] = (len(data), hashlib.sha256(data).hexdigest())
            return self._meta[artifact.id]

    def open(self, artifact: Artifact) -> tuple[int, Iterator[bytes]]:
        """The zip's length and an iterator over its bytes in chunks (constant memory)."""
        size, _ = self.describe(artifact)
        with self._lock:
            if artifact.spec.size is None:
                data = self._small[artifact.id]
                return size, iter([data[i : i + 65536] for i in range(0, len(data), 65536)] or [b""])
            path, _, _ = self._synthetic(
                artifact.spec.name, artifact.spec.size, archive=artifact.spec.archive
            )
        return size, _read_chunks(path)

    def _synthetic(self, name: str, size: int, *, archive: bool = True) -> tuple[str, int, str]:
        key = (name, size, archive)
        if key not in self._files:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="wad-emulator-")
            path = os.path.join(self._dir.name, f"{len(self._files)}.{'zip' if archive else 'bin'}")
            block = b"".join(hashlib.sha256(f"{name}:{i}".encode()).digest() for i in range(2048))
            if archive:
                with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zipped:
                    info = zipfile.ZipInfo(f"{name}.bin", date_time=(2026, 1, 1, 0, 0, 0))
                    with zipped.open(info, "w", force_zip64=size >= 2**31) as out:
                        _write_synthetic(out, block, size)
            else:
                with open(path, "wb") as out:
                    _write_synthetic(out, block, size)
            digest = hashlib.sha256()
            for chunk in _read_chunks(path):
                digest.update(chunk)
            self._files[key] = (path, os.path.getsize(path), digest.hexdigest())
        return self._files[key]


def _write_synthetic(out: IO[bytes], block: bytes, size: int) -> None:
    left = size
    while left > 0:
        out.write(block[: min(left, len(block))])
        left -= len(block)


def _read_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(65536):
            yield chunk


def _build_zip(spec: ArtifactSpec) -> bytes:
    buffer = io.BytesIO()
    # upload-artifact deflates (compression-level 6 by default); `writestr` with a ZipInfo would
    # store uncompressed unless told, so every entry names its compression.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in spec.files.items():
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)),
                content,
                compress_type=zipfile.ZIP_DEFLATED,
                compresslevel=6,
            )
        for entry in spec.entries:
            # Crafted entries for the client's safety tests: names are written as given
            # (`../evil.txt`, absolute paths), symlinks as Unix symlink entries.
            info = zipfile.ZipInfo(date_time=(2026, 1, 1, 0, 0, 0))
            info.filename = entry.name
            if entry.symlink is not None:
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, entry.symlink.encode())
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, entry.content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buffer.getvalue()


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
            self._load_repo(spec)

    # -- loading ---------------------------------------------------------------------------

    def _load_repo(self, spec: RepoSpec) -> None:
        repo = Repo(spec=spec, id=spec.id or self.ids.next("repo"), created_at=self.start - 86400 * 365)
        self.repos[spec.full_name] = repo
        for wf_spec in spec.workflows:
            wf = Workflow(
                spec=wf_spec,
                id=wf_spec.id or self.ids.next("workflow"),
                repo=repo,
                state=wf_spec.state,
                created_at=self.start - 86400 * 30,
                updated_at=self.start - 86400 * 30,
            )
            repo.workflows.append(wf)
        # Scenario runs get their run numbers in creation order, as GitHub numbers them.
        for run_spec in sorted(spec.runs, key=lambda r: r.created):
            found = repo.workflow(run_spec.workflow)
            assert found is not None  # nosec B101 # checked by the scenario parser
            wf = found
            branch = run_spec.head_branch
            sha = run_spec.head_sha
            if sha is None:
                branch = branch or spec.default_branch
                named = repo.branch_or_tag(branch)
                sha = named[1] if named else spec.branches[spec.default_branch]
            run = self._create_run(
                repo,
                wf,
                event=run_spec.event,
                head_sha=sha,
                head_branch=branch,
                actor=run_spec.actor,
                created=self.start + run_spec.created,
                visible_delay=0.0,
                inputs=run_spec.inputs,
                client_payload=None,
                timeline=run_spec.timeline,
                conclusions=run_spec.conclusions,
                head_repository=run_spec.head_repository or repo.full_name,
                artifacts=run_spec.artifacts,
                attempts=run_spec.run_attempt,
                display_title=run_spec.display_title,
            )
            del run
        for suite_spec in spec.check_suites:
            suite_key = (self._app_id(suite_spec.app), suite_spec.head_sha)
            if suite_key not in repo.app_suites:
                repo.app_suites[suite_key] = self.ids.next("suite")
            suite_id = repo.app_suites[suite_key]
            created = self.start + suite_spec.created
            repo.app_suite_created[suite_id] = min(created, repo.app_suite_created.get(suite_id, created))
        for cr_spec in spec.check_runs:
            app_id = self._app_id(cr_spec.app)
            suite_key = (app_id, cr_spec.head_sha)
            if suite_key not in repo.app_suites:
                repo.app_suites[suite_key] = self.ids.next("suite")
            repo.check_runs.append(
                AppCheckRun(
                    id=self.ids.next("job"),
                    spec=cr_spec,
                    app_id=app_id,
                    suite_id=repo.app_suites[suite_key],
                    created_at=self.start + cr_spec.created,
                )
            )

    def _app_id(self, app: AppSpec) -> int:
        if app.id is not None:
            self.app_ids[app.slug] = app.id
        if app.slug not in self.app_ids:
            self.app_ids[app.slug] = self.ids.next("app")
        return self.app_ids[app.slug]

    # -- runs ------------------------------------------------------------------------------

    def now(self) -> float:
        """The server's time: the clock it was given, off by the scenario's `clock_offset`."""
        return self.clock.now() + self.options.clock_offset

    def _create_run(
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
    ) -> Run:
        wf.run_count += 1
        event_payload: dict[str, Any] = {}
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
                "ref": (f"refs/tags/{ref_name}" if ref_name in repo.spec.tags else f"refs/heads/{ref_name}"),
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
        # run-name gives both `display_title` and `name` (GITHUB-FACTS "Finding runs";
        # actions/runner#4141). Without it: the workflow name for dispatches, the head
        # commit's first line for pushes (display_title only; `name` stays the workflow name).
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
            # name twice across suites (GITHUB-FACTS "Check runs", lewagon PR #156).
            check_suite_id=self.ids.next("suite"),
            triggering_actor=triggering_actor,
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
        if attempt.conclusion not in _NO_JOB_CONCLUSIONS:
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
        self, repo: Repo, wf: Workflow, ref_name: str, sha: str, inputs: Mapping[str, str], actor: str
    ) -> Run:
        now = self.now()
        return self._create_run(
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
        )

    def repository_dispatch(
        self, repo: Repo, event_type: str, client_payload: Mapping[str, Any], actor: str
    ) -> list[Run]:
        # Runs only on the default branch (GITHUB-FACTS "Dispatch").
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
                self._create_run(
                    repo,
                    wf,
                    event="repository_dispatch",
                    head_sha=repo.spec.branches[branch],
                    head_branch=branch,
                    actor=actor,
                    created=now,
                    visible_delay=self.options.dispatch_visibility_delay,
                    inputs={},
                    client_payload=dict(client_payload),
                    event_type=event_type,
                )
            )
        return runs

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


def _holds(condition: str, context: Mapping[str, Any]) -> bool:
    return truthy(evaluate(condition, context))


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
