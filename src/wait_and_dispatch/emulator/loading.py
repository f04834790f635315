"""Loading a scenario's repositories into the live model: the runs, check suites and check runs
the scenario says exist before the first request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wait_and_dispatch.emulator.model import AppCheckRun, Repo, Workflow
from wait_and_dispatch.emulator.specs import AppSpec, RepoSpec

if TYPE_CHECKING:
    from wait_and_dispatch.emulator.state import State


def load_repo(state: State, spec: RepoSpec) -> None:
    """Add a scenario's repository to `state`: its workflows, its runs, its apps' check suites and runs."""
    repo = Repo(spec=spec, id=spec.id or state.ids.next("repo"), created_at=state.start - 86400 * 365)
    state.repos[spec.full_name] = repo
    repo.refs.update({f"refs/heads/{name}": sha for name, sha in spec.branches.items()})
    repo.refs.update({f"refs/tags/{name}": sha for name, sha in spec.tags.items()})
    for wf_spec in spec.workflows:
        wf = Workflow(
            spec=wf_spec,
            id=wf_spec.id or state.ids.next("workflow"),
            repo=repo,
            state=wf_spec.state,
            created_at=state.start - 86400 * 30,
            updated_at=state.start - 86400 * 30,
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
            sha = named[1] if named else repo.branches[spec.default_branch]
        run = state.create_run(
            repo,
            wf,
            event=run_spec.event,
            head_sha=sha,
            head_branch=branch,
            actor=run_spec.actor,
            created=state.start + run_spec.created,
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
        suite_key = (_app_id(state, suite_spec.app), suite_spec.head_sha)
        if suite_key not in repo.app_suites:
            repo.app_suites[suite_key] = state.ids.next("suite")
        suite_id = repo.app_suites[suite_key]
        created = state.start + suite_spec.created
        repo.app_suite_created[suite_id] = min(created, repo.app_suite_created.get(suite_id, created))
    for cr_spec in spec.check_runs:
        app_id = _app_id(state, cr_spec.app)
        suite_key = (app_id, cr_spec.head_sha)
        if suite_key not in repo.app_suites:
            repo.app_suites[suite_key] = state.ids.next("suite")
        repo.check_runs.append(
            AppCheckRun(
                id=state.ids.next("job"),
                spec=cr_spec,
                app_id=app_id,
                suite_id=repo.app_suites[suite_key],
                created_at=state.start + cr_spec.created,
            )
        )


def _app_id(state: State, app: AppSpec) -> int:
    if app.id is not None:
        state.app_ids[app.slug] = app.id
    if app.slug not in state.app_ids:
        state.app_ids[app.slug] = state.ids.next("app")
    return state.app_ids[app.slug]
