"""Reading a whole scenario: its options, tokens, GitHub Apps, repositories (their workflows are
read by `scenario_workflows`), apps' check suites and check runs, and faults, and the checks
that span them (a token's repositories exist, no two installations share an id)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wait_and_dispatch.emulator.faults import FAULT_KINDS, Fault
from wait_and_dispatch.emulator.scenario_reader import (
    Reader,
    parse_annotations,
    parse_sha,
    parse_timeline,
    scenario_error,
)
from wait_and_dispatch.emulator.scenario_workflows import parse_run, parse_workflow
from wait_and_dispatch.emulator.specs import (
    PERMISSION_LEVELS,
    PERMISSION_SCOPES,
    TOKEN_KINDS,
    AppSpec,
    CheckRunSpec,
    CheckSuiteSpec,
    CommitSpec,
    GitHubAppSpec,
    InstallationSpec,
    Options,
    RepoSpec,
    TimelineSpec,
    TokenSpec,
)
from wait_and_dispatch.support.github_vocabulary import CHECK_CONCLUSIONS


@dataclass(frozen=True)
class ScenarioParts:
    """Everything a scenario says, checked, for `Scenario` to hold."""

    options: Options
    tokens: Mapping[str, TokenSpec]
    repos: Mapping[str, RepoSpec]
    faults: tuple[Fault, ...]
    apps: Mapping[str, GitHubAppSpec]


def read_scenario(data: Mapping[str, Any]) -> ScenarioParts:
    """A scenario's parts, each checked; a `UsageError` naming the key's path for anything wrong."""
    top = Reader(data, "")
    options = _parse_options(Reader(top.mapping("options"), "options"))
    tokens = {
        str(name): _parse_token(str(name), Reader(spec, f"tokens.{name}"))
        for name, spec in top.mapping("tokens").items()
    }
    secrets = [t.secret for t in tokens.values()]
    if len(set(secrets)) != len(secrets):
        raise scenario_error("scenario: tokens: two tokens share one secret")
    repos = {
        str(name): _parse_repo(str(name), Reader(spec, f"repos.{name}"))
        for name, spec in top.mapping("repos").items()
    }
    faults = tuple(_parse_fault(Reader(spec, f"faults[{i}]")) for i, spec in enumerate(top.items("faults")))
    apps = {
        str(slug): _parse_app(str(slug), Reader(spec, f"apps.{slug}"))
        for slug, spec in top.mapping("apps").items()
    }
    top.done()
    for token in tokens.values():
        for repo in token.repos or ():
            if repo not in repos:
                raise scenario_error(f"scenario: tokens.{token.name}.repos: unknown repository {repo!r}")
    installation_ids = [i.id for app in apps.values() for i in app.installations]
    if len(set(installation_ids)) != len(installation_ids):
        raise scenario_error("scenario: apps: two installations share one id")
    for app in apps.values():
        for n, installation in enumerate(app.installations):
            for repo in installation.repos or ():
                if repo not in repos or repo.split("/")[0] != installation.account:
                    raise scenario_error(
                        f"scenario: apps.{app.slug}.installations[{n}].repos: {repo!r} is not a "
                        f"repository of {installation.account} in this scenario"
                    )
    return ScenarioParts(options=options, tokens=tokens, repos=repos, faults=faults, apps=apps)


def _parse_options(r: Reader) -> Options:
    options = Options(
        return_run_details=r.flag("return_run_details", True),
        dispatch_visibility_delay=r.nonneg("dispatch_visibility_delay", 3.0),
        list_status_lag=r.nonneg("list_status_lag", 0.0),
        artifact_url_ttl=r.nonneg("artifact_url_ttl", 60.0),
        anonymous_rate_limit=r.integer("anonymous_rate_limit", 60) or 0,
        poll_interval_header=r.integer("poll_interval_header", None),
        secondary_points_per_minute=r.integer("secondary_points_per_minute", None),
        enterprise_version=r.opt_text("enterprise_version"),
        clock_offset=r.number("clock_offset", 0.0),
        rate_limiting=None if r.raw("rate_limiting") is None else r.flag("rate_limiting", True),
        workflow_run_from_github_token=r.flag("workflow_run_from_github_token", False),
        workflow_run_max_depth=r.integer("workflow_run_max_depth", 3) or 0,
    )
    if not 0 <= options.workflow_run_max_depth <= 10:
        raise scenario_error("scenario: options.workflow_run_max_depth: between 0 and 10 (GitHub's is 3)")
    r.done()
    return options


def _parse_token(name: str, r: Reader) -> TokenSpec:
    kind = r.choice("kind", TOKEN_KINDS, "pat")
    repos_raw = r.raw("repos", "*")
    repos: tuple[str, ...] | None
    if repos_raw == "*":
        repos = None
    elif isinstance(repos_raw, list) and all(isinstance(x, str) for x in repos_raw):
        repos = tuple(repos_raw)
    else:
        raise scenario_error(f"scenario: tokens.{name}.repos: expected '*' or a list of owner/name")
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


def _permissions(r: Reader, path: str) -> dict[str, str]:
    reader = Reader(r.mapping("permissions"), path)
    permissions = {scope: reader.choice(scope, PERMISSION_LEVELS, "write") for scope in PERMISSION_SCOPES}
    reader.done()
    return permissions


def _parse_app(slug: str, r: Reader) -> GitHubAppSpec:
    app_id = r.integer("id", None)
    if app_id is None or app_id <= 0:
        raise scenario_error(f"scenario: apps.{slug}.id: required, a positive integer")
    public_key = r.text("public_key", required=True)
    if "BEGIN PUBLIC KEY" not in public_key:
        raise scenario_error(
            f"scenario: apps.{slug}.public_key: expected a PEM public key (BEGIN PUBLIC KEY)"
        )
    installations = []
    for n, spec in enumerate(r.items("installations")):
        path = f"apps.{slug}.installations[{n}]"
        ir = Reader(spec, path)
        installation_id = ir.integer("id", None)
        if installation_id is None or installation_id <= 0:
            raise scenario_error(f"scenario: {path}.id: required, a positive integer")
        repos_raw = ir.raw("repos", "*")
        if repos_raw == "*":
            repos: tuple[str, ...] | None = None
        elif isinstance(repos_raw, list) and all(isinstance(x, str) for x in repos_raw):
            repos = tuple(repos_raw)
        else:
            raise scenario_error(f"scenario: {path}.repos: expected '*' or a list of owner/name")
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


def _parse_repo(full_name: str, r: Reader) -> RepoSpec:
    if full_name.count("/") != 1 or not all(full_name.split("/")):
        raise scenario_error(f"scenario: repos.{full_name}: repository names are owner/name")
    path = r.path
    branches = {str(k): parse_sha(v, f"{path}.branches.{k}") for k, v in r.mapping("branches").items()}
    default_branch = r.text("default_branch", "main")
    if not branches:
        raise scenario_error(f"scenario: {path}.branches: at least the default branch is needed")
    if default_branch not in branches:
        raise scenario_error(f"scenario: {path}.default_branch: {default_branch!r} is not in branches")
    tags = {str(k): parse_sha(v, f"{path}.tags.{k}") for k, v in r.mapping("tags").items()}
    commits: dict[str, CommitSpec] = {}
    for sha, spec in r.mapping("commits").items():
        cr = Reader(spec if isinstance(spec, Mapping) else {"message": spec}, f"{path}.commits.{sha}")
        commits[parse_sha(sha, f"{path}.commits.{sha}")] = CommitSpec(
            message=cr.text("message", f"Commit {str(sha)[:7]}"),
            author=cr.text("author", "Mona Lisa Octocat"),
            email=cr.text("email", "mona@example.com"),
            login=cr.text("login", "octocat"),
            parents=tuple(
                parse_sha(parent, f"{path}.commits.{sha}.parents[{n}]")
                for n, parent in enumerate(cr.items("parents"))
            ),
        )
        cr.done()
    workflows = tuple(
        parse_workflow(Reader(w, f"{path}.workflows[{i}]")) for i, w in enumerate(r.items("workflows"))
    )
    names = [w.file_name for w in workflows]
    if len(set(names)) != len(names):
        raise scenario_error(f"scenario: {path}.workflows: two workflows share a file name")
    runs = tuple(parse_run(Reader(x, f"{path}.runs[{i}]")) for i, x in enumerate(r.items("runs")))
    for i, run in enumerate(runs):
        if not any(run.workflow in (w.path, w.file_name, str(w.id)) for w in workflows):
            raise scenario_error(f"scenario: {path}.runs[{i}].workflow: unknown workflow {run.workflow!r}")
    check_runs = tuple(
        _parse_check_run(Reader(x, f"{path}.check_runs[{i}]")) for i, x in enumerate(r.items("check_runs"))
    )
    check_suites = tuple(
        _parse_check_suite(Reader(x, f"{path}.check_suites[{i}]"))
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
            raise scenario_error(f"scenario: {path}: expected owner/name, got {value!r}")
    return tuple(values)


def _parse_check_app(r: Reader) -> AppSpec:
    app_raw = r.raw("app", "external-ci")
    if isinstance(app_raw, Mapping):
        ar = Reader(app_raw, r.key_path("app"))
        app = AppSpec(slug=ar.text("slug", required=True), id=ar.integer("id", None))
        ar.done()
        return app
    return AppSpec(slug=str(app_raw))


def _parse_check_suite(r: Reader) -> CheckSuiteSpec:
    spec = CheckSuiteSpec(
        head_sha=parse_sha(r.raw("head_sha"), r.key_path("head_sha")),
        app=_parse_check_app(r),
        created=r.number("created", 0.0),
    )
    if spec.app.slug == "github-actions":
        raise scenario_error(
            f"scenario: {r.key_path('app')}: github-actions suites come from workflow runs; declare a run"
        )
    r.done()
    return spec


def _parse_check_run(r: Reader) -> CheckRunSpec:
    app = _parse_check_app(r)
    conclusion = r.text("conclusion", "success")
    if conclusion not in CHECK_CONCLUSIONS:
        raise scenario_error(
            f"scenario: {r.key_path('conclusion')}: {conclusion!r} is not a check run conclusion"
        )
    spec = CheckRunSpec(
        name=r.text("name", required=True),
        head_sha=parse_sha(r.raw("head_sha"), r.key_path("head_sha")),
        app=app,
        created=r.number("created", 0.0),
        timeline=parse_timeline(r.mapping("timeline"), r.key_path("timeline"), TimelineSpec(queued=0.0)),
        conclusion=conclusion,
        output_title=r.opt_text("output_title"),
        output_summary=r.opt_text("output_summary"),
        annotations=parse_annotations(r.items("annotations"), r.key_path("annotations")),
    )
    r.done()
    return spec


def _parse_fault(r: Reader) -> Fault:
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
