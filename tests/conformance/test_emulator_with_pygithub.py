"""PyGithub, a real GitHub client, reads the emulator as it reads GitHub.

Each object PyGithub builds keeps the JSON it was built from (`raw_data`); that JSON must conform
to the description of the operation its `url` names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from github import Auth, Github
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun

from tests.conformance.conftest import CI_WORKFLOW_ID, DEPLOY_WORKFLOW_ID, MAIN_SHA, Ids
from tests.support.openapi import OpenApiSpec, assert_conforms
from wait_and_dispatch.emulator import Emulator


def _client(emu: Emulator) -> Github:
    # No retries and no pacing: the emulator answers at once and a retry would hide a bad answer.
    return Github(
        base_url=emu.api_url,
        auth=Auth.Token(emu.token("dev")),
        retry=None,
        per_page=1,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


@pytest.fixture(scope="module")
def github(emu: Emulator) -> Iterator[Github]:
    client = _client(emu)
    yield client
    client.close()


@pytest.fixture(scope="module")
def repo(github: Github) -> Repository:
    return github.get_repo("octo/app")


Fetch = Callable[[Repository, Ids], Any]

OBJECTS: dict[str, Fetch] = {
    "workflow": lambda repo, ids: repo.get_workflow(DEPLOY_WORKFLOW_ID),
    "workflow by file name": lambda repo, ids: repo.get_workflow("ci.yml"),
    "workflow from the list": lambda repo, ids: repo.get_workflows()[0],
    "run": lambda repo, ids: repo.get_workflow_run(ids.failed_run),
    "run from the repository list": lambda repo, ids: repo.get_workflow_runs()[0],
    "run from the workflow list": lambda repo, ids: repo.get_workflow(CI_WORKFLOW_ID).get_runs(branch="main")[
        0
    ],
    "run attempt": lambda repo, ids: repo.get_workflow_run(ids.failed_run).get_attempt(1),
    "job": lambda repo, ids: repo.get_workflow_run(ids.failed_run).jobs()[0],
    "artifact": lambda repo, ids: repo.get_artifact(ids.artifact),
    "artifact from the run list": lambda repo, ids: repo.get_workflow_run(ids.failed_run).get_artifacts()[0],
    "artifact from the repository list": lambda repo, ids: repo.get_artifacts(name="report")[0],
    "check run": lambda repo, ids: repo.get_commit(MAIN_SHA).get_check_runs(check_name="DCO")[0],
}


@pytest.mark.parametrize("fetch", OBJECTS.values(), ids=OBJECTS.keys())
def test_pygithub_object_conforms_to_the_operation_its_url_names(
    fetch: Fetch, repo: Repository, ids: Ids, spec: OpenApiSpec
) -> None:
    found = fetch(repo, ids)
    assert_conforms(spec.check_response("GET", found.url, 200, None, found.raw_data), found.url)


def test_pygithub_reads_the_repository(repo: Repository) -> None:
    assert (repo.full_name, repo.default_branch, repo.private) == ("octo/app", "main", True)


def test_pygithub_follows_link_headers_through_every_page(repo: Repository) -> None:
    runs = repo.get_workflow_runs()
    assert len(list(runs)) == runs.totalCount


def test_pygithub_reads_the_rate_limit(github: Github) -> None:
    assert github.get_rate_limit().resources.core.limit == 5000


def test_pygithub_conditional_update_of_an_unchanged_run_is_not_modified(repo: Repository, ids: Ids) -> None:
    run = repo.get_workflow_run(ids.failed_run)
    assert run.update() is False


def test_pygithub_dispatch_returning_run_details_gives_the_run(fresh_emu: Emulator) -> None:
    client = _client(fresh_emu)
    workflow = client.get_repo("octo/app").get_workflow(DEPLOY_WORKFLOW_ID)
    run = workflow.create_dispatch("main", {"environment": "dev"}, return_run_details=True)
    assert isinstance(run, WorkflowRun)
    assert run.workflow_id == DEPLOY_WORKFLOW_ID


def test_pygithub_plain_dispatch_succeeds(fresh_emu: Emulator) -> None:
    workflow = _client(fresh_emu).get_repo("octo/app").get_workflow(DEPLOY_WORKFLOW_ID)
    assert workflow.create_dispatch("main", {"environment": "dev"}) is True
