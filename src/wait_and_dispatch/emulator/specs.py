"""What a scenario says, as frozen dataclasses: options, tokens, apps, repositories with their
workflows, runs, commits, check suites and check runs (docs/emulator.md, "Scenario reference").
`scenario_parser` builds them from a scenario's YAML or JSON and checks every key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TOKEN_KINDS = ("github_token", "pat", "app")
PERMISSION_LEVELS = ("none", "read", "write")
PERMISSION_SCOPES = ("actions", "contents", "checks")
INPUT_TYPES = ("string", "choice", "boolean", "number", "environment")
WORKFLOW_STATES = ("active", "disabled_manually", "disabled_inactivity", "disabled_fork")


@dataclass(frozen=True)
class Options:
    return_run_details: bool = True
    dispatch_visibility_delay: float = 3.0
    # Seconds the list endpoints of runs lag behind "Get a workflow run": a list shows each run as
    # it was that long ago. GitHub documents no bound; that a new run takes seconds to be listed
    # (apache/airflow#71305) shows lists are served from a view that lags. A switch, off by
    # default, to see that no client takes a list's "still going" for the last word.
    list_status_lag: float = 0.0
    artifact_url_ttl: float = 60.0
    anonymous_rate_limit: int = 60
    # Seconds to send as `X-Poll-Interval` on every GET answer, or None. GitHub sends it on the
    # endpoints that want pollers to slow down (REST "Best practices": "honor the x-poll-interval
    # header"; the Events API sends it): a switch, to see that clients obey it.
    poll_interval_header: int | None = None
    # GitHub's secondary limit on points per minute per token (REST "Rate limits": 900 for REST;
    # GET/HEAD/OPTIONS 1 point, POST/PATCH/PUT/DELETE 5), answered 403 with retry-after. None: off
    # (tests on a manual clock send many requests in one instant of simulated time).
    secondary_points_per_minute: int | None = None
    # Set: the server is GitHub Enterprise Server of this version, and says so in the
    # X-GitHub-Enterprise-Version header of every API answer (lerna/lerna#1930). It serves the API
    # under /api/v3 ("https://HOSTNAME/api/v3", REST "Getting started" for GHES).
    enterprise_version: str | None = None
    # Seconds the server's clock is ahead of the clock it is given (negative: behind). A runner's
    # clock and GitHub's are never exactly the same: every time GitHub shows (its `Date` header,
    # `created_at`, the `created` filter) is on its own clock.
    clock_offset: float = 0.0
    # The primary rate limit: on github.com always; on GHES off unless the site admin turns it on
    # (GHES "Rate limits for the REST API": "Rate limits are disabled by default"). Off: no
    # x-ratelimit-* headers, no 403 for a spent budget, and /rate_limit answers 404 "Rate limiting
    # is not enabled." (actions/stale#1227, magithub#104). None: on, unless enterprise_version.
    rate_limiting: bool | None = None
    # GitHub's rules for `workflow_run` events (docs/github-behaviour.md#events-that-start-workflows),
    # each a switch. A run dispatched with a GITHUB_TOKEN fires no `workflow_run` when it completes
    # (field evidence only, e.g. software-mansion/rnrepo#41; GitHub documents that events made with
    # GITHUB_TOKEN start no workflow, dispatches excepted): True lets it fire, as a PAT's or an
    # App's dispatch does.
    workflow_run_from_github_token: bool = False
    # "You can't use workflow_run to chain together more than three levels of workflows" (GitHub
    # docs, "Events that trigger workflows", `workflow_run`): a run started by `workflow_run` at
    # this depth starts no further one.
    workflow_run_max_depth: int = 3

    @property
    def rate_limited(self) -> bool:
        return self.rate_limiting if self.rate_limiting is not None else self.enterprise_version is None


@dataclass(frozen=True)
class TokenSpec:
    name: str
    secret: str
    kind: str
    repos: tuple[str, ...] | None  # None: every repository ("*")
    permissions: Mapping[str, str]
    actor: str
    rate_limit: int | None = None  # overrides the kind's hourly budget
    expires_at: float | None = None  # clock time after which GitHub answers 401 (installation tokens)
    installation_id: int | None = None  # an App installation's token: DELETE /installation/token revokes it
    app_slug: str | None = None  # the App itself, authenticated by a JWT: only the /app endpoints take it


@dataclass(frozen=True)
class TimelineSpec:
    """Seconds spent in each status, in this order: requested, pending, queued, waiting, in_progress."""

    requested: float = 0.0
    pending: float = 0.0
    queued: float = 5.0
    waiting: float = 0.0
    duration: float = 60.0

    @property
    def before_start(self) -> float:
        return self.requested + self.pending + self.queued + self.waiting

    @property
    def total(self) -> float:
        return self.before_start + self.duration


TIMELINE_FIELDS = ("requested", "pending", "queued", "waiting", "duration")


ANNOTATION_LEVELS = ("notice", "warning", "failure")


@dataclass(frozen=True)
class AnnotationSpec:
    """One annotation of a job's or an app's check run (REST "List check run annotations")."""

    path: str
    start_line: int
    end_line: int
    level: str  # notice | warning | failure (GitHub's word for `::error`)
    message: str
    title: str | None = None
    start_column: int | None = None
    end_column: int | None = None
    raw_details: str | None = None


# The `if:` of a step that runs after an earlier step failed: the status check functions that hold
# then (GitHub docs, "Evaluate expressions in workflows and actions": `always()`, `failure()`;
# `!cancelled()` holds unless the run was cancelled).
STEP_CONDITIONS_AFTER_FAILURE = frozenset({"always()", "failure()", "!cancelled()"})


@dataclass(frozen=True)
class StepSpec:
    """One step of a job when the scenario says more than its name."""

    name: str
    run: str | None = None  # a `run:` step's script: its first line titles the step's section
    uses: str | None = None  # an action step's `owner/repo@ref`, `./path` or `docker://image`
    condition: str | None = None  # its `if:`, without `${{ }}`
    log: tuple[str, ...] = ()  # its output, as its log shows it

    @property
    def runs_after_failure(self) -> bool:
        return self.condition in STEP_CONDITIONS_AFTER_FAILURE


def first_script_line(script: str) -> str:
    """The line a `run:` step's section is titled with: its script's first line after leading
    blanks (actions/runner `ScriptHandler.PrintActionDetails`)."""
    return (script.lstrip(" \t\r\n").splitlines() or [""])[0]


@dataclass(frozen=True)
class JobSpec:
    name: str
    steps: tuple[str, ...]
    start: float
    duration: float | None  # None: until the run ends
    conclusion: str | None = None
    labels: tuple[str, ...] = ("ubuntu-latest",)
    fails_at: int | None = None  # the index in `steps` of the step that fails the job
    annotations: tuple[AnnotationSpec, ...] = ()  # what the failing step reported
    log: tuple[str, ...] = ()  # the failing step's output, as its log shows it
    step_details: tuple[StepSpec, ...] = ()  # one per step when the scenario gives any in detail

    def step_detail(self, index: int) -> StepSpec:
        """The step at `index` of `steps`, with what the scenario said of it."""
        return self.step_details[index] if self.step_details else StepSpec(self.steps[index])


@dataclass(frozen=True)
class ZipEntry:
    name: str
    content: bytes = b""
    symlink: str | None = None


@dataclass(frozen=True)
class ArtifactSpec:
    name: str
    files: Mapping[str, bytes] = field(default_factory=dict)
    entries: tuple[ZipEntry, ...] = ()
    size: int | None = None  # synthetic content of this many bytes
    retention_days: float = 90.0
    expired: bool = False
    digest: str | None = None
    digest_set: bool = False  # the scenario set `digest` (to null or a wrong value) on purpose
    # upload-artifact v7 `archive: false`: one file uploaded as is, the artifact named after it.
    archive: bool = True
    content: bytes = b""  # the one file's bytes (archive: false), unless `size` makes them up
    content_type: str | None = None  # None: by the name's extension, as upload-artifact sets it


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: str = "string"
    required: bool = False
    default: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseSpec:
    """`cases:` one way a workflow's run can go, chosen by an expression over the run's context.

    A run takes the first case whose `condition` is true; what the case leaves as None (or does
    not set) stays the workflow's.
    """

    condition: str  # the `if:` expression, without `${{ }}`
    conclusions: tuple[str, ...] | None = None
    timeline: TimelineSpec | None = None
    jobs: tuple[JobSpec, ...] | None = None
    artifacts: tuple[ArtifactSpec, ...] | None = None


@dataclass(frozen=True)
class WorkflowRunTrigger:
    """`on.workflow_run`: the workflows listened to, by their `name` (not their file), the activity
    types (None: all of `requested`, `in_progress`, `completed`) and the branch filters on the
    triggering run's head branch (GitHub docs, "Events that trigger workflows", `workflow_run`)."""

    workflows: tuple[str, ...]
    types: tuple[str, ...] | None = None
    branches: tuple[str, ...] | None = None
    branches_ignore: tuple[str, ...] | None = None


WORKFLOW_RUN_TYPES = ("requested", "in_progress", "completed")


@dataclass(frozen=True)
class WorkflowSpec:
    path: str
    name: str
    id: int | None
    state: str
    triggers: Mapping[str, tuple[str, ...] | None]  # event -> types (None: any type)
    run_name: str | None
    inputs: tuple[InputSpec, ...]
    timeline: TimelineSpec
    conclusions: tuple[str, ...]
    jobs: tuple[JobSpec, ...]
    artifacts: tuple[ArtifactSpec, ...]
    cases: tuple[CaseSpec, ...] = ()
    workflow_run: WorkflowRunTrigger | None = None
    # Its runs stay in progress until the test ends them (`Emulator.finish_run`): a job whose steps
    # the test plays, such as an orchestrator's. One the test never ends
    # is cancelled when GitHub's limit of 35 days for a workflow run is reached (GitHub docs,
    # "Usage limits": workflow run time).
    held: bool = False

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RunSpec:
    workflow: str
    event: str
    head_sha: str | None
    head_branch: str | None
    created: float
    timeline: TimelineSpec | None
    conclusions: tuple[str, ...] | None
    run_attempt: int
    actor: str
    head_repository: str | None
    inputs: Mapping[str, str]
    artifacts: tuple[ArtifactSpec, ...] | None
    display_title: str | None


@dataclass(frozen=True)
class AppSpec:
    slug: str
    id: int | None = None


@dataclass(frozen=True)
class InstallationSpec:
    """Where a GitHub App is installed: an account, all or some of its repositories, permissions."""

    id: int
    account: str
    repos: tuple[str, ...] | None  # None: every repository of the account ("*")
    permissions: Mapping[str, str]


@dataclass(frozen=True)
class GitHubAppSpec:
    """A GitHub App that authenticates with a JWT signed by its private key (RS256).

    The scenario holds only the public key: the client keeps the private one, as on GitHub.
    """

    slug: str
    id: int
    public_key: str  # PEM
    installations: tuple[InstallationSpec, ...] = ()


@dataclass(frozen=True)
class CheckRunSpec:
    name: str
    head_sha: str
    app: AppSpec
    created: float
    timeline: TimelineSpec
    conclusion: str
    output_title: str | None = None
    output_summary: str | None = None
    annotations: tuple[AnnotationSpec, ...] = ()


@dataclass(frozen=True)
class CheckSuiteSpec:
    """An app's check suite on a commit, as GitHub creates one on a push for every app with checks
    permission: `queued` with no check runs until the app creates one, and forever if it never does."""

    head_sha: str
    app: AppSpec
    created: float


@dataclass(frozen=True)
class CommitSpec:
    message: str
    author: str = "Mona Lisa Octocat"
    email: str = "mona@example.com"
    login: str = "octocat"
    # The commits it was made on: what tells a fast-forward from a rewrite when a ref moves
    # (REST "Update a reference", `force`).
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepoSpec:
    full_name: str
    private: bool
    default_branch: str
    branches: Mapping[str, str]
    tags: Mapping[str, str]
    commits: Mapping[str, CommitSpec]
    workflows: tuple[WorkflowSpec, ...]
    runs: tuple[RunSpec, ...]
    check_runs: tuple[CheckRunSpec, ...]
    id: int | None = None
    check_suites: tuple[CheckSuiteSpec, ...] = ()
    # Names the repository had before a rename or a transfer: requests naming one answer 301
    # (reads) or 307 (writes) to the same path under /repositories/{id} (GitHub changelog
    # 2015-04-17 "Repository redirects"; gidgethub/gidgethub#214 shows the Location).
    renamed_from: tuple[str, ...] = ()
