"""Which artifacts: a run's artifacts listed, picked by name or glob, and the run to take them from.

GitHub lists a run's artifacts in pages of at most 100, and runs can have hundreds
(actions/download-artifact#441): every page is read. A re-run attempt uploads under the same
name: the newest of each name counts, as download-artifact's `listArtifacts({latest: true})`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from wait_and_dispatch.engine.github_objects import Artifact, Repository, WorkflowRun
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import ArtifactNotFoundError, RunNotFoundError

_NAMES_SHOWN = 20  # names listed in a not-found message before "and N more"


def list_artifacts(
    api: GitHubApi, repo: Repository, run_id: int, *, deadline: float | None = None
) -> list[Artifact]:
    """Every artifact of a run, all pages, in GitHub's order (attempts included)."""
    items = api.paginate(
        f"{repo.api_path}/actions/runs/{run_id}/artifacts", items_key="artifacts", deadline=deadline
    )
    return [Artifact.from_api(item) for item in items]


def select_artifacts(available: Sequence[Artifact], patterns: Sequence[str]) -> list[Artifact]:
    """The artifacts the patterns (exact names or `fnmatch` globs) name; no patterns: all of them.

    Each pattern must match something, else `ArtifactNotFoundError` lists what the run has. The
    result is in pattern order (with `merge_multiple`, later ones overwrite earlier ones), then
    in GitHub's order within a glob, each artifact once. Expired artifacts are selected like any
    other: downloading them fails with a clear error rather than skipping them silently.
    """
    run_ids = {artifact.run_id for artifact in available}
    run_id = run_ids.pop() if len(run_ids) == 1 else None
    return select_in_run(available, patterns, run_id)


def select_in_run(
    available: Sequence[Artifact], patterns: Sequence[str], run_id: int | None
) -> list[Artifact]:
    candidates = _latest_by_name(available)
    wanted = [pattern for pattern in patterns if pattern.strip()]
    if not wanted:
        return candidates
    chosen: dict[int, Artifact] = {}
    missing: list[str] = []
    for pattern in wanted:
        # An exact name matches itself even when it holds glob characters (`build[linux]`).
        matched = [a for a in candidates if a.name == pattern or fnmatch.fnmatchcase(a.name, pattern)]
        if not matched:
            missing.append(pattern)
        for artifact in matched:
            chosen.setdefault(artifact.id, artifact)
    if missing:
        where = f"run {run_id}" if run_id is not None else "the run"
        shown = ", ".join(repr(p) for p in missing)
        raise ArtifactNotFoundError(f"no artifact matching {shown} in {where}; {_describe_names(candidates)}")
    return list(chosen.values())


def _latest_by_name(available: Iterable[Artifact]) -> list[Artifact]:
    """One artifact per name, the newest (highest id): a re-run attempt uploads under the same name.

    Mirrors @actions/artifact's `listArtifacts({latest: true})`, which download-artifact uses.
    """
    newest: dict[str, Artifact] = {}
    for artifact in available:
        kept = newest.get(artifact.name)
        if kept is None or artifact.id > kept.id:
            newest[artifact.name] = artifact
    return list(newest.values())


def _describe_names(artifacts: Sequence[Artifact]) -> str:
    if not artifacts:
        return "it has no artifacts"
    names = [a.name for a in artifacts]
    shown = ", ".join(names[:_NAMES_SHOWN])
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return f"it has {shown}{more}"


def latest_successful_run(
    api: GitHubApi, repo: Repository, workflow_id: int, branch: str, *, deadline: float | None = None
) -> WorkflowRun:
    """The newest successful run of a workflow on a branch of this repository.

    GitHub lists runs newest first. Runs from forks are passed over: their `head_branch` is the
    fork's branch, so a fork's `main` matches `branch=main` (the poisoned-artifact path of
    GHSA-5xr6-xhww-33m4). Pages are fetched only until a run of this repository turns up.
    """
    params = {"branch": branch, "status": "success", "per_page": 10}
    path = f"{repo.api_path}/actions/workflows/{workflow_id}/runs"
    forks = 0
    for item in api.paginate(path, params, items_key="workflow_runs", deadline=deadline):
        run = WorkflowRun.from_api(item)
        if run.from_fork:
            forks += 1
            continue
        return run
    skipped = f" ({forks} from forks passed over)" if forks else ""
    raise RunNotFoundError(
        f"no successful run of workflow {workflow_id} on branch {branch!r} in {repo}{skipped}",
        hint="check the branch name, or run the workflow on that branch once so there is a run to take from",
    )
