"""`plan --emit-workflow`: a plan written as orchestrator workflows, one job per node, and the
workflows the plan drives checked for what would make GitHub refuse the dispatch.

Every generated workflow is read back with yaml.safe_load (what it means, not how it is spelt),
and the ones the tests build are linted with actionlint.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from tests.support.actionlint import ROOT, actionlint_command
from wait_and_dispatch.plans.emit import (
    EmittedWorkflow,
    Finding,
    check_workflows,
    emit_workflows,
)
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import Collect, NodeKind, Plan, PlanNode
from wait_and_dispatch.step.catalogue import OUTPUT_NAMES
from wait_and_dispatch.support.action_pins import CHECKOUT
from wait_and_dispatch.support.expressions import render

PLAN_PATH = ".github/pipeline.yml"
ENVIRONMENTS = ("dev", "test", "prd")


def node(
    name: str,
    *,
    needs: tuple[str, ...] = (),
    condition: str = "",
    kind: NodeKind = NodeKind.WORKFLOW,
    title: str | None = None,
    continue_on_error: bool = False,
    matrix: Mapping[str, Any] | None = None,
    collect: Collect | None = None,
    **values: Any,
) -> PlanNode:
    """A node as the loader makes it: keyword values with `_` for `-`, and `path` named after it."""
    return PlanNode(
        name=name,
        title=title or name,
        kind=kind,
        needs=needs,
        condition=condition,
        values={"path": name, **{key.replace("_", "-"): value for key, value in values.items()}},
        collect=collect,
        continue_on_error=continue_on_error,
        matrix=matrix or {},
    )


def make_plan(
    *nodes: PlanNode,
    name: str = "Deploy",
    environment: str | None = None,
    on: Mapping[str, Any] | None = None,
    vars: Mapping[str, Any] | None = None,
    repository: str | None = None,
    fail_fast: bool = False,
    timeout: float | None = None,
    concurrency: int = 8,
) -> Plan:
    return Plan(
        file=PLAN_PATH,
        name=name,
        environment=environment,
        environments=ENVIRONMENTS if environment else (),
        repository=repository,
        concurrency=concurrency,
        fail_fast=fail_fast,
        timeout=timeout,
        vars=vars or {},
        nodes={n.name: n for n in nodes},
        on=on,
    )


def seed_004_plan(environment: str) -> Plan:
    """Seed 004's pipeline for one environment: python -> terraform, docker -> kubernetes."""
    branch = "develop" if environment == "dev" else "main"
    on: dict[str, Any] = {"push": {"branches": [branch]}, "workflow_dispatch": None}
    if environment == "prd":
        on = {"workflow_run": {"workflows": ["Orchestrator Deploy (test)"], "types": ["completed"]}}
    return make_plan(
        node("python", title="Python", workflow=f"python-{environment}.yml"),
        node("docker", title="Docker", workflow=f"docker-{environment}.yml"),
        node(
            "terraform",
            title="Terraform",
            needs=("python",),
            workflow=f"terraform-{environment}.yml",
            inputs={"package_run_id": "${{ needs.python.outputs.run-id }}"},
        ),
        node(
            "kubernetes",
            title="Kubernetes",
            needs=("docker",),
            workflow=f"kubernetes-{environment}.yml",
            inputs={"image_run_id": "${{ needs.docker.outputs.run-id }}"},
        ),
        environment=environment,
        on=on,
    )


# The release `plan --emit-workflow` pins by default (cli/plan_command.py resolves the tag).
ACTION_SHA = "5a1e7c0d3b2f4e6a8c9d0b1e2f3a4b5c6d7e8f90"
PINNED = {"action_ref": f"wait-and-dispatch/wait-and-dispatch@{ACTION_SHA}", "action_version": "v0.1.0"}


def emit(plans: list[Plan], **options: Any) -> list[EmittedWorkflow]:
    return emit_workflows(plans, plan_path=PLAN_PATH, **{**PINNED, **options})


def emit_one(plan: Plan, **options: Any) -> EmittedWorkflow:
    (emitted,) = emit([plan], **options)
    return emitted


def read_back(text: str) -> dict[str, Any]:
    """The workflow as GitHub reads it; PyYAML (YAML 1.1) reads the key `on` as True."""
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    if True in data:
        data["on"] = data.pop(True)
    return cast(dict[str, Any], data)


def jobs_of(plan: Plan, **options: Any) -> dict[str, Any]:
    return cast(dict[str, Any], read_back(emit_one(plan, **options).text)["jobs"])


def step_with(job: Mapping[str, Any]) -> dict[str, Any]:
    """The `with:` of the step that runs the action (id `node`)."""
    step = next(s for s in job["steps"] if s.get("id") == "node")
    return cast(dict[str, Any], step["with"])


def lint(tmp_path: Path, *workflows: EmittedWorkflow) -> None:
    files = []
    for index, workflow in enumerate(workflows):
        folder = tmp_path / f"lint-{index}"
        folder.mkdir()
        (folder / workflow.file_name).write_text(workflow.text, encoding="utf-8")
        files.append(str(folder / workflow.file_name))
    result = subprocess.run(
        [*actionlint_command(), *files], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"actionlint: {len(files)} workflow(s)" in result.stdout


# --- files ---------------------------------------------------------------------------------------


def test_one_orchestrator_per_environment_named_after_it() -> None:
    emitted = emit([seed_004_plan(e) for e in ENVIRONMENTS])
    assert [w.file_name for w in emitted] == [
        "orchestrator-dev.yml",
        "orchestrator-test.yml",
        "orchestrator-prd.yml",
    ]
    assert [w.environment for w in emitted] == list(ENVIRONMENTS)


def test_a_plan_without_environments_gives_orchestrator_yml() -> None:
    emitted = emit_one(make_plan(node("build", workflow="build.yml")))
    assert (emitted.file_name, emitted.environment) == ("orchestrator.yml", None)


def test_the_header_says_where_the_workflow_came_from_and_to_regenerate_it() -> None:
    text = emit_one(seed_004_plan("dev")).text
    header = text.split("\nname:", 1)[0]
    assert all(line.startswith("#") or not line for line in header.splitlines())
    assert f"Generated from {PLAN_PATH} (environment dev)" in header
    assert "`wait-and-dispatch plan --emit-workflow`" in header
    assert "Do not edit" in header and "re-generate" in header


def test_the_header_lists_the_order_of_the_nodes() -> None:
    text = emit_one(seed_004_plan("dev")).text
    assert "#   python\n#   docker\n#   terraform <- python\n#   kubernetes <- docker\n" in text


def test_the_header_says_a_concurrency_below_the_node_count_is_not_carried_over() -> None:
    nodes = (node("a", workflow="a.yml"), node("b", workflow="b.yml"))
    assert "concurrency (1) is not carried over" in emit_one(make_plan(*nodes, concurrency=1)).text
    assert "concurrency" not in emit_one(make_plan(*nodes, concurrency=2)).text.split("\nname:")[0]


def test_the_header_says_fail_fast_and_the_plan_timeout_are_not_carried_over() -> None:
    text = emit_one(make_plan(node("a", workflow="a.yml"), fail_fast=True, timeout=3600)).text
    assert "fail-fast is not carried over" in text
    assert "timeout is not carried over" in text


# --- workflow settings ---------------------------------------------------------------------------


def test_the_workflow_is_named_after_the_plan_and_the_environment() -> None:
    assert read_back(emit_one(seed_004_plan("test")).text)["name"] == "Orchestrator Deploy (test)"
    assert read_back(emit_one(make_plan(node("a", workflow="a.yml"))).text)["name"] == "Orchestrator Deploy"


def test_a_workflow_run_trigger_is_explained_in_the_header_and_marked_for_zizmor() -> None:
    text = emit_one(seed_004_plan("prd")).text
    header = text.split("\nname:", 1)[0]
    assert "# workflow_run: this workflow starts when a workflow named under on.workflow_run" in header
    assert "plans cannot read github.event" in header
    assert "\n  workflow_run:  # zizmor: ignore[dangerous-triggers] -- see the header\n" in text
    assert "workflow_run" not in emit_one(seed_004_plan("dev")).text


def test_the_triggers_are_the_plans() -> None:
    assert read_back(emit_one(seed_004_plan("dev")).text)["on"] == {
        "push": {"branches": ["develop"]},
        "workflow_dispatch": None,
    }
    assert read_back(emit_one(seed_004_plan("prd")).text)["on"] == {
        "workflow_run": {"workflows": ["Orchestrator Deploy (test)"], "types": ["completed"]}
    }


def test_without_triggers_the_workflow_is_started_by_hand() -> None:
    text = emit_one(make_plan(node("a", workflow="a.yml"))).text
    assert "\non:\n  workflow_dispatch:\n\n" in text
    assert read_back(text)["on"] == {"workflow_dispatch": None}


def test_schedule_triggers_are_written_as_a_list_of_mappings() -> None:
    on = {"schedule": [{"cron": "0 4 * * 1-5"}], "workflow_dispatch": None}
    assert read_back(emit_one(make_plan(node("a", workflow="a.yml"), on=on)).text)["on"] == on


def test_the_workflow_grants_nothing_and_each_job_what_its_node_needs() -> None:
    # zizmor (excessive-permissions): a workflow-level `actions: write` reaches every job.
    workflow = read_back(
        emit_one(
            make_plan(
                node("dispatch", workflow="a.yml"),
                node("find", workflow="a.yml", dispatch="never"),
                node("cancel", workflow="a.yml", dispatch="never", cancel_on_timeout=True),
                node(
                    "first-failure",
                    workflow="a.yml",
                    dispatch="never",
                    fail_on_failed_job=True,
                    cancel_on_failure=True,
                ),
                node("from-run", run_id="123", artifacts=["dist"]),
                node("send", event_type="deploy"),
                node("ci", kind=NodeKind.CHECKS, checks=["lint"]),
                node(
                    "best",
                    kind=NodeKind.COLLECT,
                    needs=("dispatch",),
                    collect=Collect(sources=("dispatch",), patterns=("m-*",), path="m"),
                ),
            )
        ).text
    )
    assert workflow["permissions"] == {}
    assert {name: job["permissions"] for name, job in workflow["jobs"].items()} == {
        "dispatch": {"actions": "write", "contents": "read"},
        "find": {"actions": "read", "contents": "read"},
        "cancel": {"actions": "write", "contents": "read"},
        "first-failure": {"actions": "write", "checks": "read", "contents": "read"},
        "from-run": {"actions": "read", "contents": "read"},
        "send": {"actions": "write", "contents": "write"},
        "ci": {"checks": "read", "contents": "read"},
        "best": {"actions": "read", "contents": "read"},
    }


def test_one_orchestration_per_environment_and_ref_at_a_time_without_cancelling() -> None:
    assert read_back(emit_one(seed_004_plan("dev")).text)["concurrency"] == {
        "group": "orchestrator-dev-${{ github.ref }}",
        "cancel-in-progress": False,
    }


# --- jobs ----------------------------------------------------------------------------------------


def test_one_job_per_node_in_plan_order_with_its_needs() -> None:
    jobs = jobs_of(seed_004_plan("dev"))
    assert list(jobs) == ["python", "docker", "terraform", "kubernetes"]
    assert {name: job.get("needs") for name, job in jobs.items()} == {
        "python": None,
        "docker": None,
        "terraform": ["python"],
        "kubernetes": ["docker"],
    }


def test_a_job_is_named_after_the_node_and_runs_on_linux() -> None:
    job = jobs_of(seed_004_plan("dev"))["terraform"]
    assert job["name"] == "Terraform"
    assert job["runs-on"] == "ubuntu-latest"


def test_matrix_members_are_jobs_of_their_own() -> None:
    jobs = jobs_of(
        make_plan(
            node("train-1", workflow="train.yml", matrix={"attempt": 1}, inputs={"attempt": "1"}),
            node("train-2", workflow="train.yml", matrix={"attempt": 2}, inputs={"attempt": "2"}),
            node("report", needs=("train-1", "train-2"), workflow="report.yml"),
        )
    )
    assert jobs["report"]["needs"] == ["train-1", "train-2"]


@pytest.mark.parametrize(
    ("condition", "written"),
    [
        ("always()", "${{ always() }}"),
        ("failure()", "${{ failure() }}"),
        ("cancelled()", "${{ cancelled() }}"),
        ("needs.a.result == 'failure'", "${{ needs.a.result == 'failure' }}"),
        ("${{ github.ref_name == 'main' }}", "${{ github.ref_name == 'main' }}"),
    ],
)
def test_the_condition_becomes_the_jobs_if(condition: str, written: str) -> None:
    jobs = jobs_of(make_plan(node("a", workflow="a.yml"), node("b", needs=("a",), condition=condition)))
    assert jobs["b"]["if"] == written


def test_a_node_without_a_condition_has_no_if() -> None:
    assert "if" not in jobs_of(seed_004_plan("dev"))["terraform"]


def test_the_plans_vars_and_matrix_in_a_condition_are_written_in_and_evaluated() -> None:
    condition = "vars.mode == 'full' && matrix.attempt > 1 && github.ref_name != vars.mode"
    plan = make_plan(
        node("a", workflow="a.yml", condition=condition, matrix={"attempt": 2}),
        vars={"mode": "full"},
        environment="dev",
    )
    assert jobs_of(plan)["a"]["if"] == "${{ github.ref_name != 'full' }}"


@pytest.mark.parametrize(
    ("condition", "written"),
    [
        # zizmor (obfuscation) flags what can be evaluated before the run; GitHub would get the same.
        ("!failure() && !cancelled() && vars.mode != 'pull-request'", "${{ !failure() && !cancelled() }}"),
        ("always() && (vars.mode == 'full' || needs.a.result == 'success')", "${{ always() }}"),
        ("always() || vars.mode == 'full'", "${{ always() }}"),
        # The status function goes, but not its meaning: no implied success().
        (
            "(always() || vars.mode == 'full') && needs.a.result == 'failure'",
            "${{ always() && needs.a.result == 'failure' }}",
        ),
        ("vars.mode == 'lite' && needs.a.result == 'failure'", False),
    ],
)
def test_a_condition_is_written_with_its_constant_parts_evaluated(condition: str, written: Any) -> None:
    plan = make_plan(
        node("a", workflow="a.yml"), node("b", needs=("a",), condition=condition), vars={"mode": "full"}
    )
    assert jobs_of(plan)["b"]["if"] == written


def test_a_condition_that_is_always_true_gives_no_if() -> None:
    plan = make_plan(node("a", workflow="a.yml", condition="vars.mode == 'full'"), vars={"mode": "full"})
    assert "if" not in jobs_of(plan)["a"]


def test_continue_on_error_is_carried_over() -> None:
    jobs = jobs_of(
        make_plan(node("a", workflow="a.yml", continue_on_error=True), node("b", workflow="b.yml"))
    )
    assert jobs["a"]["continue-on-error"] is True
    assert "continue-on-error" not in jobs["b"]


@pytest.mark.parametrize(
    ("values", "minutes"),
    [
        ({}, 35),  # the action's default timeout, 30m
        ({"timeout": "1h"}, 65),
        ({"timeout": "90s"}, 7),
        ({"timeout": 600}, 15),
        ({"timeout": "30m", "discovery-timeout": "15m"}, 45),  # 10 minutes past the default 5m
    ],
)
def test_the_job_timeout_is_the_nodes_timeout_plus_a_margin(values: dict[str, Any], minutes: int) -> None:
    job = jobs_of(make_plan(node("a", workflow="a.yml", **values)))["a"]
    assert job["timeout-minutes"] == minutes


def test_every_job_exposes_the_actions_outputs() -> None:
    outputs = jobs_of(seed_004_plan("dev"))["python"]["outputs"]
    assert outputs == {
        name: f"${{{{ steps.node.outputs.{name} }}}}" for name in OUTPUT_NAMES if name != "nodes"
    }


# --- the action's inputs -------------------------------------------------------------------------


def test_a_workflow_node_runs_the_action_with_its_values() -> None:
    plan = make_plan(
        node(
            "deploy",
            workflow="deploy.yml",
            ref="main",
            dispatch="always",
            timeout="45m",
            wait=False,
            allowed_conclusions=["success", "neutral"],
            artifacts=["report-*", "sbom"],
        )
    )
    job = jobs_of(plan)["deploy"]
    (step,) = job["steps"]
    assert step["uses"] == PINNED["action_ref"]
    assert step_with(job) == {
        "workflow": "deploy.yml",
        "ref": "main",
        "dispatch": "always",
        "wait": "false",
        "timeout": "45m",
        "allowed-conclusions": "success\nneutral\n",
        "artifacts": "report-*\nsbom\n",
        "path": "deploy",
    }


def test_inputs_are_a_json_object_with_the_needs_outputs_left_as_written() -> None:
    inputs = step_with(jobs_of(seed_004_plan("dev"))["terraform"])["inputs"]
    assert json.loads(inputs) == {"package_run_id": "${{ needs.python.outputs.run-id }}"}


def test_non_string_inputs_stay_json_values() -> None:
    plan = make_plan(node("a", workflow="a.yml", inputs={"replicas": 3, "debug": True, "note": 'say "hi"'}))
    assert json.loads(step_with(jobs_of(plan)["a"])["inputs"]) == {
        "replicas": 3,
        "debug": True,
        "note": 'say "hi"',
    }


def test_a_value_that_could_break_the_json_goes_through_tojson() -> None:
    # A JSON list or a branch name may hold `"`; GitHub pastes values in as they are.
    plan = make_plan(
        node(
            "a",
            workflow="a.yml",
            client_payload={
                "files": "${{ needs.b.outputs.checks }}",
                "tag": "v-${{ github.ref_name }}'s {build}",
            },
        )
    )
    payload = step_with(jobs_of(plan)["a"])["client-payload"]
    assert '"files": ${{ toJSON(needs.b.outputs.checks) }}' in payload
    assert """"tag": ${{ toJSON(format('v-{0}''s {{build}}', github.ref_name)) }}""" in payload


def test_the_inputs_json_renders_on_github_to_the_values_the_plan_would_send() -> None:
    # What GitHub does with the `with:` value: render every `${{ }}` in the text, then the action
    # parses the JSON. Whatever the outputs hold, that must give the plan's values.
    context = {
        "needs": {
            "build": {
                "result": "success",
                "outputs": {"run-id": "42", "checks": '{"lint": "success"}', "download-path": "C:\\out"},
            }
        },
        "github": {"ref_name": 'feature/"quoted"', "sha": "a" * 40},
    }
    inputs = {
        "run": "${{ needs.build.outputs.run-id }}",
        "checks": "${{ needs.build.outputs.checks }}",
        "label": "{run}: '${{ needs.build.outputs.run-id }}' on ${{ github.ref_name }}",
        "notes": "line one\n\tline two ${{ github.sha }}",
        "spread": "${{\n  needs.build.result\n}}",
        "plain": 'no "expression" \\ here',
        "nested": {"paths": ["${{ needs.build.outputs.download-path }}", 7]},
    }
    plan = make_plan(node("a", workflow="a.yml", inputs=inputs))
    text = step_with(jobs_of(plan)["a"])["inputs"]

    def rendered(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rendered(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rendered(v) for v in value]
        return render(value, context) if isinstance(value, str) else value

    assert json.loads(render(text, context)) == rendered(inputs)


def test_path_is_given_only_when_set_or_when_the_node_downloads() -> None:
    jobs = jobs_of(
        make_plan(
            node("plain", workflow="a.yml"),
            node("downloads", workflow="a.yml", artifacts=["dist"]),
            node("from-run", run_id="123"),
            node("elsewhere", workflow="a.yml", path="out/a"),
        )
    )
    assert "path" not in step_with(jobs["plain"])
    assert step_with(jobs["downloads"])["path"] == "downloads"
    assert step_with(jobs["from-run"])["path"] == "from-run"
    assert step_with(jobs["elsewhere"])["path"] == "out/a"


def test_the_plans_repository_is_passed_to_every_node() -> None:
    jobs = jobs_of(make_plan(node("a", workflow="a.yml"), repository="octo/app"))
    assert step_with(jobs["a"])["repository"] == "octo/app"


def test_the_action_is_pinned_by_sha_with_its_version_as_a_comment() -> None:
    # zizmor (unpinned-uses) wants a SHA; the comment is what dependabot and a reviewer read.
    text = emit_one(seed_004_plan("dev")).text
    assert text.count(f"uses: wait-and-dispatch/wait-and-dispatch@{ACTION_SHA} # v0.1.0\n") == 4


def test_the_action_reference_can_be_any_other() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    text = emit_one(
        seed_004_plan("dev"), action_ref=f"octo/wait-and-dispatch@{sha}", action_version=None
    ).text
    assert read_back(text)["jobs"]["python"]["steps"][0]["uses"] == f"octo/wait-and-dispatch@{sha}"
    assert f"@{sha}\n" in text  # no version comment when none is known


def test_the_checkout_of_collect_jobs_is_the_pin_tables_with_its_release_as_the_comment() -> None:
    # tests/test_action_pins.py holds every shipped workflow to the same table.
    plan = make_plan(
        node("train", workflow="train.yml"),
        node(
            "best",
            kind=NodeKind.COLLECT,
            needs=("train",),
            collect=Collect(sources=("train",), patterns=("m-*",), path="m"),
        ),
    )
    text = emit_one(plan).text
    assert f"      - uses: {CHECKOUT.uses} # {CHECKOUT.version}\n" in text


def test_a_checks_node_runs_the_action_with_its_checks() -> None:
    plan = make_plan(node("ci", kind=NodeKind.CHECKS, checks=["build", "lint"], ignore_checks=["ci"]))
    assert step_with(jobs_of(plan)["ci"]) == {"checks": "build\nlint\n", "ignore-checks": "ci\n"}


def test_a_collect_node_checks_out_the_plan_and_runs_its_node_with_the_needs() -> None:
    plan = make_plan(
        node("train", workflow="train.yml"),
        node(
            "best",
            kind=NodeKind.COLLECT,
            needs=("train",),
            collect=Collect(sources=("train",), patterns=("metrics-*",), path="metrics"),
        ),
        environment="dev",
        vars={"threshold": "0.9"},
    )
    checkout, action = jobs_of(plan)["best"]["steps"]
    assert checkout == {"uses": CHECKOUT.uses, "with": {"persist-credentials": False}}
    assert action["id"] == "node"
    assert action["with"] == {
        "plan": PLAN_PATH,
        "plan-environment": "dev",
        "plan-node": "best",
        "plan-vars": "threshold=0.9\n",
        "plan-needs": "${{ toJSON(needs) }}",
    }


@pytest.mark.parametrize(
    "text",
    [
        "${{ needs.a.outputs.run-id }}",
        "key: value",
        "a #comment",
        "true",
        "No",
        "~",
        "0o17",
        "1e3",
        "012",
        "1_000",
        "2024-01-01",
        ".inf",
        "- item",
        "'quoted'",
        '"double"',
        "back\\slash",
        "  padded  ",
        "",
        "tab\there",
        "line\nbreak",
        "ends with newline\n",
        "two\nlines\n\n",
        "\nleading newline",
        " first line indented\nsecond",
        "blank\n  \nline",
        "{not: flow}",
        "[not, flow]",
        "*alias",
        "&anchor",
        "!tag",
        "%directive",
        "@at",
        "`tick`",
        "ünïcødé ✓ — ok",
        "bell\x07 and del\x7f and nel\x85 and ls\u2028",
        "---",
    ],
)
def test_any_text_reads_back_exactly(text: str) -> None:
    jobs = jobs_of(make_plan(node("a", title=text or "a", workflow="a.yml", ref=text, sha=f"x{text}")))
    assert step_with(jobs["a"])["ref"] == text
    assert step_with(jobs["a"])["sha"] == f"x{text}"
    assert jobs["a"]["name"] == (text or "a")


def test_expressions_are_written_plain_where_yaml_allows() -> None:
    text = emit_one(seed_004_plan("dev")).text
    assert "      run-id: ${{ steps.node.outputs.run-id }}\n" in text
    assert "          workflow: python-dev.yml\n" in text


# --- what the orchestrator cannot do -------------------------------------------------------------


def test_a_node_that_uses_another_jobs_downloaded_files_is_a_finding() -> None:
    plan = make_plan(
        node("python", workflow="python.yml", artifacts=["lambda-package"]),
        node(
            "terraform",
            needs=("python",),
            workflow="terraform.yml",
            inputs={"package": "${{ needs.python.outputs.download-path }}/lambda.zip"},
        ),
        environment="dev",
    )
    (finding,) = emit_one(plan).findings
    assert finding.workflow_file == "orchestrator-dev.yml"
    assert finding.node == "terraform"
    assert "needs.python.outputs.download-path" in finding.message
    assert "own runner" in finding.message
    assert "run-id: ${{ needs.python.outputs.run-id }}" in finding.hint


def test_a_node_that_uses_another_jobs_artifact_list_is_a_finding() -> None:
    plan = make_plan(
        node("a", workflow="a.yml", artifacts=["dist"]),
        node(
            "b",
            needs=("a",),
            workflow="b.yml",
            inputs={"files": "${{ fromJSON(needs.a.outputs.artifacts) }}"},
        ),
    )
    (finding,) = emit_one(plan).findings
    assert "needs.a.outputs.artifacts" in finding.message


def test_passing_a_run_id_is_not_a_finding() -> None:
    assert emit_one(seed_004_plan("dev")).findings == ()


# --- actionlint ----------------------------------------------------------------------------------


def test_the_seed_004_orchestrators_pass_actionlint(tmp_path: Path) -> None:
    lint(tmp_path, *emit([seed_004_plan(e) for e in ENVIRONMENTS]))


def test_a_workflow_using_every_feature_passes_actionlint(tmp_path: Path) -> None:
    plan = make_plan(
        node("base", title="Build: base image", workflow="base.yml", artifacts=["dist"], timeout="1h"),
        node("checks", kind=NodeKind.CHECKS, checks=["lint"], checks_regex="^test"),
        node("train-1", workflow="train.yml", matrix={"attempt": 1}, inputs={"attempt": "1"}),
        node("train-2", workflow="train.yml", matrix={"attempt": 2}, inputs={"attempt": "2"}),
        node(
            "notify",
            needs=("base", "checks"),
            event_type="deployed",
            client_payload={
                "run": "${{ needs.base.outputs.run-id }}",
                "files": "${{ needs.base.outputs.checks }}",
            },
            condition="always()",
            continue_on_error=True,
        ),
        node(
            "best",
            kind=NodeKind.COLLECT,
            needs=("train-1", "train-2"),
            collect=Collect(sources=("train-1", "train-2"), patterns=("metrics-*",), path="metrics"),
        ),
        node("report", needs=("best",), workflow="report.yml", condition="needs.best.result == 'success'"),
        repository="octo/app",
        environment="dev",
        on={"push": {"branches": ["main"], "paths-ignore": ["docs/**"]}, "schedule": [{"cron": "0 4 * * *"}]},
        vars={"mode": "full"},
    )
    lint(tmp_path, emit_one(plan), emit_one(make_plan(node("only", workflow="only.yml"))))


SEED_004_PLAN = """\
name: Deploy
vars:
  deploy_k8s: 'yes'
nodes:
  python:
    name: Python
    workflow: python-${{ plan.environment }}.yml
  docker:
    name: Docker
    workflow: docker-${{ plan.environment }}.yml
  terraform:
    name: Terraform
    needs: [python]
    workflow: terraform-${{ plan.environment }}.yml
    inputs:
      package_run_id: ${{ needs.python.outputs.run-id }}
  kubernetes:
    name: Kubernetes
    needs: [docker]
    workflow: kubernetes-${{ plan.environment }}.yml
    if: ${{ vars.deploy_k8s == 'yes' }}
environments:
  dev:
    on:
      push:
        branches: [develop]
  test:
    vars: {deploy_k8s: 'no'}
    on:
      push:
        branches: [main]
  prd:
    on:
      workflow_run:
        workflows: [Orchestrator Deploy (test)]
        types: [completed]
"""


def test_a_plan_file_with_three_environments_gives_three_orchestrators(tmp_path: Path) -> None:
    path = write(tmp_path, "pipeline.yml", SEED_004_PLAN)
    plans = [load_plan(path, environment=e) for e in load_plan(path).environments]
    emitted = emit(plans)
    assert [w.file_name for w in emitted] == [
        "orchestrator-dev.yml",
        "orchestrator-test.yml",
        "orchestrator-prd.yml",
    ]
    dev, test, prd = (read_back(w.text) for w in emitted)
    assert dev["on"] == {"push": {"branches": ["develop"]}}
    assert prd["on"] == {
        "workflow_run": {"workflows": ["Orchestrator Deploy (test)"], "types": ["completed"]}
    }
    assert step_with(test["jobs"]["python"])["workflow"] == "python-test.yml"
    assert test["jobs"]["terraform"]["needs"] == ["python"]
    assert json.loads(step_with(test["jobs"]["terraform"])["inputs"]) == {
        "package_run_id": "${{ needs.python.outputs.run-id }}"
    }
    # The environment's vars are the plan's, not the repository's variables of the same name.
    assert "if" not in dev["jobs"]["kubernetes"]
    assert test["jobs"]["kubernetes"]["if"] is False
    lint(tmp_path, *emitted)


# --- checking the workflows the plan drives ------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


READY = """\
name: Terraform Dev
run-name: ${{ github.workflow }} [${{ inputs.distinct_id }}]
on:
  push:
    branches: [develop]
  workflow_dispatch:
    inputs:
      package_run_id:
        type: string
      distinct_id:
        required: false
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo deploy
"""


def single_node_plan(**values: Any) -> Plan:
    return make_plan(node("terraform", **values))


def test_a_workflow_ready_for_dispatch_has_no_findings(tmp_path: Path) -> None:
    write(tmp_path, "terraform-dev.yml", READY)
    plan = single_node_plan(workflow="terraform-dev.yml", inputs={"package_run_id": "1"})
    assert check_workflows([plan], tmp_path) == []


def test_a_workflow_without_workflow_dispatch_is_reported_with_the_trigger_to_add(tmp_path: Path) -> None:
    path = write(tmp_path, "terraform-dev.yml", "on:\n  push:\n    branches: [develop]\njobs: {}\n")
    plan = single_node_plan(workflow="terraform-dev.yml", inputs={"package_run_id": "1"})
    (finding,) = check_workflows([plan], tmp_path)
    assert (finding.workflow_file, finding.node) == (str(path), "terraform")
    assert "no workflow_dispatch trigger" in finding.message
    snippet = read_back(finding.hint.split(":\n", 1)[1])
    inputs = snippet["on"]["workflow_dispatch"]["inputs"]
    assert list(inputs) == ["package_run_id", "distinct_id"]
    assert inputs["package_run_id"] == {"required": False, "type": "string"}
    assert snippet["run-name"] == "${{ github.workflow }} [${{ inputs.distinct_id }}]"


def test_the_trigger_to_add_uses_the_nodes_correlation_input(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on: push\njobs: {}\n")
    (finding,) = check_workflows([single_node_plan(workflow="a.yml", correlation_input="request")], tmp_path)
    snippet = read_back(finding.hint.split(":\n", 1)[1])
    assert list(snippet["on"]["workflow_dispatch"]["inputs"]) == ["request"]
    assert snippet["run-name"] == "${{ github.workflow }} [${{ inputs.request }}]"


def test_the_trigger_to_add_keeps_an_existing_run_name(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "run-name: Deploy ${{ github.ref_name }}\non: push\njobs: {}\n")
    (finding,) = check_workflows([single_node_plan(workflow="a.yml")], tmp_path)
    assert "\nrun-name:" not in finding.hint
    assert finding.hint.endswith(
        "show the distinct_id input in its run-name, e.g. "
        "`${{ github.workflow }} [${{ inputs.distinct_id }}]`"
    )


def test_an_input_the_workflow_does_not_declare_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "terraform-dev.yml", READY)
    plan = single_node_plan(workflow="terraform-dev.yml", inputs={"package_run_id": "1", "region": "eu"})
    (finding,) = check_workflows([plan], tmp_path)
    assert "'region'" in finding.message and "does not declare" in finding.message
    assert read_back(finding.hint.split(":\n", 1)[1]) == {"region": {"required": False, "type": "string"}}


SHOWS_ID = "A [${{ inputs.distinct_id }}]"  # a run-name that shows the correlation id


def test_a_run_name_that_does_not_show_the_correlation_id_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on:\n  workflow_dispatch:\njobs: {}\n")
    (finding,) = check_workflows([single_node_plan(workflow="a.yml")], tmp_path)
    assert finding.message == (
        "its run-name does not show the distinct_id input, so a re-run of the plan cannot reuse the "
        "run node terraform dispatched and dispatches it again"
    )
    assert finding.hint.startswith("show it in run-name, e.g. `run-name: ${{ github.workflow }} [")
    assert read_back(finding.hint.split(":\n", 1)[1]) == {
        "distinct_id": {"required": False, "type": "string"}
    }


def test_a_required_input_the_plan_does_not_pass_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yml",
        f"run-name: {SHOWS_ID}\n"
        "on:\n  workflow_dispatch:\n    inputs:\n      version:\n        required: true\n"
        "      channel:\n        required: true\n        default: stable\njobs: {}\n",
    )
    (finding,) = check_workflows([single_node_plan(workflow="a.yml")], tmp_path)
    assert finding.message == "requires the input 'version', which node terraform does not pass"


def test_a_required_correlation_input_is_not_reported_since_the_action_fills_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yml",
        f"run-name: {SHOWS_ID}\n"
        "on:\n  workflow_dispatch:\n    inputs:\n      distinct_id:\n        required: true\njobs: {}\n",
    )
    assert check_workflows([single_node_plan(workflow="a.yml")], tmp_path) == []


def test_a_choice_the_workflow_does_not_offer_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yml",
        f"run-name: {SHOWS_ID}\n"
        "on:\n  workflow_dispatch:\n    inputs:\n      env:\n        type: choice\n"
        "        options: [dev, prd]\njobs: {}\n",
    )
    (finding,) = check_workflows([single_node_plan(workflow="a.yml", inputs={"env": "test"})], tmp_path)
    assert "env='test'" in finding.message and "dev, prd" in finding.message


def test_a_choice_is_read_as_github_reads_it_so_yes_is_an_option_not_a_boolean(tmp_path: Path) -> None:
    # GitHub's parser takes only true/false as booleans (YAML 1.2), as the dispatch does
    # (engine/workflow_file.py): `yes` is one of the options, not `True`.
    write(
        tmp_path,
        "a.yml",
        f"run-name: {SHOWS_ID}\n"
        "on:\n  workflow_dispatch:\n    inputs:\n      confirm:\n        type: choice\n"
        "        options: [yes, no]\njobs: {}\n",
    )
    assert check_workflows([single_node_plan(workflow="a.yml", inputs={"confirm": "yes"})], tmp_path) == []


def test_a_run_name_that_names_the_input_outside_an_expression_does_not_show_it(tmp_path: Path) -> None:
    # The dispatch recognises its run only by an `inputs.X` expression in run-name
    # (engine/workflow_file.py, WorkflowDefinition.shows_in_run_name): the check agrees.
    write(tmp_path, "a.yml", "run-name: deploy distinct_id\non:\n  workflow_dispatch:\njobs: {}\n")
    (finding,) = check_workflows([single_node_plan(workflow="a.yml")], tmp_path)
    assert finding.message.startswith("its run-name does not show the distinct_id input")


def test_a_run_name_reading_the_input_from_the_event_shows_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yml",
        "run-name: A [${{ github.event.inputs.distinct_id }}]\non:\n  workflow_dispatch:\n"
        "    inputs:\n      distinct_id:\njobs: {}\n",
    )
    assert check_workflows([single_node_plan(workflow="a.yml")], tmp_path) == []


def test_a_missing_workflow_file_is_reported(tmp_path: Path) -> None:
    (finding,) = check_workflows([single_node_plan(workflow="terraform-dev.yml")], tmp_path)
    assert finding.workflow_file == str(tmp_path / "terraform-dev.yml")
    assert finding.message == f"not found in {tmp_path} (node terraform runs it)"


def test_a_workflow_given_by_path_is_looked_up_by_its_file_name(tmp_path: Path) -> None:
    write(tmp_path, "terraform-dev.yml", "on: push\njobs: {}\n")
    (finding,) = check_workflows([single_node_plan(workflow=".github/workflows/terraform-dev.yml")], tmp_path)
    assert "no workflow_dispatch trigger" in finding.message


def test_a_workflow_that_is_not_yaml_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on: [push\n")
    (finding,) = check_workflows([single_node_plan(workflow="a.yml")], tmp_path)
    assert finding.message.startswith("cannot be read as YAML")


@pytest.mark.parametrize("values", [{"dispatch": "never"}, {"run_id": "42"}], ids=["never", "run-id"])
def test_a_node_that_does_not_dispatch_needs_no_dispatch_trigger(
    tmp_path: Path, values: dict[str, Any]
) -> None:
    write(tmp_path, "a.yml", "on: push\njobs: {}\n")
    plan = make_plan(node("a", workflow="a.yml", **values))
    assert check_workflows([plan], tmp_path) == []


@pytest.mark.parametrize("workflow", ["1234567", "Terraform Dev", "${{ vars.workflow }}.yml"])
def test_workflows_named_by_id_display_name_or_template_are_not_checked(
    tmp_path: Path, workflow: str
) -> None:
    assert check_workflows([single_node_plan(workflow=workflow)], tmp_path) == []


def test_a_repository_dispatch_type_the_workflow_does_not_take_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on:\n  repository_dispatch:\n    types: [build, test]\njobs: {}\n")
    (finding,) = check_workflows([single_node_plan(workflow="a.yml", event_type="deploy")], tmp_path)
    assert "'deploy'" in finding.message and "build, test" in finding.message


def test_a_repository_dispatch_without_types_takes_every_type(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on: repository_dispatch\njobs: {}\n")
    assert check_workflows([single_node_plan(workflow="a.yml", event_type="deploy")], tmp_path) == []


def test_a_workflow_without_repository_dispatch_is_reported_with_the_trigger_to_add(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on:\n  workflow_dispatch:\njobs: {}\n")
    (finding,) = check_workflows([single_node_plan(workflow="a.yml", event_type="deploy")], tmp_path)
    assert "no repository_dispatch trigger" in finding.message
    snippet = read_back(finding.hint.split(":\n", 1)[1])
    assert snippet == {"on": {"repository_dispatch": {"types": ["deploy"]}}}


def test_an_event_type_without_a_workflow_file_is_looked_for_in_every_workflow(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on:\n  repository_dispatch:\n    types: [build]\njobs: {}\n")
    plan = single_node_plan(event_type="deploy")
    (finding,) = check_workflows([plan], tmp_path)
    assert finding.workflow_file == str(tmp_path)
    assert "no workflow" in finding.message and "'deploy'" in finding.message
    write(tmp_path, "b.yaml", "on:\n  repository_dispatch:\n    types: [deploy]\njobs: {}\n")
    assert check_workflows([plan], tmp_path) == []


def test_the_same_finding_in_several_environments_is_reported_once(tmp_path: Path) -> None:
    write(tmp_path, "shared.yml", "on: push\njobs: {}\n")
    plans = [make_plan(node("a", workflow="shared.yml"), environment=e) for e in ENVIRONMENTS]
    assert len(check_workflows(plans, tmp_path)) == 1


def test_the_seed_004_plan_reports_each_workflow_per_environment(tmp_path: Path) -> None:
    for environment in ENVIRONMENTS:
        for code_type in ("python", "docker", "terraform", "kubernetes"):
            write(
                tmp_path, f"{code_type}-{environment}.yml", "on:\n  push:\n    branches: [main]\njobs: {}\n"
            )
    findings = check_workflows([seed_004_plan(e) for e in ENVIRONMENTS], tmp_path)
    assert len(findings) == 12
    assert all("no workflow_dispatch trigger" in f.message for f in findings)


def test_checking_never_changes_the_workflows(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yml", "on: push # only push\njobs: {}\n")
    before = path.read_bytes(), path.stat().st_mtime_ns
    check_workflows([single_node_plan(workflow="a.yml", inputs={"x": "1"})], tmp_path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_finding_reads_as_file_and_message() -> None:
    finding = Finding("wf/a.yml", "a", "has no workflow_dispatch trigger", "add it")
    assert str(finding) == "wf/a.yml: has no workflow_dispatch trigger"


# --- a var that holds an expression: written as a valid ${{ }} expression -----------------------------------

SECRET_VAR_PLAN = """\
name: Deploy
vars:
  token: ${{ secrets.DEPLOY_TOKEN }}
  header: Bearer ${{ secrets.DEPLOY_TOKEN }}
nodes:
  deploy:
    workflow: deploy.yml
    inputs:
      token: ${{ vars.token }}
      header: ${{ vars.header }}
      commit: ${{ github.sha }}-${{ vars.token }}
  notify:
    needs: [deploy]
    workflow: notify.yml
    if: ${{ always() && vars.token != needs.deploy.outputs.conclusion }}
"""


def test_a_var_holding_an_expression_is_written_as_text_that_actionlint_accepts(tmp_path: Path) -> None:
    # docs/plans.md: a var's value is written in as text and never evaluated, so that a
    # `--var` (or a plan-vars fed from a dispatch input) can never read the workflow's secrets.
    # On GitHub the orchestrator must then send that text, as the plan run in one step does.
    path = write(tmp_path, "pipeline.yml", SECRET_VAR_PLAN)
    emitted = emit_one(load_plan(path))
    lint(tmp_path, emitted)
    jobs = read_back(emitted.text)["jobs"]
    context = {"github": {"sha": "abc"}, "needs": {"deploy": {"outputs": {"conclusion": "success"}}}}
    assert json.loads(render(step_with(jobs["deploy"])["inputs"], context)) == {
        "token": "${{ secrets.DEPLOY_TOKEN }}",
        "header": "Bearer ${{ secrets.DEPLOY_TOKEN }}",
        "commit": "abc-${{ secrets.DEPLOY_TOKEN }}",
    }
    # The condition compares the text too: it is true here, as it would be in the plan.
    assert render(jobs["notify"]["if"], context, {"always": lambda: True}) == "true"
