"""Find or dispatch: resolve the workflow, find runs by head SHA, and always know the run we started.

Everything goes over HTTP to the emulator. The emulator lists a dispatched run only after
`dispatch_visibility_delay` seconds (3 in the base scenario), as GitHub does.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import FEATURE_SHA, MAIN_SHA
from tests.engine.conftest import MakeEngine
from tests.support.tamper import TamperingProxy, edit_json
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.dispatch import FIND_GRACE, Dispatcher
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.progress import ProgressEvent
from wait_and_dispatch.engine.requests import DispatchPolicy, RunRequest, WaitOptions
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.session.progress import ProgressPrinter
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import (
    AmbiguousRunError,
    DeadlineExceededError,
    ExitCode,
    NotFoundError,
    RunNotFoundError,
    UsageError,
    ValidationFailedError,
)
from wait_and_dispatch.support.text import escape_line

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]
APP = Repository("octo", "app")
BUILD = "build.yml"


def request(**fields: Any) -> RunRequest:
    fields.setdefault("workflow", BUILD)
    return RunRequest(APP, **fields)


def posts(emulator: Emulator, suffix: str = "/dispatches") -> list[Any]:
    return [r for r in emulator.writes() if r.method == "POST" and r.path.endswith(suffix)]


def without_run_details(scenario: dict[str, Any]) -> dict[str, Any]:
    scenario["options"]["return_run_details"] = False
    return scenario


def build_workflow(scenario: dict[str, Any]) -> dict[str, Any]:
    workflow: dict[str, Any] = scenario["repos"]["octo/app"]["workflows"][0]
    return workflow


def add_distinct_id(
    scenario: dict[str, Any], *, run_name: str | None = "Build [${{ inputs.distinct_id }}]"
) -> None:
    workflow = build_workflow(scenario)
    workflow["inputs"]["distinct_id"] = {"type": "string", "required": False}
    if run_name is None:
        workflow.pop("run_name", None)
    else:
        workflow["run_name"] = run_name


def push_run(scenario: dict[str, Any], sha: str = MAIN_SHA, **fields: Any) -> None:
    run = {
        "workflow": BUILD,
        "event": "push",
        "head_sha": sha,
        "head_branch": "main",
        "created": -600,
        "timeline": {"queued": 0, "duration": 300},
        "conclusion": "success",
    }
    run.update(fields)
    scenario["repos"]["octo/app"].setdefault("runs", []).append(run)


# -- resolving the workflow ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["build.yml", ".github/workflows/build.yml", "Build", "build"])
def test_workflow_is_found_by_file_path_or_name(api: GitHubApi, name: str) -> None:
    workflow = workflow_runs.resolve_workflow(api, APP, name)
    assert (workflow.name, workflow.path) == ("Build", ".github/workflows/build.yml")


def test_workflow_is_found_by_numeric_id(api: GitHubApi) -> None:
    workflow_id = workflow_runs.resolve_workflow(api, APP, "build.yml").id
    assert workflow_runs.resolve_workflow(api, APP, str(workflow_id)).path == ".github/workflows/build.yml"


def test_unknown_workflow_error_lists_the_workflows_that_exist(api: GitHubApi) -> None:
    with pytest.raises(NotFoundError) as caught:
        workflow_runs.resolve_workflow(api, APP, "deploy.yml")
    assert caught.value.message == (
        "workflow 'deploy.yml' not found in octo/app; it has: Build (.github/workflows/build.yml)"
    )
    assert "file name" in caught.value.hint


def test_unknown_workflow_name_error_lists_the_workflows_too(api: GitHubApi) -> None:
    with pytest.raises(NotFoundError, match="'Deploy' not found in octo/app; it has: Build"):
        workflow_runs.resolve_workflow(api, APP, "Deploy")


def test_unknown_ref_is_a_usage_error(api: GitHubApi) -> None:
    with pytest.raises(UsageError, match="ref 'nope' does not exist in octo/app"):
        Dispatcher(api).find_or_dispatch(request(ref="nope"))


# -- finding runs by head SHA --------------------------------------------------------------------


def test_runs_for_a_sha_are_listed_newest_first_across_pages(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    for i in range(130):
        push_run(scenario_dict, created=-10_000 + i)
    push_run(scenario_dict, sha=FEATURE_SHA, head_branch="feature/x")
    api = make_api(start_emulator(scenario_dict))
    workflow = workflow_runs.resolve_workflow(api, APP, BUILD)
    found = workflow_runs.find_runs(api, APP, workflow_id=workflow.id, head_sha=MAIN_SHA)
    assert len(found) == 130
    assert all(run.head_sha == MAIN_SHA for run in found)
    created = [run.created_at or 0.0 for run in found]
    assert created == sorted(created, reverse=True)


def test_event_and_branch_filters_narrow_the_runs(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    push_run(scenario_dict)
    push_run(scenario_dict, event="pull_request", head_branch="feature/x")
    api = make_api(start_emulator(scenario_dict))
    assert [r.event for r in workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA, event="push")] == ["push"]
    assert [
        r.head_branch for r in workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA, branch="feature/x")
    ] == ["feature/x"]


def test_a_rerun_run_is_found_as_its_latest_attempt(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    push_run(scenario_dict, conclusion=["failure", "success"])
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator)
    (run,) = workflow_runs.find_runs(api, APP, head_sha=MAIN_SHA)
    assert (run.run_attempt, run.conclusion) == (1, "failure")
    api.post(f"/repos/octo/app/actions/runs/{run.id}/rerun")
    clock.advance(400)
    again = Dispatcher(api).find_or_dispatch(request())
    assert (again.run.id, again.run.run_attempt, again.run.conclusion) == (run.id, 2, "success")
    assert not again.dispatched


# -- dispatch and exact correlation --------------------------------------------------------------


def without_contents_permission(scenario: dict[str, Any]) -> str:
    """A token that may dispatch but not read the repository's files; returns its name."""
    scenario["tokens"]["nocontents"] = {
        "secret": "ghs_nocontents_secret",
        "kind": "github_token",
        "repos": ["octo/app"],
        "permissions": {"actions": "write", "contents": "none", "checks": "read"},
    }
    return "nocontents"


def test_a_readable_workflow_file_means_no_probe_and_no_undeclared_correlation_input(
    api: GitHubApi, emulator: Emulator
) -> None:
    # The base workflow declares no `distinct_id`, and its file says so: nothing is sent for
    # GitHub to refuse, and no 422 probe precedes the dispatch.
    found = Dispatcher(api).find_or_dispatch(request())
    sent = posts(emulator)
    assert [p.status for p in sent] == [200]
    assert "distinct_id" not in sent[0].body["inputs"]
    assert found.dispatched and found.how == "return_run_details" and found.correlation_id is None
    assert len(emulator.requests_to("/repos/octo/app/contents/.github/workflows/build.yml")) == 1


def test_without_contents_permission_an_undeclared_correlation_input_is_dropped_after_a_refusal(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # The file cannot be read (403): as before, GitHub's 422 "Unexpected inputs" says the input is
    # not declared; that refusal started nothing, and the second request goes without it.
    token = without_contents_permission(scenario_dict)
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator, token)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    (read,) = emulator.requests_to("/repos/octo/app/contents/.github/workflows/build.yml")
    assert read.status == 403
    sent = posts(emulator)
    assert [("distinct_id" in p.body["inputs"]) for p in sent] == [True, False]
    assert [p.status for p in sent] == [422, 200]
    assert found.dispatched and found.how == "return_run_details"


def test_server_without_return_run_details_correlates_by_the_id_in_run_name(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    add_distinct_id(without_run_details(scenario_dict))
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request())
    sent = posts(emulator)
    assert [("return_run_details" in p.body) for p in sent] == [True, False]
    assert sent[0].status == 422 and sent[1].status == 204
    assert found.how == "correlation id"
    assert found.correlation_id is not None and found.correlation_id in found.run.display_title


def test_correlation_id_shown_only_in_a_step_name_is_found_through_the_jobs(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    add_distinct_id(without_run_details(scenario_dict), run_name=None)
    build_workflow(scenario_dict)["jobs"] = [
        {
            "name": "build",
            "steps": ["Set up job", "id ${{ inputs.distinct_id }}"],
            "start": 0,
            "duration": 120,
        }
    ]
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request())
    assert found.how == "correlation id"
    jobs = emulator.requests_to("/repos/octo/app/actions/runs/*/jobs")
    assert jobs, "the step names were read"


def test_without_run_details_or_correlation_input_the_one_new_run_is_ours(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    push_run(scenario_dict)  # an older run that must not be taken
    emulator = start_emulator(without_run_details(scenario_dict))
    api = make_api(emulator)
    dispatcher = Dispatcher(api)
    dispatcher.run_details_supported = False
    found = dispatcher.find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS, correlation_input=None))
    assert found.how == "new run on the ref"
    assert found.run.event == "workflow_dispatch"
    assert len(posts(emulator)) == 1


def test_two_new_runs_without_correlation_fail_and_say_how_to_add_an_input(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(without_run_details(scenario_dict))
    other = make_api(emulator)
    api = make_api(emulator)

    def someone_else_dispatches(event: ProgressEvent) -> None:
        if event.kind == "correlating" and not posts(emulator)[1:]:
            return
        if len([p for p in posts(emulator) if p.status == 204]) == 1:
            other.post("/repos/octo/app/actions/workflows/build.yml/dispatches", {"ref": "main"})

    dispatcher = Dispatcher(api, someone_else_dispatches)
    with pytest.raises(AmbiguousRunError, match="2 new workflow_dispatch runs") as caught:
        dispatcher.find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS, correlation_input=None))
    assert "run-name" in caught.value.hint and "distinct_id" in caught.value.hint


@pytest.mark.parametrize("run_details", [True, False], ids=["return_run_details", "correlation-id"])
def test_twenty_callers_dispatching_at_once_each_get_their_own_run(
    start_emulator: StartEmulator,
    scenario_dict: dict[str, Any],
    make_api: MakeApi,
    run_details: bool,
) -> None:
    scenario_dict["options"]["return_run_details"] = run_details
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    found: dict[int, int] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def caller(n: int) -> None:
        dispatcher = Dispatcher(make_api(emulator))
        barrier.wait()
        try:
            found[n] = dispatcher.find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS)).run.id
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(found) == 20
    assert len(set(found.values())) == 20, "every caller got a different run"
    accepted = [p for p in posts(emulator) if p.status in (200, 204)]
    assert len(accepted) == 20, "exactly one run started per caller"


def test_a_dispatch_whose_outcome_is_unknown_is_not_sent_again_when_its_run_exists(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    emulator.inject(Fault(host="api", method="POST", path="*/dispatches", kind="apply_then_fail", status=502))
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request())
    assert [p.status for p in posts(emulator)] == [502]
    assert found.dispatched and found.how == "correlation after an unknown outcome"
    assert found.correlation_id is not None and found.correlation_id in found.run.display_title


def test_a_dispatch_that_failed_before_starting_anything_is_sent_again_after_looking(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    emulator.inject(Fault(host="api", method="POST", path="*/dispatches", status=502))
    start = clock.now()
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(discovery_timeout=60))
    assert [p.status for p in posts(emulator)] == [502, 200]
    assert clock.now() - start >= 60, "it looked for the run for the whole discovery window first"
    assert found.how == "return_run_details"


def test_inputs_the_workflow_does_not_declare_are_refused_before_dispatching(
    api: GitHubApi, emulator: Emulator
) -> None:
    with pytest.raises(ValidationFailedError, match=r'Unexpected inputs provided: \["colour"\]') as caught:
        Dispatcher(api).find_or_dispatch(request(inputs={"colour": "blue"}))
    assert "correlation_id, environment (choice of dev, prod; default dev)" in caught.value.hint
    assert posts(emulator) == [], "nothing was sent for GitHub to refuse"


def test_a_missing_required_input_is_refused_before_dispatching_in_githubs_words(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    build_workflow(scenario_dict)["inputs"]["target"] = {"type": "string", "required": True}
    emulator = start_emulator(scenario_dict)
    with pytest.raises(ValidationFailedError, match="Required input 'target' not provided") as caught:
        Dispatcher(make_api(emulator)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert "target (required)" in caught.value.hint
    assert posts(emulator) == []


def test_a_value_outside_a_choice_is_refused_before_dispatching_in_githubs_words(
    api: GitHubApi, emulator: Emulator
) -> None:
    with pytest.raises(
        ValidationFailedError,
        match="Provided value 'staging' for input 'environment' not in the list of allowed values",
    ) as caught:
        Dispatcher(api).find_or_dispatch(request(inputs={"environment": "staging"}))
    assert "choice of dev, prod" in caught.value.hint
    assert posts(emulator) == []


# -- 25 inputs -------------------------------------------------------------------------------------


def with_inputs(scenario: dict[str, Any], names: list[str], run_name: str | None = None) -> None:
    workflow = build_workflow(scenario)
    workflow["inputs"] = {name: {"type": "string", "required": False} for name in names}
    workflow["run_name"] = run_name


def test_a_workflow_declaring_25_inputs_takes_all_25_when_it_has_no_correlation_input(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    names = [f"in{n}" for n in range(25)]
    with_inputs(scenario_dict, names)
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(
        request(inputs={name: "x" for name in names}, dispatch=DispatchPolicy.ALWAYS)
    )
    (sent,) = posts(emulator)
    assert sent.status == 200 and sorted(sent.body["inputs"]) == sorted(names)
    assert found.dispatched and found.correlation_id is None


def test_a_declared_correlation_input_counts_among_the_25(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    names = [f"in{n}" for n in range(24)]
    with_inputs(scenario_dict, [*names, "distinct_id"], run_name="Build [${{ inputs.distinct_id }}]")
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(
        request(inputs={name: "x" for name in names}, dispatch=DispatchPolicy.ALWAYS)
    )
    (sent,) = posts(emulator)
    assert len(sent.body["inputs"]) == 25 and sent.body["inputs"]["distinct_id"] == found.correlation_id
    assert found.correlation_id is not None and found.correlation_id in found.run.display_title


def test_without_the_workflow_file_25_given_inputs_are_sent_without_a_correlation_input(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    names = [f"in{n}" for n in range(25)]
    with_inputs(scenario_dict, names)
    token = without_contents_permission(scenario_dict)
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator, token)).find_or_dispatch(
        request(inputs={name: "x" for name in names}, dispatch=DispatchPolicy.ALWAYS)
    )
    assert [(p.status, len(p.body["inputs"])) for p in posts(emulator)] == [(200, 25)]
    assert found.dispatched


# -- hints for what GitHub refuses -----------------------------------------------------------------


def test_a_sha_as_the_dispatch_ref_is_refused_with_a_hint_to_give_a_branch_or_tag(
    api: GitHubApi, emulator: Emulator
) -> None:
    with pytest.raises(UsageError, match=f"ref {MAIN_SHA} is a commit SHA") as caught:
        Dispatcher(api).find_or_dispatch(request(ref=MAIN_SHA, dispatch=DispatchPolicy.ALWAYS))
    assert "branch or tag" in caught.value.hint and "sha" in caught.value.hint
    assert "inputs" not in caught.value.hint
    assert posts(emulator) == []


def test_a_sha_as_the_ref_still_finds_the_runs_for_it(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    push_run(scenario_dict)
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(ref=MAIN_SHA))
    assert not found.dispatched and found.run.head_sha == MAIN_SHA


@pytest.mark.parametrize("readable", [True, False], ids=["file read", "no contents permission"])
def test_a_workflow_without_workflow_dispatch_gets_a_hint_to_add_the_trigger(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, readable: bool
) -> None:
    build_workflow(scenario_dict)["on"] = ["push"]
    token = "dev" if readable else without_contents_permission(scenario_dict)
    emulator = start_emulator(scenario_dict)
    with pytest.raises(
        ValidationFailedError, match="Workflow does not have 'workflow_dispatch' trigger"
    ) as caught:
        Dispatcher(make_api(emulator, token)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert "on: workflow_dispatch" in caught.value.hint and ".github/workflows/build.yml" in caught.value.hint
    assert "check the inputs" not in caught.value.hint
    assert [p.status for p in posts(emulator)] == ([] if readable else [422])


@pytest.mark.parametrize("policy", [DispatchPolicy.IF_MISSING, DispatchPolicy.ALWAYS])
def test_the_hint_for_a_dispatch_ref_that_does_not_exist_suggests_no_sha(
    api: GitHubApi, emulator: Emulator, policy: DispatchPolicy
) -> None:
    with pytest.raises(UsageError, match="ref 'nope' does not exist in octo/app") as caught:
        Dispatcher(api).find_or_dispatch(request(ref="nope", dispatch=policy))
    assert "branch or tag" in caught.value.hint and "SHA" not in caught.value.hint
    assert posts(emulator) == []


@pytest.mark.parametrize("policy", [DispatchPolicy.IF_MISSING, DispatchPolicy.ALWAYS])
def test_without_any_token_the_404_hint_says_no_token_was_found_and_where_to_set_one(
    emulator: Emulator, make_api: MakeApi, policy: DispatchPolicy
) -> None:
    with pytest.raises(NotFoundError) as caught:
        Dispatcher(make_api(emulator, None)).find_or_dispatch(request(dispatch=policy))
    hint = caught.value.hint
    assert "no token was found" in hint
    assert all(name in hint for name in ("GH_TOKEN", "GITHUB_TOKEN", "github-token"))


def test_a_workflow_named_by_a_file_that_does_not_exist_lists_the_workflows_there(
    api: GitHubApi, emulator: Emulator
) -> None:
    with pytest.raises(NotFoundError, match=r"'deploy.yml' not found in octo/app; it has: Build"):
        Dispatcher(api).find_or_dispatch(request(workflow="deploy.yml", dispatch=DispatchPolicy.ALWAYS))
    assert posts(emulator) == []


# -- find or dispatch policies -------------------------------------------------------------------


def test_if_missing_reuses_the_run_for_the_sha(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    push_run(scenario_dict)
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request())
    assert not found.dispatched and found.run.event == "push"
    assert posts(emulator) == []


def test_rerunning_the_caller_does_not_start_a_second_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    first = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "prod"}))
    clock.advance(10)  # listed by now
    second = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "prod"}))
    assert second.run.id == first.run.id and not second.dispatched
    assert len([p for p in posts(emulator) if p.status == 200]) == 1


def test_a_different_request_on_the_same_sha_gets_its_own_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    prod = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "prod"}))
    clock.advance(10)
    dev = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "dev"}))
    assert dev.dispatched and dev.run.id != prod.run.id


def test_a_dispatched_run_that_shows_no_key_is_not_reused_by_a_request_with_other_inputs(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    add_distinct_id(scenario_dict, run_name=None)  # the default run-name: no key to see
    emulator = start_emulator(scenario_dict)
    prod = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "prod"}))
    clock.advance(10)
    dev = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "dev"}))
    assert dev.dispatched and dev.run.id != prod.run.id


def test_a_request_without_inputs_reuses_a_push_run_but_not_an_unmarked_dispatched_one(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    add_distinct_id(scenario_dict, run_name=None)
    push_run(scenario_dict, created=-900)
    emulator = start_emulator(scenario_dict)
    with_inputs = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "prod"}))
    clock.advance(10)
    plain = Dispatcher(make_api(emulator)).find_or_dispatch(request())
    assert not plain.dispatched and plain.run.event == "push"  # not the newer, dispatched prod run
    assert plain.run.id != with_inputs.run.id


def test_a_request_with_inputs_does_not_reuse_a_push_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    push_run(scenario_dict)
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(inputs={"environment": "prod"}))
    assert found.dispatched and found.run.event == "workflow_dispatch"


def test_a_run_that_failed_is_not_reused_so_running_again_retries_it(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    push_run(scenario_dict, conclusion="failure")
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request())
    assert found.dispatched and found.run.event == "workflow_dispatch"


def test_always_dispatches_even_when_a_run_exists(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    push_run(scenario_dict)
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert found.dispatched and found.run.event == "workflow_dispatch"


def test_never_waits_for_a_run_that_appears_late(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    push_run(scenario_dict, created=90)  # pushed 90 s after we start looking
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(
        request(dispatch=DispatchPolicy.NEVER, discovery_timeout=300)
    )
    assert not found.dispatched and found.run.event == "push"
    assert posts(emulator) == []


def test_never_gives_up_at_the_discovery_timeout(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    start = clock.now()
    with pytest.raises(RunNotFoundError, match=r"appeared within 2m0s \(dispatch: never\)"):
        Dispatcher(make_api(emulator)).find_or_dispatch(
            request(dispatch=DispatchPolicy.NEVER, discovery_timeout=120)
        )
    assert clock.now() - start == pytest.approx(120, abs=0.5)
    assert posts(emulator) == []


def test_a_run_listed_late_after_dispatch_is_still_found(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario_dict["options"]["dispatch_visibility_delay"] = 40
    add_distinct_id(without_run_details(scenario_dict))
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request())
    assert found.how == "correlation id"


# -- repository_dispatch -------------------------------------------------------------------------


def test_repository_dispatch_correlates_through_the_client_payload(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    workflow = build_workflow(scenario_dict)
    workflow["on"] = {"repository_dispatch": ["deploy"]}
    workflow["run_name"] = "Deploy [${{ github.event.client_payload.distinct_id }}]"
    emulator = start_emulator(scenario_dict)
    found = Dispatcher(make_api(emulator)).find_or_dispatch(
        RunRequest(APP, event_type="deploy", client_payload={"env": "prod"}, dispatch=DispatchPolicy.ALWAYS)
    )
    sent = posts(emulator)
    assert len(sent) == 1 and sent[0].path == "/repos/octo/app/dispatches"
    assert sent[0].body["client_payload"]["env"] == "prod"
    assert found.how == "correlation id" and found.run.event == "repository_dispatch"


def test_repository_dispatch_refuses_a_ref_other_than_the_default_branch(api: GitHubApi) -> None:
    with pytest.raises(UsageError, match="default branch"):
        Dispatcher(api).find_or_dispatch(RunRequest(APP, event_type="deploy", ref="feature/x"))


def test_a_dispatch_with_an_unknown_outcome_is_never_sent_again_when_the_deadline_cuts_the_search(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    # `--timeout 2s` and a 502 after GitHub created the run (listed after 3 s) must not dispatch
    # three times. The search for the run is cut by the deadline, so the outcome stays
    # unknown: the request ends with a timeout naming the correlation id, and is never re-sent.
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    emulator.inject(
        Fault(host="api", method="POST", path="*/dispatches", kind="apply_then_fail", status=502, times=None)
    )
    with pytest.raises(DeadlineExceededError) as caught:
        Dispatcher(make_api(emulator)).find_or_dispatch(request(), deadline=clock.now() + 2)
    assert len(posts(emulator)) == 1, "the dispatch was sent exactly once"
    assert caught.value.exit_code == ExitCode.TIMEOUT
    assert "may have started a run" in caught.value.message
    correlation_id = re.search(r"wad-[0-9a-f]{10}-[0-9a-f]{8}", caught.value.message)
    assert correlation_id is not None, caught.value.message
    clock.advance(10)
    (started,) = workflow_runs.find_runs(make_api(emulator), APP, event="workflow_dispatch")
    assert correlation_id.group(0) in started.display_title, "the id in the message finds the run"


def test_without_contents_permission_a_ref_that_does_not_exist_is_githubs_422_with_the_same_hint(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    token = without_contents_permission(scenario_dict)
    emulator = start_emulator(scenario_dict)
    with pytest.raises(UsageError, match="ref 'nope' does not exist in octo/app") as caught:
        Dispatcher(make_api(emulator, token)).find_or_dispatch(
            request(ref="nope", dispatch=DispatchPolicy.ALWAYS)
        )
    assert "No ref found for: nope" in caught.value.message
    assert "branch or tag" in caught.value.hint and "SHA" not in caught.value.hint


def test_a_run_name_known_to_show_the_id_spares_reading_other_runs_jobs(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    add_distinct_id(without_run_details(scenario_dict))
    emulator = start_emulator(scenario_dict)
    other = make_api(emulator)
    # Someone else's dispatch, without any id in its name, lands at the same time as ours.
    other.post("/repos/octo/app/actions/workflows/build.yml/dispatches", {"ref": "main"})
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert found.how == "correlation id"
    assert emulator.requests_to("/repos/octo/app/actions/runs/*/jobs") == []


def test_a_workflow_file_answered_404_falls_back_to_looking_the_workflow_up(
    emulator: Emulator, make_api: MakeApi
) -> None:
    # A private repository answers 404 where the token may not read contents: the workflow is
    # then looked up, and the dispatch goes as before the file was read (a refused probe first).
    emulator.inject(Fault(path="/repos/octo/app/contents/*", status=404, message="Not Found"))
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert len(emulator.requests_to("/repos/octo/app/actions/workflows/build.yml")) == 1
    assert [p.status for p in posts(emulator)] == [422, 200]
    assert found.dispatched and found.how == "return_run_details"


# -- GitHub's clock, not ours --------------------------------------------------------------------


def on_ghes_with_the_clock_behind(scenario: dict[str, Any], seconds: float) -> dict[str, Any]:
    """GHES 3.20 (no `return_run_details`), whose clock is `seconds` behind the client's."""
    add_distinct_id(without_run_details(scenario))
    scenario["options"]["enterprise_version"] = "3.20.0"
    scenario["options"]["clock_offset"] = -seconds
    return scenario


def test_with_the_servers_clock_3s_behind_ours_the_dispatched_run_is_still_found(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # `created>=` from our clock would start 2 s after the run was created on GitHub's clock.
    emulator = start_emulator(on_ghes_with_the_clock_behind(scenario_dict, 3))
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert found.how == "correlation id"
    assert found.correlation_id is not None and found.correlation_id in found.run.display_title
    assert len(posts(emulator)) == 1


def test_a_502_on_the_dispatch_with_the_servers_clock_5s_behind_starts_one_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(on_ghes_with_the_clock_behind(scenario_dict, 5))
    emulator.inject(Fault(host="api", method="POST", path="*/dispatches", kind="apply_then_fail", status=502))
    found = Dispatcher(make_api(emulator)).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert [p.status for p in posts(emulator)] == [502], "sent once: the run it started was found"
    assert found.how == "correlation after an unknown outcome"
    assert len(workflow_runs.find_runs(make_api(emulator), APP, event="workflow_dispatch")) == 1


# -- what the search for the run says --------------------------------------------------------------


def test_the_wait_for_the_run_to_be_listed_is_said_once_then_only_polls(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    scenario_dict["options"]["dispatch_visibility_delay"] = 40
    add_distinct_id(without_run_details(scenario_dict))
    events: list[ProgressEvent] = []
    Dispatcher(make_api(start_emulator(scenario_dict)), events.append).find_or_dispatch(request())
    listed = [e for e in events if "to be listed" in e.message]
    polls = [e for e in events if e.kind == "poll"]
    assert len(listed) == 1 and listed[0].kind == "correlating"
    assert len(polls) >= 10, "each later look is a poll event"
    out = io.StringIO()
    printer = ProgressPrinter(out, escape=escape_line)
    for event in events:
        printer(event)
    assert out.getvalue().count("not listed yet") <= 1, "a log gets at most one poll line a minute"


# -- the deadline before the dispatched run is found -----------------------------------------------


def on_ghes_listing_runs_after(scenario: dict[str, Any], seconds: float) -> dict[str, Any]:
    add_distinct_id(without_run_details(scenario))
    scenario["options"].update(enterprise_version="3.20.0", dispatch_visibility_delay=seconds)
    return scenario


def test_cancel_on_timeout_during_discovery_finds_the_run_a_little_later_and_cancels_it(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine
) -> None:
    emulator = start_emulator(on_ghes_listing_runs_after(scenario_dict, 8))
    engine = make_engine(emulator)
    with pytest.raises(DeadlineExceededError) as caught:
        engine.run(request(), WaitOptions(timeout=5, cancel_on_timeout=True))
    (run,) = workflow_runs.find_runs(engine.api, APP, event="workflow_dispatch")
    assert [p.path for p in posts(emulator, "/cancel")] == [f"/repos/octo/app/actions/runs/{run.id}/cancel"]
    assert caught.value.exit_code == ExitCode.TIMEOUT
    assert f"found it afterwards, run {run.id}, and cancelled it" in caught.value.message
    assert f"cancelled run {run.id} after the timeout" in engine.messages()


def test_a_timeout_during_discovery_names_the_correlation_id_to_find_the_run_by(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine
) -> None:
    emulator = start_emulator(on_ghes_listing_runs_after(scenario_dict, 8))
    with pytest.raises(DeadlineExceededError) as caught:
        make_engine(emulator).run(request(), WaitOptions(timeout=5))
    (sent,) = posts(emulator)
    assert caught.value.exit_code == ExitCode.TIMEOUT
    assert f"look for the run whose name shows {sent.body['inputs']['distinct_id']}" in caught.value.message
    assert posts(emulator, "/cancel") == [], "without cancel-on-timeout the run is left to run"


def test_cancel_on_timeout_looks_for_the_run_a_few_seconds_only_then_names_its_correlation_id(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_engine: MakeEngine, clock: ManualClock
) -> None:
    emulator = start_emulator(on_ghes_listing_runs_after(scenario_dict, 60))
    start = clock.now()
    with pytest.raises(DeadlineExceededError) as caught:
        make_engine(emulator).run(request(), WaitOptions(timeout=5, cancel_on_timeout=True))
    assert clock.now() - start <= 5 + FIND_GRACE + 1
    (sent,) = posts(emulator)
    assert sent.body["inputs"]["distinct_id"] in caught.value.message
    assert posts(emulator, "/cancel") == []


def test_dispatch_on_github_com_speaks_2026_03_10_and_takes_the_run_id_from_the_200(
    api: GitHubApi, emulator: Emulator
) -> None:
    # Under 2026-03-10 the dispatch answers 200 with the run's details unasked, and the body flag
    # is gone (REST "Breaking changes"): none is sent.
    found = Dispatcher(api).find_or_dispatch(request(inputs={"environment": "prod"}))
    assert found.dispatched and found.how == "return_run_details"
    (accepted,) = posts(emulator)
    assert accepted.status == 200
    assert {k.lower(): v for k, v in accepted.headers.items()}["x-github-api-version"] == "2026-03-10"
    assert accepted.body == {"ref": "main", "inputs": {"environment": "prod"}}
    assert found.run.event == "workflow_dispatch" and found.run.head_sha == MAIN_SHA


def test_a_client_speaking_2022_11_28_still_asks_for_the_run_details(
    api: GitHubApi, emulator: Emulator
) -> None:
    api.api_version = "2022-11-28"
    found = Dispatcher(api).find_or_dispatch(request(inputs={"environment": "prod"}))
    assert found.dispatched and found.how == "return_run_details"
    (accepted,) = posts(emulator)
    assert accepted.status == 200
    assert accepted.body == {"ref": "main", "inputs": {"environment": "prod"}, "return_run_details": True}


def test_ten_callers_on_a_ghes_that_refuses_2026_03_10_fall_back_and_each_get_their_own_run(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # GHES 3.20 as it is: /api/v3, no rate limits, no run details, and 400 for API version
    # 2026-03-10. Each caller has its own connection, so each is refused once and falls back.
    scenario_dict["options"].update(return_run_details=False, enterprise_version="3.20.1")
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    assert emulator.api_url.endswith("/api/v3")
    found: dict[int, Any] = {}
    apis = [make_api(emulator) for _ in range(10)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(10)

    def caller(n: int) -> None:
        dispatcher = Dispatcher(apis[n])
        barrier.wait()
        try:
            found[n] = dispatcher.find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [api.api_version for api in apis] == ["2022-11-28"] * 10
    refused = [r for r in emulator.requests if r.status == 400 and "2026-03-10" in r.headers.values()]
    assert len(refused) == 10, "each connection was refused once, then remembered the version"
    assert len({result.run.id for result in found.values()}) == 10, "every caller got a different run"
    accepted = [p for p in posts(emulator) if p.status == 204]
    assert len(accepted) == 10, "exactly one run started per caller"
    sent = {p.body["inputs"]["distinct_id"] for p in accepted}
    assert {result.correlation_id for result in found.values()} == sent
    for result in found.values():
        assert result.correlation_id in result.run.display_title, "each caller got the run it started"


def test_a_run_id_that_is_not_a_number_leads_to_the_run_by_its_correlation_id(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], clock: ManualClock
) -> None:
    # A dispatch answered 200 with `workflow_run_id: "abc"` (not GitHub: a tampering proxy) was
    # accepted, so a run started: it is found by its correlation id, never guessed from the value.
    add_distinct_id(scenario_dict)
    emulator = start_emulator(scenario_dict)
    events: list[ProgressEvent] = []
    with TamperingProxy(emulator.api_url) as proxy:
        rule = proxy.tamper(
            "POST", "*/dispatches", edit_json(lambda data: data.update(workflow_run_id="abc"))
        )
        with GitHubApi(base_url=proxy.url, token=emulator.token("dev"), clock=clock, timeout=10) as api:
            found = Dispatcher(api, events.append).find_or_dispatch(request(dispatch=DispatchPolicy.ALWAYS))
    assert rule.fired == 1
    (accepted,) = posts(emulator)
    assert found.how == "correlation id"
    assert accepted.body["inputs"]["distinct_id"] in found.run.display_title
    assert any("names no valid run" in event.message for event in events)
