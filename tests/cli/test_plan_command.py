"""`wait-and-dispatch plan FILE` against the emulator in real time (runs of seconds): running,
`--json`, `--dry-run` with no writes, `--check`, `--schema`, `--emit-workflow`, and plan errors."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_mock import MockerFixture

from tests.cli.conftest import serve_to_the_cli
from tests.support.action_release import PINNED_USES, RELEASE_TAG, serving_the_release
from tests.support.small_plan import PLAN, dispatched_workflows, small_scenario, write_plan
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import SystemClock


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with serve_to_the_cli(monkeypatch, small_scenario()) as emulator:
        yield emulator


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_plan_runs_in_order_and_prints_each_node(emulator: Emulator, tmp_path: Path) -> None:
    code, out, err = cli("plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path))
    assert code == 0, err
    assert dispatched_workflows(emulator) == ["build.yml", "test.yml", "report.yml"]
    assert [line.split()[1] for line in out.splitlines()[:3]] == ["build", "test", "report"]
    assert out.splitlines()[-1].startswith("plan Small pipeline: success in ")
    assert "[build] " in err and "[test] " in err
    assert (tmp_path / "build" / "app.txt").exists()  # a node's artifacts go into a folder named after it


def test_json_gives_each_node_its_result_and_outputs(emulator: Emulator, tmp_path: Path) -> None:
    code, out, err = cli("plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["conclusion"] == "success"
    nodes = result["nodes"]
    assert list(nodes) == ["build", "test", "report"]
    assert all(node["result"] == "success" for node in nodes.values())
    dispatch = next(w for w in emulator.writes() if w.path.endswith("/test.yml/dispatches"))
    assert dispatch.body["inputs"]["build_run"] == str(nodes["build"]["outputs"]["run_id"])


def test_a_failed_node_fails_the_plan_with_its_exit_code_and_always_nodes_still_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with Emulator(Scenario.from_dict(small_scenario(test_conclusion="failure")), clock=SystemClock()) as emu:
        monkeypatch.setenv("GITHUB_API_URL", emu.api_url)
        monkeypatch.setenv("GITHUB_TOKEN", emu.token("dev"))
        code, out, err = cli("plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path), "--json")
    assert code == 1
    nodes = json.loads(out)["nodes"]
    assert [nodes[name]["result"] for name in ("build", "test", "report")] == [
        "success",
        "failure",
        "success",
    ]
    assert "error: plan Small pipeline: " in err and "test" in err
    assert "hint: " in err


def test_dry_run_reads_only_and_says_what_each_node_would_do(emulator: Emulator, tmp_path: Path) -> None:
    code, out, err = cli(
        "plan", str(write_plan(tmp_path)), "--dry-run", "--summary-file", str(tmp_path / "s.md")
    )
    assert code == 0, err
    assert emulator.writes() == []
    assert out.startswith("build:\n  would dispatch Build")
    assert "test:\n" in out and "report:\n" in out
    assert "```mermaid" in (tmp_path / "s.md").read_text()


def test_summary_file_has_the_status_table_and_the_coloured_graph(emulator: Emulator, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    code, _, err = cli(
        "plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path), "--summary-file", str(summary)
    )
    assert code == 0, err
    text = summary.read_text()
    assert text.startswith("## ✅ Plan Small pipeline: success")
    assert "| Node | Result | Run | Duration | Details |" in text
    assert "flowchart LR" in text and "n0 --> n1" in text and "class n0,n1,n2 success" in text


def test_plan_errors_are_listed_with_lines_and_exit_code_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "nodes:\n  a:\n    workflow: a.yml\n    needs: [zz]\n  b:\n    workflow: b.yml\n    timout: 5m\n",
        encoding="utf-8",
    )
    code, out, err = cli("plan", str(broken), "--check")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert any(line.startswith(f"{broken}:4:") and "zz" in line for line in lines)
    assert any(line.startswith(f"{broken}:7:") and "timout" in line for line in lines)
    assert lines[-2].startswith("error: ") and lines[-1].startswith("hint: ")


def test_check_validates_every_environment(tmp_path: Path) -> None:
    plan = tmp_path / "envs.yml"
    plan.write_text(
        "repository: octo/app\n"
        "environments:\n"
        "  dev: {vars: {suffix: dev}}\n"
        "  prd: {vars: {suffix: prd}}\n"
        "vars: {suffix: x}\n"
        "nodes:\n"
        "  python: {workflow: 'python-${{ vars.suffix }}.yml'}\n",
        encoding="utf-8",
    )
    code, out, err = cli("plan", str(plan), "--check")
    assert code == 0, err
    assert out.splitlines() == [f"{plan} (dev): ok, 1 nodes, 0 needs", f"{plan} (prd): ok, 1 nodes, 0 needs"]


def test_check_says_which_runs_a_checks_node_waits_for_and_why() -> None:
    plan = Path(__file__).resolve().parents[2] / "examples/002-required-backend-check/plan.yml"
    code, out, err = cli("plan", str(plan), "--check")
    assert code == 0, err
    assert out.splitlines()[1] == (
        "  backend-status-check: waits for /^(vllm|sglang|trtllm|operator) \\(/; a workflow run in "
        "progress on the commit holds it only while its workflow file has a job that could still "
        "report a matching check (a file it cannot read: 10 s at most); never its own run or its own check"
    )


@pytest.mark.parametrize(
    ("example", "line"),
    [
        (
            "002-required-backend-check",
            "  backend-status-check: in advance mode, advanced by the completion of the runs of pr.yaml "
            "on the commit it reads (checks-workflows): no job waits for its checks; an orchestrator "
            "in another repository than the plan's waits for them instead",
        ),
        (
            "001-model-training",
            "  aggregate: in advance mode, collected by the orchestrator run that makes it ready",
        ),
    ],
)
def test_check_with_advance_says_which_nodes_no_event_advances(example: str, line: str) -> None:
    plan = Path(__file__).resolve().parents[2] / "examples" / example / "plan.yml"
    code, out, err = cli("plan", str(plan), "--check", "--advance")
    assert code == 0, err
    assert line in out.splitlines()
    code, out, err = cli("plan", str(plan), "--check")
    assert "in advance mode" not in out


CHECKS_PLAN = """\
name: Gate
repository: octo/app
nodes:
  gate:
    checks-regex: '^build'
  carried:
    checks: [lint]
    checks-workflows: [ci.yml]
  deploy:
    workflow: deploy.yml
    needs: [gate, carried]
"""


def test_check_with_advance_says_a_checks_node_no_known_workflow_carries_is_a_waiting_job(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "gate.yml"
    plan.write_text(CHECKS_PLAN, encoding="utf-8")
    code, out, err = cli("plan", str(plan), "--check", "--advance", "--workflows-dir", str(tmp_path))
    assert code == 0, err
    assert (
        "  gate: in advance mode, no workflow is known to carry its checks (a checks-regex may match "
        "a check any app reports; name them with checks-workflows): the orchestrator run that makes "
        "it ready waits for them (a waiting job for this node only)"
    ) in out.splitlines()
    assert "  carried: in advance mode, advanced by the completion of the runs of ci.yml" in out
    assert "(checks-workflows): no job waits for its checks" in out


def test_check_with_advance_infers_the_workflows_whose_jobs_are_a_checks_nodes_checks(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "gate.yml"
    plan.write_text(CHECKS_PLAN.replace("checks-regex: '^build'", "checks: [build (3.12)]"), encoding="utf-8")
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "ci.yml").write_text(
        "name: CI\non: push\njobs:\n  build:\n    strategy: {matrix: {python: ['3.12']}}\n"
        "    runs-on: ubuntu-latest\n    steps: [{run: 'true'}]\n"
    )
    code, out, err = cli("plan", str(plan), "--check", "--advance", "--workflows-dir", str(workflows))
    assert code == 0, err
    assert (
        f"  gate: in advance mode, advanced by the completion of the runs of ci.yml on the commit it "
        f"reads (inferred from the jobs in {workflows}): no job waits for its checks; an orchestrator "
        "in another repository than the plan's waits for them instead"
    ) in out.splitlines()


def test_emit_workflow_advance_listens_to_the_workflows_that_carry_a_checks_nodes_checks(
    tmp_path: Path, release: Emulator
) -> None:
    plan = tmp_path / "gate.yml"
    plan.write_text(CHECKS_PLAN, encoding="utf-8")
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    for file, name in (("ci.yml", "CI"), ("deploy.yml", "Deploy")):
        (workflows / file).write_text(
            f"name: {name}\non:\n  workflow_dispatch:\njobs:\n  lint:\n    runs-on: ubuntu-latest\n"
            "    steps: [{run: 'true'}]\n"
        )
    argv = ["plan", str(plan), "--emit-workflow", "--advance", "--output-dir", "-"]
    code, out, err = cli(*argv, "--workflows-dir", str(workflows))
    assert code == 0, err
    emitted = yaml.safe_load(out.split("\n", 1)[1])
    # `on:` is YAML 1.1's true to PyYAML.
    assert emitted[True]["workflow_run"]["workflows"] == ["CI", "Deploy"]


def test_schema_prints_the_shipped_json_schema() -> None:
    code, out, _ = cli("plan", "--schema")
    assert code == 0
    schema = json.loads(out)
    assert "nodes" in schema["properties"]


@pytest.fixture
def release(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An API serving the action's release tag, which --emit-workflow pins `uses:` to."""
    with serving_the_release(monkeypatch) as emulator:
        yield emulator


def test_emit_workflow_writes_files_and_refuses_to_overwrite_them(tmp_path: Path, release: Emulator) -> None:
    plan = write_plan(tmp_path)
    output = tmp_path / "out"
    code, out, err = cli(
        "plan",
        str(plan),
        "--emit-workflow",
        "--output-dir",
        str(output),
        "--workflows-dir",
        str(tmp_path / "none"),
    )
    assert code == 0, err
    assert f"wrote {output / 'orchestrator.yml'}" in out
    emitted = yaml.safe_load((output / "orchestrator.yml").read_text())
    assert list(emitted["jobs"]) == ["build", "test", "report"]
    assert emitted["jobs"]["test"]["needs"] == ["build"]
    code, _, err = cli("plan", str(plan), "--emit-workflow", "--output-dir", str(output))
    assert code == 2
    assert "already exist" in err and "--force" in err


def test_emit_workflow_reports_driven_workflows_that_lack_workflow_dispatch(
    tmp_path: Path, release: Emulator
) -> None:
    plan = write_plan(tmp_path)
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    for name in ("build", "report"):
        (workflows / f"{name}.yml").write_text(
            "on:\n  workflow_dispatch:\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{run: 'true'}]\n"
        )
    (workflows / "test.yml").write_text(
        "on:\n  push:\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{run: 'true'}]\n"
    )
    code, out, err = cli(
        "plan", str(plan), "--emit-workflow", "--output-dir", "-", "--workflows-dir", str(workflows)
    )
    assert code == 0, err
    assert out.startswith("# --- orchestrator.yml\n")
    assert "to change: " not in out  # stdout is only the workflows
    assert any(
        line.startswith("to change: ") and "test.yml" in line and "workflow_dispatch" in line
        for line in err.splitlines()
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--needs", "{}"], "error: plan-needs is given without plan-node"),
        (
            ["--node", "test", "--needs", "{oops"],
            "error: plan-needs is not valid JSON: Expecting property name",
        ),
        (["--node", "test", "--needs", "[1]"], "error: plan-needs must be a JSON object"),
        (["--node", "nope"], "error: plan "),
    ],
)
def test_bad_node_options_are_usage_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    code, _, err = cli("plan", str(write_plan(tmp_path)), "--repo", "octo/app", *extra)
    assert code == 2
    assert err.startswith(message), err
    assert "\nhint: " in err


def test_dry_run_json_is_one_json_object(emulator: Emulator, tmp_path: Path) -> None:
    code, out, err = cli("plan", str(write_plan(tmp_path)), "--dry-run", "--json")
    assert code == 0, err
    preview = json.loads(out)["preview"]
    assert [node["node"] for node in preview] == ["build", "test", "report"]
    assert preview[0]["lines"][0].startswith("would dispatch Build")


def test_dry_run_says_which_nodes_an_if_already_skips(emulator: Emulator, tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path, PLAN.replace("    if: always()\n", "    if: ${{ github.ref_name == 'release' }}\n")
    )
    code, out, err = cli("plan", str(plan), "--dry-run", "--ref", "main")
    assert code == 0, err
    assert (
        "report:\n  runs after: test\n  would be skipped: if: github.ref_name == 'release' is false\n" in out
    )


def test_a_summary_file_in_a_missing_folder_is_refused_before_anything_runs(
    emulator: Emulator, tmp_path: Path
) -> None:
    code, _, err = cli("plan", str(write_plan(tmp_path)), "--summary-file", str(tmp_path / "no" / "s.md"))
    assert code == 2
    assert "its folder does not exist" in err
    assert emulator.writes() == []


def test_an_output_dir_that_cannot_be_written_is_a_usage_error(tmp_path: Path, release: Emulator) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = cli(
        "plan", str(write_plan(tmp_path)), "--emit-workflow", "--output-dir", str(blocker / "x")
    )
    assert code == 2
    assert err.startswith(f"error: cannot write to --output-dir {blocker / 'x'}")


@pytest.mark.parametrize(
    ("var", "message"),
    [("mode", "error: plan var 'mode' is not NAME=VALUE"), ("=x", "error: plan var '=x' has an empty name")],
)
def test_a_malformed_var_is_a_usage_error_that_names_vars(tmp_path: Path, var: str, message: str) -> None:
    code, _, err = cli("plan", str(write_plan(tmp_path)), "--check", "--var", var)
    assert code == 2
    assert err.startswith(message)
    assert "--var mode=quick" in err


def test_emit_workflow_pins_the_action_to_the_commit_of_this_versions_release(
    tmp_path: Path, release: Emulator
) -> None:
    code, out, err = cli("plan", str(write_plan(tmp_path)), "--emit-workflow", "--output-dir", "-")
    assert code == 0, err
    assert out.count(f"uses: {PINNED_USES}\n") == 3
    # GET /repos/{owner}/{repo}/commits/tags/{tag}: the tag, never a branch of the same name.
    assert [request.path for request in release.requests] == [
        f"/repos/wait-and-dispatch/wait-and-dispatch/commits/tags/{RELEASE_TAG}"
    ]


def test_emit_workflow_without_the_release_tag_says_to_pass_action_ref(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving_the_release(monkeypatch, tags={}) as emulator:
        code, out, err = cli("plan", str(write_plan(tmp_path)), "--emit-workflow", "--output-dir", "-")
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"error: the action's release tag {RELEASE_TAG} does not exist in wait-and-dispatch/wait-and-dispatch"
        f" at {emulator.api_url}",
        "hint: pass --action-ref wait-and-dispatch/wait-and-dispatch@SHA with the commit of the release to"
        f" use (git ls-remote https://github.com/wait-and-dispatch/wait-and-dispatch {RELEASE_TAG})",
    ]


def test_emit_workflow_with_an_action_ref_needs_no_api_and_warns_unless_it_is_a_sha(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # nothing listens: no request is made
    sha = "0123456789abcdef0123456789abcdef01234567"
    argv = ["plan", str(write_plan(tmp_path)), "--emit-workflow", "--output-dir", "-"]
    code, out, err = cli(*argv, "--action-ref", f"octo/fork@{sha}")
    assert code == 0, err
    assert f"uses: octo/fork@{sha}\n" in out
    assert "warning" not in err
    code, out, err = cli(*argv, "--action-ref", "octo/fork@v1")
    assert code == 0, err
    assert "uses: octo/fork@v1\n" in out
    assert "warning: --action-ref octo/fork@v1 is not a full commit SHA" in err


def advance_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, event: str, payload: dict[str, Any], run_id: int
) -> tuple[int, str, str]:
    """One orchestrator run's `plan --advance` step, with the environment the runner gives a job."""
    path = tmp_path / f"event-{run_id}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    for name, value in {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": str(run_id),
    }.items():
        monkeypatch.setenv(name, value)
    return cli("plan", str(write_plan(tmp_path)), "--advance", "--workdir", str(tmp_path), "--json")


def test_advance_dispatches_on_each_event_and_the_last_one_prints_the_plan(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mocker: MockerFixture
) -> None:
    # Writes are a second apart, as GitHub asks (github_api/rate_limit.py): on the command line's
    # clock, which here skips its waits ahead rather than sleep them.
    mocker.patch("wait_and_dispatch.github_api.api.SystemClock", SkippingClock)
    code, out, err = advance_step(monkeypatch, tmp_path, "workflow_dispatch", {}, 1)
    assert (code, out) == (0, ""), err
    assert "instance 1 started" in err and "build: dispatched run " in err
    delivered: set[int] = set()
    runs = 2
    while True:
        time.sleep(0.5)  # the runs take a second in the emulator's real time
        listed = emulator_runs(emulator)
        completed = [r for r in listed if r["status"] == "completed" and r["id"] not in delivered]
        if not completed:
            continue
        run = completed[0]
        delivered.add(run["id"])
        payload = {"action": "completed", "workflow_run": run, "workflow": {"name": run["name"]}}
        code, out, err = advance_step(monkeypatch, tmp_path, "workflow_run", payload, runs)
        runs += 1
        if out:
            break
        assert code == 0, err
    assert code == 0, err
    result = json.loads(out)
    assert result["conclusion"] == "success"
    assert [result["nodes"][name]["result"] for name in ("build", "test", "report")] == ["success"] * 3
    assert dispatched_workflows(emulator) == ["build.yml", "test.yml", "report.yml"]
    assert runs - 1 <= 3 + 2  # orchestrator runs: at most the nodes and two


def test_advance_on_a_run_of_no_instance_says_so_and_exits_0(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    payload = {
        "action": "completed",
        "workflow_run": {"id": 77, "name": "Other"},
        "workflow": {"name": "Other"},
    }
    code, out, err = advance_step(monkeypatch, tmp_path, "workflow_run", payload, 5)
    assert (code, out) == (0, "")
    assert err.strip() == "run 77 belongs to no instance of plan Small pipeline: nothing to do"
    assert emulator.writes() == []


class SkippingClock(SystemClock):
    """The system clock, but a sleep moves it on at once."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def now(self) -> float:
        return super().now() + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)


def emulator_runs(emulator: Emulator) -> list[dict[str, Any]]:
    with GitHubApi(base_url=emulator.api_url, token=emulator.token("dev")) as api:
        return list(
            api.paginate("/repos/octo/app/actions/runs", {"per_page": 100}, items_key="workflow_runs")
        )
