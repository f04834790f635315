"""A run whose `test (3.12)` job fails at `Run pytest`, seen from the command line end to end:
the `run` command against the emulator over real HTTP exits 1 with one error line naming the job,
the step and the error annotation, `--json` carries the digest down to the pytest failure, and
`plan --summary-file` (the summary the command line offers) names them too."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.edges.test_action import fast_scenario
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.step.results import schema_text

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]
PYTEST_FAILURE = "FAILED tests/test_api.py::test_get - AssertionError: expected 200, got 500"
TEST_JOB = {
    "name": "test (3.12)",
    "steps": ["Set up job", "Run pytest", "Run coverage report", "Complete job"],
    "start": 0,
    "duration": 2,
    "fails_at": "Run pytest",
    "log": f"collected 3 items\n{PYTEST_FAILURE}",
    "annotations": [
        {
            "path": "tests/test_api.py",
            "start_line": 42,
            "level": "failure",
            "title": "test_get",
            "message": "AssertionError: expected 200, got 500",
        },
        {"path": "tests/test_api.py", "start_line": 7, "end_line": 9, "level": "warning", "message": "slow"},
    ],
}


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    scenario = fast_scenario(name="Tests", run_name="Tests", conclusion="failure", jobs=[TEST_JOB])
    with serve_to_the_cli(monkeypatch, scenario) as emulator:
        yield emulator


def run(*extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", *FAST, "--workflow", "build.yml", *extra], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.usefixtures("emulator")
def test_exit_1_the_error_line_and_json_name_the_job_the_step_and_the_error() -> None:
    code, out, err = run("--json")

    assert code == 1
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: run ") and "'Tests' failed: " in line
    job_and_step = 'failed: job "test (3.12)", step "Run pytest": '
    assert line.endswith(job_and_step + "tests/test_api.py:42 AssertionError: expected 200, got 500")
    (hint,) = [line for line in err.splitlines() if line.startswith("hint:")]
    assert "#step:2:1" in hint  # the link opens the failed step

    document: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator(json.loads(schema_text())).validate(document)
    assert document["outcome"] == "conclusion-not-allowed" and document["conclusion"] == "failure"
    (job,) = document["failure"]["jobs"]
    assert job["name"] == "test (3.12)" and job["conclusion"] == "failure"
    assert job["failed_steps"] == [{"number": 2, "name": "Run pytest"}]
    levels = [(a["path"], a["start_line"], a["annotation_level"]) for a in job["annotations"]]
    assert ("tests/test_api.py", 42, "failure") in levels and ("tests/test_api.py", 7, "warning") in levels
    error = next(a for a in job["annotations"] if a["start_line"] == 42)
    assert error["message"] == "AssertionError: expected 200, got 500"
    tail = job["log_tail"].splitlines()
    assert tail[0].startswith("Run ") and PYTEST_FAILURE in tail
    assert tail[-1] == "Error: Process completed with exit code 1."  # the runner's final error line
    # After pytest's failure line only the runner's own lines: the step's annotations, then its end.
    after = tail[tail.index(PYTEST_FAILURE) + 1 :]
    assert after == ["Error: AssertionError: expected 200, got 500", "Warning: slow", tail[-1]]
    assert job["log_tail_truncated"] is False


@pytest.mark.usefixtures("emulator")
def test_a_plans_summary_file_names_the_failed_job_step_and_message(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yml"
    plan.write_text("name: CI\nrepository: octo/app\nref: main\nnodes:\n  tests:\n    workflow: build.yml\n")
    summary = tmp_path / "summary.md"
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", str(plan), "--summary-file", str(summary)], stdout=out, stderr=err)

    assert code == 1, err.getvalue()
    markdown = summary.read_text(encoding="utf-8")
    assert "#### ❌ Job [test (3.12)](" in markdown
    assert ", [**Run pytest**](" in markdown and "#step:2:1)" in markdown
    assert (
        "| ❌ failure | `tests/test_api.py:42` | test\\_get | AssertionError: expected 200, got 500 |"
        in markdown
    )
    assert PYTEST_FAILURE in markdown
