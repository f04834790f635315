"""The scenario: what the emulated GitHub holds when it starts (docs/emulator.md, "Scenario reference").

A scenario is parsed once into frozen dataclasses; every unknown key, wrong type or dangling
reference is a `UsageError` that names the key's path (`repos.octo/app.workflows[0].timeline.queud`),
so a typo in a test's scenario fails loudly instead of silently changing behaviour.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from wait_and_dispatch.emulator.faults import FAULT_KINDS, Fault
from wait_and_dispatch.support import safe_yaml
from wait_and_dispatch.support.errors import UsageError
from wait_and_dispatch.support.expressions import ExpressionError, check_template, function_calls, unwrap
from wait_and_dispatch.support.github_vocabulary import CHECK_CONCLUSIONS, RUN_CONCLUSIONS

TOKEN_KINDS = ("github_token", "pat", "app")
PERMISSION_LEVELS = ("none", "read", "write")
PERMISSION_SCOPES = ("actions", "contents", "checks")
INPUT_TYPES = ("string", "choice", "boolean", "number", "environment")
WORKFLOW_STATES = ("active", "disabled_manually", "disabled_inactivity", "disabled_fork")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


class _Reader:
    """Reads one mapping of the scenario, remembering its path for error messages."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise _error(f"scenario: {path or '<top>'}: expected a mapping, got {_type_name(data)}")
        # YAML 1.1 reads a bare `on:` key as the boolean true (as in workflow files).
        self.data: Mapping[str, Any] = {("on" if k is True else k): v for k, v in data.items()}
        self.path = path
        self.seen: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: object = None) -> Any:
        self.seen.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.raw(key)
        if value is None:
            if required:
                raise _error(f"scenario: {self.key_path(key)}: required")
            if default is None:
                raise _error(f"scenario: {self.key_path(key)}: required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _error(f"scenario: {self.key_path(key)}: expected a string, got {_type_name(value)}")
        return str(value)

    def opt_text(self, key: str) -> str | None:
        if self.raw(key) is None:
            return None
        return self.text(key)

    def number(self, key: str, default: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _error(f"scenario: {self.key_path(key)}: expected a number, got {_type_name(value)}")
        if not math.isfinite(value):  # YAML's .nan and .inf: no timeline or delay can be either
            raise _error(f"scenario: {self.key_path(key)}: expected a finite number, got {value}")
        return float(value)

    def nonneg(self, key: str, default: float) -> float:
        value = self.number(key, default)
        if value < 0:
            raise _error(f"scenario: {self.key_path(key)}: must not be negative")
        return value

    def integer(self, key: str, default: int | None) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise _error(f"scenario: {self.key_path(key)}: expected an integer, got {_type_name(value)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _error(f"scenario: {self.key_path(key)}: expected true or false, got {_type_name(value)}")
        return value

    def choice(self, key: str, allowed: Sequence[str], default: str) -> str:
        value = self.text(key, default)
        if value not in allowed:
            raise _error(f"scenario: {self.key_path(key)}: {value!r} is not one of {', '.join(allowed)}")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _error(f"scenario: {self.key_path(key)}: expected a list, got {_type_name(value)}")
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise _error(f"scenario: {self.key_path(key)}: expected a mapping, got {_type_name(value)}")
        return value

    def done(self) -> None:
        unknown = [str(k) for k in self.data if k not in self.seen]
        if unknown:
            raise _error(f"scenario: {self.path or '<top>'}: unknown key {unknown[0]!r}")


def _error(message: str) -> UsageError:
    return UsageError(
        message, hint="see 'Scenario reference' in docs/emulator.md for what a scenario may say"
    )


def _type_name(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


@dataclass(frozen=True)
class Options:
    return_run_details: bool = True
    dispatch_visibility_delay: float = 3.0
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


_TIMELINE_FIELDS = ("requested", "pending", "queued", "waiting", "duration")


@dataclass(frozen=True)
class JobSpec:
    name: str
    steps: tuple[str, ...]
    start: float
    duration: float | None  # None: until the run ends
    conclusion: str | None = None
    labels: tuple[str, ...] = ("ubuntu-latest",)


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


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario. Build it with `from_dict`, `load` or `demo`."""

    options: Options = field(default_factory=Options)
    tokens: Mapping[str, TokenSpec] = field(default_factory=dict)
    repos: Mapping[str, RepoSpec] = field(default_factory=dict)
    faults: tuple[Fault, ...] = ()
    apps: Mapping[str, GitHubAppSpec] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        top = _Reader(data, "")
        options = _parse_options(_Reader(top.mapping("options"), "options"))
        tokens = {
            str(name): _parse_token(str(name), _Reader(spec, f"tokens.{name}"))
            for name, spec in top.mapping("tokens").items()
        }
        secrets = [t.secret for t in tokens.values()]
        if len(set(secrets)) != len(secrets):
            raise _error("scenario: tokens: two tokens share one secret")
        repos = {
            str(name): _parse_repo(str(name), _Reader(spec, f"repos.{name}"))
            for name, spec in top.mapping("repos").items()
        }
        faults = tuple(
            _parse_fault(_Reader(spec, f"faults[{i}]")) for i, spec in enumerate(top.items("faults"))
        )
        apps = {
            str(slug): _parse_app(str(slug), _Reader(spec, f"apps.{slug}"))
            for slug, spec in top.mapping("apps").items()
        }
        top.done()
        for token in tokens.values():
            for repo in token.repos or ():
                if repo not in repos:
                    raise _error(f"scenario: tokens.{token.name}.repos: unknown repository {repo!r}")
        installation_ids = [i.id for app in apps.values() for i in app.installations]
        if len(set(installation_ids)) != len(installation_ids):
            raise _error("scenario: apps: two installations share one id")
        for app in apps.values():
            for n, installation in enumerate(app.installations):
                for repo in installation.repos or ():
                    if repo not in repos or repo.split("/")[0] != installation.account:
                        raise _error(
                            f"scenario: apps.{app.slug}.installations[{n}].repos: {repo!r} is not a "
                            f"repository of {installation.account} in this scenario"
                        )
        return cls(options=options, tokens=tokens, repos=repos, faults=faults, apps=apps)

    def at_speed(self, speed: float) -> Scenario:
        """This scenario told `speed` times faster: every span of its story (timelines, job starts
        and durations, the offsets of runs, checks and faults, the delay before a dispatched run
        is listed) divided by `speed`.

        The clock stays the real one, as GitHub's is: timestamps, `Date` and `created` filters
        agree with every client's clock, and a run dispatched a minute ago is a minute old. Only
        the waits are shorter. (Running the clock itself faster made every earlier run look
        newer than a client's "now".) What GitHub fixes, not the story, is kept: signed URLs'
        lifetime, rate-limit windows, token lifetimes, retention in days, `slow` faults' delay.
        """
        if speed == 1:
            return self

        def span(seconds: float) -> float:
            return seconds / speed

        def timeline(spec: TimelineSpec) -> TimelineSpec:
            return TimelineSpec(*(span(getattr(spec, name)) for name in _TIMELINE_FIELDS))

        def jobs(specs: tuple[JobSpec, ...]) -> tuple[JobSpec, ...]:
            return tuple(
                replace(
                    job, start=span(job.start), duration=None if job.duration is None else span(job.duration)
                )
                for job in specs
            )

        def case(spec: CaseSpec) -> CaseSpec:
            return replace(
                spec,
                timeline=None if spec.timeline is None else timeline(spec.timeline),
                jobs=None if spec.jobs is None else jobs(spec.jobs),
            )

        def workflow(spec: WorkflowSpec) -> WorkflowSpec:
            return replace(
                spec,
                timeline=timeline(spec.timeline),
                jobs=jobs(spec.jobs),
                cases=tuple(case(c) for c in spec.cases),
            )

        def repo(spec: RepoSpec) -> RepoSpec:
            return replace(
                spec,
                workflows=tuple(workflow(w) for w in spec.workflows),
                runs=tuple(
                    replace(
                        run,
                        created=span(run.created),
                        timeline=None if run.timeline is None else timeline(run.timeline),
                    )
                    for run in spec.runs
                ),
                check_runs=tuple(
                    replace(check, created=span(check.created), timeline=timeline(check.timeline))
                    for check in spec.check_runs
                ),
                check_suites=tuple(
                    replace(suite, created=span(suite.created)) for suite in spec.check_suites
                ),
            )

        return replace(
            self,
            options=replace(
                self.options, dispatch_visibility_delay=span(self.options.dispatch_visibility_delay)
            ),
            repos={name: repo(spec) for name, spec in self.repos.items()},
            faults=tuple(
                replace(
                    fault,
                    since=None if fault.since is None else span(fault.since),
                    until=None if fault.until is None else span(fault.until),
                )
                for fault in self.faults
            ),
        )

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a scenario from a YAML or JSON file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(
                f"cannot read scenario {path}: {error.strerror}",
                hint="check the path of the scenario file (YAML or JSON)",
            ) from error
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "<scenario>") -> Scenario:
        try:
            data = json.loads(text) if source.endswith(".json") else safe_yaml.load(text)
        except (yaml.YAMLError, json.JSONDecodeError) as error:
            raise _error(f"scenario {source} is not valid YAML/JSON: {error}") from error
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise _error(f"scenario {source}: expected a mapping at the top")
        return cls.from_dict(data)

    @classmethod
    def demo(cls) -> Scenario:
        """The scenario shipped with the package (`emulator/scenarios/demo.yml`)."""
        text = resources.files("wait_and_dispatch.emulator").joinpath("scenarios/demo.yml").read_text("utf-8")
        return cls.from_text(text, "demo.yml")


def _parse_options(r: _Reader) -> Options:
    options = Options(
        return_run_details=r.flag("return_run_details", True),
        dispatch_visibility_delay=r.nonneg("dispatch_visibility_delay", 3.0),
        artifact_url_ttl=r.nonneg("artifact_url_ttl", 60.0),
        anonymous_rate_limit=r.integer("anonymous_rate_limit", 60) or 0,
        poll_interval_header=r.integer("poll_interval_header", None),
        secondary_points_per_minute=r.integer("secondary_points_per_minute", None),
        enterprise_version=r.opt_text("enterprise_version"),
        clock_offset=r.number("clock_offset", 0.0),
        rate_limiting=None if r.raw("rate_limiting") is None else r.flag("rate_limiting", True),
    )
    r.done()
    return options


def _parse_token(name: str, r: _Reader) -> TokenSpec:
    kind = r.choice("kind", TOKEN_KINDS, "pat")
    repos_raw = r.raw("repos", "*")
    repos: tuple[str, ...] | None
    if repos_raw == "*":
        repos = None
    elif isinstance(repos_raw, list) and all(isinstance(x, str) for x in repos_raw):
        repos = tuple(repos_raw)
    else:
        raise _error(f"scenario: tokens.{name}.repos: expected '*' or a list of owner/name")
    permissions = _permissions(r, f"tokens.{name}.permissions")
    # GITHUB_TOKEN acts as github-actions[bot] (GitHub docs "Automatic token authentication").
    default_actor = (
        "github-actions[bot]" if kind == "github_token" else ("app[bot]" if kind == "app" else name)
    )
    token = TokenSpec(
        name=name,
        secret=r.text("secret", required=True),
        kind=kind,
        repos=repos,
        permissions=permissions,
        actor=r.text("actor", default_actor),
        rate_limit=r.integer("rate_limit", None),
    )
    r.done()
    return token


def _permissions(r: _Reader, path: str) -> dict[str, str]:
    reader = _Reader(r.mapping("permissions"), path)
    permissions = {scope: reader.choice(scope, PERMISSION_LEVELS, "write") for scope in PERMISSION_SCOPES}
    reader.done()
    return permissions


def _parse_app(slug: str, r: _Reader) -> GitHubAppSpec:
    app_id = r.integer("id", None)
    if app_id is None or app_id <= 0:
        raise _error(f"scenario: apps.{slug}.id: required, a positive integer")
    public_key = r.text("public_key", required=True)
    if "BEGIN PUBLIC KEY" not in public_key:
        raise _error(f"scenario: apps.{slug}.public_key: expected a PEM public key (BEGIN PUBLIC KEY)")
    installations = []
    for n, spec in enumerate(r.items("installations")):
        path = f"apps.{slug}.installations[{n}]"
        ir = _Reader(spec, path)
        installation_id = ir.integer("id", None)
        if installation_id is None or installation_id <= 0:
            raise _error(f"scenario: {path}.id: required, a positive integer")
        repos_raw = ir.raw("repos", "*")
        if repos_raw == "*":
            repos: tuple[str, ...] | None = None
        elif isinstance(repos_raw, list) and all(isinstance(x, str) for x in repos_raw):
            repos = tuple(repos_raw)
        else:
            raise _error(f"scenario: {path}.repos: expected '*' or a list of owner/name")
        installations.append(
            InstallationSpec(
                id=installation_id,
                account=ir.text("account", required=True),
                repos=repos,
                permissions=_permissions(ir, f"{path}.permissions"),
            )
        )
        ir.done()
    app = GitHubAppSpec(slug=slug, id=app_id, public_key=public_key, installations=tuple(installations))
    r.done()
    return app


def _parse_timeline(value: object, path: str, default: TimelineSpec | None = None) -> TimelineSpec:
    base = default or TimelineSpec()
    r = _Reader(value, path)
    timeline = TimelineSpec(
        requested=r.nonneg("requested", base.requested),
        pending=r.nonneg("pending", base.pending),
        queued=r.nonneg("queued", base.queued),
        waiting=r.nonneg("waiting", base.waiting),
        duration=r.nonneg("duration", base.duration),
    )
    r.done()
    return timeline


def _parse_conclusions(value: object, path: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _error(f"scenario: {path}: expected a conclusion or a non-empty list of them")
    for item in items:
        if item not in RUN_CONCLUSIONS:
            raise _error(f"scenario: {path}: {item!r} is not one of {', '.join(RUN_CONCLUSIONS)}")
    return tuple(str(x) for x in items)


def _parse_sha(value: object, path: str) -> str:
    if not isinstance(value, str) or not _SHA_RE.match(value):
        raise _error(f"scenario: {path}: expected a 40-hex lower-case commit SHA, got {value!r}")
    return value


def _parse_template(value: str | None, path: str) -> str | None:
    if value is not None:
        try:
            check_template(value)
        except ExpressionError as error:
            raise _error(f"scenario: {path}: {error}") from error
    return value


def _parse_repo(full_name: str, r: _Reader) -> RepoSpec:
    if full_name.count("/") != 1 or not all(full_name.split("/")):
        raise _error(f"scenario: repos.{full_name}: repository names are owner/name")
    path = r.path
    branches = {str(k): _parse_sha(v, f"{path}.branches.{k}") for k, v in r.mapping("branches").items()}
    default_branch = r.text("default_branch", "main")
    if not branches:
        raise _error(f"scenario: {path}.branches: at least the default branch is needed")
    if default_branch not in branches:
        raise _error(f"scenario: {path}.default_branch: {default_branch!r} is not in branches")
    tags = {str(k): _parse_sha(v, f"{path}.tags.{k}") for k, v in r.mapping("tags").items()}
    commits: dict[str, CommitSpec] = {}
    for sha, spec in r.mapping("commits").items():
        cr = _Reader(spec if isinstance(spec, Mapping) else {"message": spec}, f"{path}.commits.{sha}")
        commits[_parse_sha(sha, f"{path}.commits.{sha}")] = CommitSpec(
            message=cr.text("message", f"Commit {str(sha)[:7]}"),
            author=cr.text("author", "Mona Lisa Octocat"),
            email=cr.text("email", "mona@example.com"),
            login=cr.text("login", "octocat"),
        )
        cr.done()
    workflows = tuple(
        _parse_workflow(_Reader(w, f"{path}.workflows[{i}]")) for i, w in enumerate(r.items("workflows"))
    )
    names = [w.file_name for w in workflows]
    if len(set(names)) != len(names):
        raise _error(f"scenario: {path}.workflows: two workflows share a file name")
    runs = tuple(_parse_run(_Reader(x, f"{path}.runs[{i}]")) for i, x in enumerate(r.items("runs")))
    for i, run in enumerate(runs):
        if not any(run.workflow in (w.path, w.file_name, str(w.id)) for w in workflows):
            raise _error(f"scenario: {path}.runs[{i}].workflow: unknown workflow {run.workflow!r}")
    check_runs = tuple(
        _parse_check_run(_Reader(x, f"{path}.check_runs[{i}]")) for i, x in enumerate(r.items("check_runs"))
    )
    check_suites = tuple(
        _parse_check_suite(_Reader(x, f"{path}.check_suites[{i}]"))
        for i, x in enumerate(r.items("check_suites"))
    )
    repo = RepoSpec(
        full_name=full_name,
        private=r.flag("private", False),
        default_branch=default_branch,
        branches=branches,
        tags=tags,
        commits=commits,
        workflows=workflows,
        runs=runs,
        check_runs=check_runs,
        id=r.integer("id", None),
        check_suites=check_suites,
        renamed_from=_parse_old_names(r.items("renamed_from"), f"{path}.renamed_from"),
    )
    r.done()
    return repo


def _parse_old_names(values: list[Any], path: str) -> tuple[str, ...]:
    for value in values:
        if not isinstance(value, str) or value.count("/") != 1 or not all(value.split("/")):
            raise _error(f"scenario: {path}: expected owner/name, got {value!r}")
    return tuple(values)


def _parse_triggers(value: object, path: str) -> dict[str, tuple[str, ...] | None]:
    if isinstance(value, str):
        return {value: None}
    if isinstance(value, list):
        if not all(isinstance(x, str) for x in value):
            raise _error(f"scenario: {path}: expected event names")
        return {str(x): None for x in value}
    if isinstance(value, Mapping):
        triggers: dict[str, tuple[str, ...] | None] = {}
        for event, spec in value.items():
            if spec is None:
                triggers[str(event)] = None
            elif isinstance(spec, list):
                triggers[str(event)] = tuple(str(x) for x in spec)
            elif isinstance(spec, Mapping):
                # `repository_dispatch: {types: [deploy]}` as in a workflow file; other keys
                # (branches, inputs...) do not change what the emulator does.
                types = spec.get("types")
                triggers[str(event)] = None if types is None else tuple(str(x) for x in types)
            else:
                raise _error(f"scenario: {path}.{event}: expected a list of types or a mapping")
        return triggers
    raise _error(f"scenario: {path}: expected an event, a list of events or a mapping")


def _parse_input(name: str, r: _Reader) -> InputSpec:
    type_ = r.choice("type", INPUT_TYPES, "string")
    default_raw = r.raw("default")
    default = None if default_raw is None else _input_text(default_raw)
    options = tuple(str(x) for x in r.items("options"))
    r.raw("description")
    spec = InputSpec(
        name=name, type=type_, required=r.flag("required", False), default=default, options=options
    )
    if type_ == "choice" and not options:
        raise _error(f"scenario: {r.path}.options: a choice input needs options")
    r.done()
    return spec


def _input_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_jobs(items: list[Any], path: str) -> tuple[JobSpec, ...]:
    jobs = []
    for i, item in enumerate(items):
        r = _Reader(item, f"{path}[{i}]")
        steps_raw = r.items("steps") or ["Set up job", "Run", "Complete job"]
        conclusion = r.opt_text("conclusion")
        if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
            raise _error(f"scenario: {r.key_path('conclusion')}: {conclusion!r} is not a job conclusion")
        duration = r.raw("duration")
        jobs.append(
            JobSpec(
                name=_parse_template(r.text("name", required=True), r.key_path("name")) or "",
                steps=tuple(
                    _parse_template(str(s), f"{r.key_path('steps')}[{j}]") or ""
                    for j, s in enumerate(steps_raw)
                ),
                start=r.nonneg("start", 0.0),
                duration=None if duration is None else r.nonneg("duration", 0.0),
                conclusion=conclusion,
                labels=tuple(str(x) for x in r.items("labels")) or ("ubuntu-latest",),
            )
        )
        r.done()
    return tuple(jobs)


def _parse_artifacts(items: list[Any], path: str) -> tuple[ArtifactSpec, ...]:
    artifacts = []
    for i, item in enumerate(items):
        r = _Reader(item, f"{path}[{i}]")
        # Names and contents may hold `${{ }}`, rendered per run (`metrics-${{ inputs.attempt }}`).
        files = {
            str(k): (_parse_template(str(v), f"{r.key_path('files')}.{k}") or "").encode()
            for k, v in r.mapping("files").items()
        }
        entries = []
        for j, entry in enumerate(r.items("entries")):
            er = _Reader(entry, f"{r.key_path('entries')}[{j}]")
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
            raise _error(f"scenario: {r.key_path('size')}: must not be negative")
        if size is not None and (files or entries):
            raise _error(f"scenario: {r.path}: `size` cannot be combined with files or entries")
        archive = r.flag("archive", True)
        content = (_parse_template(r.text("content", ""), r.key_path("content")) or "").encode()
        if r.has("content_base64"):  # binary content: a jar, an image
            if r.has("content"):
                raise _error(f"scenario: {r.path}: give `content` or `content_base64`, not both")
            try:
                content = base64.b64decode(r.text("content_base64"), validate=True)
            except ValueError:
                raise _error(f"scenario: {r.key_path('content_base64')}: not base64") from None
        content_type = r.opt_text("content_type")
        given = r.has("content") or r.has("content_base64")
        if archive and (given or content_type is not None):
            raise _error(
                f"scenario: {r.path}: `content`, `content_base64` and `content_type` are for "
                "`archive: false` artifacts"
            )
        if not archive and (files or entries):
            raise _error(
                f"scenario: {r.path}: an `archive: false` artifact is one file: give `content` or `size`, "
                "not files or entries"
            )
        if not archive and size is not None and given:
            raise _error(f"scenario: {r.path}: `size` cannot be combined with content")
        artifacts.append(
            ArtifactSpec(
                archive=archive,
                content=content,
                content_type=content_type,
                name=_parse_template(r.text("name", required=True), r.key_path("name")) or "",
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


def _parse_workflow(r: _Reader) -> WorkflowSpec:
    path = r.text("path", required=True)
    if not path.startswith(".github/workflows/") or not path.endswith((".yml", ".yaml")):
        raise _error(f"scenario: {r.key_path('path')}: expected .github/workflows/NAME.yml")
    inputs_reader = r.mapping("inputs")
    inputs = tuple(
        _parse_input(str(name), _Reader(spec or {}, f"{r.key_path('inputs')}.{name}"))
        for name, spec in inputs_reader.items()
    )
    timeline = _parse_timeline(r.mapping("timeline"), r.key_path("timeline"))
    cases = tuple(
        _parse_case(_Reader(case, f"{r.key_path('cases')}[{i}]"), timeline)
        for i, case in enumerate(r.items("cases"))
    )
    spec = WorkflowSpec(
        path=path,
        name=r.text("name", path.rsplit("/", 1)[-1]),
        id=r.integer("id", None),
        state=r.choice("state", WORKFLOW_STATES, "active"),
        triggers=_parse_triggers(r.raw("on", ["workflow_dispatch"]), r.key_path("on")),
        run_name=_parse_template(r.opt_text("run_name"), r.key_path("run_name")),
        inputs=inputs,
        timeline=timeline,
        conclusions=_parse_conclusions(r.raw("conclusion", "success"), r.key_path("conclusion")),
        jobs=_parse_jobs(r.items("jobs"), r.key_path("jobs")),
        artifacts=_parse_artifacts(r.items("artifacts"), r.key_path("artifacts")),
        cases=cases,
    )
    r.done()
    return spec


# The functions a case's `if` may call: the expression language's own. Status functions
# (`always()`, `success()`...) belong to jobs, which a case is not.
_CONDITION_FUNCTIONS = ("contains", "startsWith", "endsWith", "format", "join", "toJSON", "fromJSON")


def _parse_condition(r: _Reader) -> str:
    """An `if:` as GitHub reads one: `${{ expr }}` or the bare expression."""
    where = r.key_path("if")
    try:
        text = unwrap(r.text("if", required=True))
        check_template("${{ " + text + " }}")
        calls = function_calls(text)
    except ExpressionError as error:
        raise _error(f"scenario: {where}: {error}") from error
    known = {name.lower() for name in _CONDITION_FUNCTIONS}
    for name in calls:
        if name.lower() not in known:
            raise _error(
                f"scenario: {where}: unknown function {name}() (known: {', '.join(_CONDITION_FUNCTIONS)})"
            )
    return text


def _parse_case(r: _Reader, timeline: TimelineSpec) -> CaseSpec:
    condition = _parse_condition(r)
    conclusion = r.raw("conclusion")
    case_timeline = r.raw("timeline")
    jobs = r.raw("jobs")
    artifacts = r.raw("artifacts")
    spec = CaseSpec(
        condition=condition,
        conclusions=None if conclusion is None else _parse_conclusions(conclusion, r.key_path("conclusion")),
        # A case's timeline changes only the phases it names; the others stay the workflow's.
        timeline=None
        if case_timeline is None
        else _parse_timeline(case_timeline, r.key_path("timeline"), timeline),
        jobs=None if jobs is None else _parse_jobs(r.items("jobs"), r.key_path("jobs")),
        artifacts=None
        if artifacts is None
        else _parse_artifacts(r.items("artifacts"), r.key_path("artifacts")),
    )
    r.done()
    return spec


def _parse_run(r: _Reader) -> RunSpec:
    timeline = r.raw("timeline")
    conclusion = r.raw("conclusion")
    artifacts = r.raw("artifacts")
    head_sha = r.raw("head_sha")
    run_attempt = r.integer("run_attempt", 1) or 1
    if run_attempt < 1:
        raise _error(f"scenario: {r.key_path('run_attempt')}: must be at least 1")
    spec = RunSpec(
        workflow=r.text("workflow", required=True),
        event=r.text("event", "push"),
        head_sha=None if head_sha is None else _parse_sha(head_sha, r.key_path("head_sha")),
        head_branch=r.opt_text("head_branch"),
        created=r.number("created", 0.0),
        timeline=None if timeline is None else _parse_timeline(timeline, r.key_path("timeline")),
        conclusions=None if conclusion is None else _parse_conclusions(conclusion, r.key_path("conclusion")),
        run_attempt=run_attempt,
        actor=r.text("actor", "octocat"),
        head_repository=r.opt_text("head_repository"),
        inputs={str(k): _input_text(v) for k, v in r.mapping("inputs").items()},
        artifacts=None
        if artifacts is None
        else _parse_artifacts(r.items("artifacts"), r.key_path("artifacts")),
        display_title=r.opt_text("display_title"),
    )
    r.done()
    return spec


def _parse_check_app(r: _Reader) -> AppSpec:
    app_raw = r.raw("app", "external-ci")
    if isinstance(app_raw, Mapping):
        ar = _Reader(app_raw, r.key_path("app"))
        app = AppSpec(slug=ar.text("slug", required=True), id=ar.integer("id", None))
        ar.done()
        return app
    return AppSpec(slug=str(app_raw))


def _parse_check_suite(r: _Reader) -> CheckSuiteSpec:
    spec = CheckSuiteSpec(
        head_sha=_parse_sha(r.raw("head_sha"), r.key_path("head_sha")),
        app=_parse_check_app(r),
        created=r.number("created", 0.0),
    )
    if spec.app.slug == "github-actions":
        raise _error(
            f"scenario: {r.key_path('app')}: github-actions suites come from workflow runs; declare a run"
        )
    r.done()
    return spec


def _parse_check_run(r: _Reader) -> CheckRunSpec:
    app = _parse_check_app(r)
    conclusion = r.text("conclusion", "success")
    if conclusion not in CHECK_CONCLUSIONS:
        raise _error(f"scenario: {r.key_path('conclusion')}: {conclusion!r} is not a check run conclusion")
    spec = CheckRunSpec(
        name=r.text("name", required=True),
        head_sha=_parse_sha(r.raw("head_sha"), r.key_path("head_sha")),
        app=app,
        created=r.number("created", 0.0),
        timeline=_parse_timeline(r.mapping("timeline"), r.key_path("timeline"), TimelineSpec(queued=0.0)),
        conclusion=conclusion,
    )
    r.done()
    return spec


def _parse_fault(r: _Reader) -> Fault:
    kind = r.choice("kind", FAULT_KINDS, "status")
    fault = Fault(
        host=r.choice("host", ("api", "blob"), "api"),
        method=r.opt_text("method"),
        path=r.text("path", "*"),
        kind=kind,
        status=r.integer("status", 0) or 0,
        # `times` defaults to one; `times: null` means every matching request.
        times=None if (r.has("times") and r.raw("times") is None) else r.integer("times", 1),
        after=r.integer("after", 0) or 0,
        retry_after=r.integer("retry_after", None),
        delay=r.nonneg("delay", 0.0),
        after_bytes=r.integer("after_bytes", 0) or 0,
        message=r.opt_text("message"),
        since=r.number("since", -1.0) if r.has("since") else None,
        until=r.number("until", -1.0) if r.has("until") else None,
    )
    r.done()
    return fault
