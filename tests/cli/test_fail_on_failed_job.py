"""`--fail-on-failed-job` and `--cancel-on-failure` on the command line, against the emulator in
real time: a run whose `test (3.12)` job fails a second in while `slow` would run 20 s."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.cli.test_job_commands import FAST, cli
from tests.edges.test_action import fast_scenario
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.step.results import schema_text

JOBS = [
    {"name": "test (3.12)", "steps": ["Set up job", "Run pytest"], "duration": 1, "conclusion": "failure"},
    {"name": "slow", "steps": ["Set up job", "Build"], "duration": 20, "conclusion": "success"},
]


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    scenario = fast_scenario(conclusion="failure", jobs=JOBS, timeline={"queued": 1, "duration": 20})
    with serve_to_the_cli(monkeypatch, scenario) as emulator:
        yield emulator


def test_the_command_ends_at_the_failed_job_cancels_the_rest_and_says_so(emulator: Emulator) -> None:
    code, out, err = cli(
        "run", *FAST, "--workflow", "build.yml", "--fail-on-failed-job", "--cancel-on-failure", "--json"
    )
    assert code == 1, err
    result = json.loads(out)
    jsonschema.validate(result, json.loads(schema_text()))
    assert result["outcome"] == "job-failed"
    assert result["status"] != "completed" or result["conclusion"] == "cancelled"
    assert 'failed (cancelled the rest of the run): job "test (3.12)"' in result["error"]["message"]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and 'job "test (3.12)"' in errors[0]
    cancels = emulator.requests_to(f"/repos/octo/app/actions/runs/{result['run_id']}/cancel")
    assert [request.status for request in cancels] == [202]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--cancel-on-failure"],
            "--cancel-on-failure needs --fail-on-failed-job",
        ),
        (
            ["--fail-on-failed-job", "--no-wait"],
            "--fail-on-failed-job and --no-wait cannot be given together",
        ),
    ],
)
def test_combinations_that_mean_nothing_are_refused(
    emulator: Emulator, argv: list[str], message: str
) -> None:
    code, _, err = cli("run", *FAST, "--workflow", "build.yml", *argv)
    assert code == 2, err
    assert message in err
    assert not emulator.requests_to("/repos/octo/app/actions/workflows/*/dispatches")
