"""`--json` is one typed, versioned object per command, and the shipped JSON Schema describes it:
real output of `run`, `checks`, `download` and `plan` (against the emulator over HTTP) validates."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.conftest import MAIN_SHA
from tests.edges.test_action import fast_scenario
from tests.support.small_plan import small_scenario, write_plan
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.step.results import SCHEMA_VERSION, schema_text
from wait_and_dispatch.support.clock import SystemClock

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]
SCHEMA = json.loads(schema_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def cli(*argv: str) -> tuple[int, dict[str, Any], str]:
    """The command with --json last (after its other options, as a person types it): its exit
    code, its object checked against the schema, and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "--json"], stdout=out, stderr=err)
    assert out.getvalue().count("\n") == 1, out.getvalue()  # one line: one object, nothing else
    document = json.loads(out.getvalue())
    VALIDATOR.validate(document)
    return code, document, err.getvalue()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with serve_to_the_cli(monkeypatch, fast_scenario()) as emulator:
        yield emulator


@pytest.fixture
def plan_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(Scenario.from_dict(small_scenario()), clock=SystemClock()) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
        monkeypatch.delenv("GH_TOKEN", raising=False)
        monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
        yield emulator


def test_the_schema_is_shipped_with_the_package_and_is_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$defs"]["schema_version"] == {"const": SCHEMA_VERSION}
    # tests/test_packaging.py checks that the wheel and the sdist carry it.


def test_run_checks_and_download_validate_and_are_typed(emulator: Emulator, tmp_path: Path) -> None:
    code, run, err = cli(
        "run", *FAST, "--workflow", "build.yml", "--artifact", "package", "--path", str(tmp_path)
    )
    assert code == 0, err
    assert run["command"] == "run" and run["outcome"] == "success" and run["dispatched"] is True
    assert run["artifacts"][0]["size"] > 0 and run["download_path"] == str(tmp_path)

    code, checks, err = cli("checks", *FAST, "--sha", MAIN_SHA, "--checks", "build")
    assert code == 0, err
    assert checks["checks"] == {"build": "success"} and checks["missing_checks"] == []

    target = tmp_path / "again"
    code, download, err = cli(
        "download", *FAST, "--run-id", str(run["run_id"]), "--artifact", "*", "--path", str(target)
    )
    assert code == 0, err
    assert download["command"] == "download" and download["run_id"] == run["run_id"]
    assert download["dispatched"] is False and download["duration"] == run["duration"]


def test_a_checks_result_carries_checks_fields_only(emulator: Emulator) -> None:
    code, checks, err = cli(
        "checks", *FAST, "--sha", MAIN_SHA, "--checks", "never-reported", "--checks-discovery-timeout", "1s"
    )
    assert code == 3, err
    # No run exists: no status, conclusion, dispatched or artifacts of one.
    assert set(checks) == {
        "schema_version", "command", "dry_run", "outcome", "head_sha", "checks", "missing_checks",
        "waited", "api", "failure", "error",
    }  # fmt: skip
    assert checks["failure"] is None  # nothing failed: the wait timed out
    assert checks["missing_checks"] == ["never-reported"] and checks["outcome"] == "timed-out"


def test_checks_prints_checks_fields_only_without_json(emulator: Emulator) -> None:
    assert cli("run", *FAST, "--workflow", "build.yml")[0] == 0  # its job reports the check `build`
    out, err = io.StringIO(), io.StringIO()
    code = main(["checks", *FAST, "--sha", MAIN_SHA, "--checks", "build"], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    names = [line.partition(":")[0] for line in out.getvalue().splitlines()]
    assert names == ["head-sha", "checks"]


def test_a_missing_artifact_is_not_a_success_beside_its_error(emulator: Emulator, tmp_path: Path) -> None:
    code, run, err = cli(
        "run", *FAST, "--workflow", "build.yml", "--artifact", "nope", "--path", str(tmp_path)
    )
    assert code == 5, err
    assert run["outcome"] == "artifact-error" and run["error"]["exit_code"] == 5
    assert run["conclusion"] == "success"  # the run itself went well


def test_a_failed_run_still_prints_its_object_with_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(Scenario.from_dict(fast_scenario(conclusion="failure")), clock=SystemClock()) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
        monkeypatch.delenv("GH_TOKEN", raising=False)
        code, run, err = cli("run", *FAST, "--workflow", "build.yml")
    assert code == 1
    assert run["outcome"] == "conclusion-not-allowed" and run["conclusion"] == "failure"
    assert run["error"]["exit_code"] == 1 and run["error"]["message"] in err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["run", *FAST, "--workflow", "nope.yml"], 4, "workflow 'nope.yml' not found in octo/app"),
        (["run", "--workflow", "build.yml"], 2, "no repository given"),
        (["checks", *FAST, "--timeout", "soon"], 2, "timeout 'soon' is not a duration"),
    ],
)
def test_a_command_that_fails_before_its_result_prints_a_failure_object(
    emulator: Emulator,
    argv: list[str],
    code: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # not in a clone, whose remote would name the repository
    got, failure, err = cli(*argv)
    assert got == code
    assert failure == {
        "schema_version": SCHEMA_VERSION,
        "command": argv[0],
        "error": {
            "exit_code": code,
            "message": failure["error"]["message"],
            "hint": failure["error"]["hint"],
        },
    }
    assert message in failure["error"]["message"] and f"error: {failure['error']['message']}" in err
    assert failure["error"]["hint"] and f"hint: {failure['error']['hint']}" in err


def test_a_plan_that_cannot_load_prints_a_failure_object(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("nodes:\n  a:\n    workflow: a.yml\n    needs: [zz]\n", encoding="utf-8")
    code, failure, _ = cli("plan", str(broken), "--repo", "octo/app")
    assert code == 2
    assert failure["command"] == "plan" and failure["error"]["exit_code"] == 2


def test_plan_check_prints_text_even_with_json(tmp_path: Path) -> None:
    out = io.StringIO()
    assert (
        main(["plan", str(write_plan(tmp_path)), "--check", "--json"], stdout=out, stderr=io.StringIO()) == 0
    )
    assert out.getvalue().endswith(": ok, 3 nodes, 2 needs\n")


def test_dry_run_validates_and_lists_what_would_happen(emulator: Emulator) -> None:
    code, preview, err = cli("run", *FAST, "--workflow", "build.yml", "--dry-run")
    assert code == 0, err
    assert preview["dry_run"] is True and preview["preview"][0].startswith("would dispatch Build")


def test_plan_validates_with_typed_node_outputs(plan_emulator: Emulator, tmp_path: Path) -> None:
    code, plan, err = cli("plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path))
    assert code == 0, err
    assert plan["command"] == "plan" and plan["conclusion"] == "success"
    assert list(plan["nodes"]) == ["build", "test", "report"]
    build = plan["nodes"]["build"]
    assert build["result"] == "success" and isinstance(build["outputs"]["run_id"], int)
    assert sorted(plan["dispatched"]) == sorted(node["outputs"]["run_id"] for node in plan["nodes"].values())


def test_plan_nodes_carry_their_times_and_the_plan_its_critical_path(
    plan_emulator: Emulator, tmp_path: Path
) -> None:
    code, plan, err = cli("plan", str(write_plan(tmp_path)), "--workdir", str(tmp_path))
    assert code == 0, err
    assert plan["critical_path"]["nodes"] == ["build", "test", "report"]
    durations = sum(node["duration"] for node in plan["nodes"].values())
    assert abs(plan["critical_path"]["duration"] - durations) <= 0.2  # each rounded to 0.1 s
    previous_end = 0.0
    for node in plan["nodes"].values():
        times = node["timeline"]
        assert list(times) == ["queued", "started", "completed", "downloaded"]
        # In order, each node after the one it needs (seconds from the plan's start).
        assert previous_end - 0.1 <= times["queued"] <= times["started"] <= times["completed"]
        assert times["completed"] <= times["downloaded"] <= plan["elapsed"]
        assert abs(times["downloaded"] - times["queued"] - node["duration"]) <= 0.2
        previous_end = times["downloaded"]


def test_plan_dry_run_and_one_node_validate(plan_emulator: Emulator, tmp_path: Path) -> None:
    path = str(write_plan(tmp_path))
    code, preview, err = cli("plan", path, "--dry-run")
    assert code == 0, err
    assert [node["node"] for node in preview["preview"]] == ["build", "test", "report"]
    needs = json.dumps({"build": {"result": "success", "outputs": {"run-id": "4242"}}})
    code, node, err = cli("plan", path, "--node", "test", "--needs", needs, "--workdir", str(tmp_path))
    assert code == 0, err
    assert node["node"] == "test" and node["result"] == "success"
    assert node["timeline"]["queued"] == 0.0  # one node alone: from its own start
    assert node["outputs"]["conclusion"] == "success"


def test_the_schema_refuses_the_stringly_shape_of_the_action_outputs() -> None:
    stringly = {
        "schema_version": SCHEMA_VERSION,  # refused for its shape, not its version
        "command": "run",
        "dry_run": False,
        "run-id": "42",
        "dispatched": "true",
        "artifacts": "[]",
    }
    assert not VALIDATOR.is_valid(stringly)


def test_docs_cli_md_documents_every_field_and_the_schema_version() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = doc.split("## `--json`", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
    defs = SCHEMA["$defs"]
    fields = set(defs["job_fields"]["properties"]) | set(defs["plan_result"]["properties"])
    fields |= set(defs["run_result"]["properties"]) | set(defs["checks_result"]["properties"])
    fields |= set(defs["plan_node_result"]["properties"]) | set(defs["job_preview"]["properties"])
    assert fields <= documented, sorted(fields - documented)
    failure = section.split("### `failure`", 1)[1].split("\n### ", 1)[0]
    digest = set(defs["failure_digest"]["properties"]) | set(defs["failed_job"]["properties"])
    digest |= set(defs["failed_job"]["properties"]["annotations"]["items"]["properties"])
    digest |= set(defs["failed_job"]["properties"]["failed_steps"]["items"]["properties"])
    assert all(f"`{name}`" in failure for name in digest), sorted(
        n for n in digest if f"`{n}`" not in failure
    )
    assert (
        f"schema_version` | {SCHEMA_VERSION}" in section or f"`schema_version` is {SCHEMA_VERSION}" in section
    )
