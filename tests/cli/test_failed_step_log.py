"""The log tail of a failed run is the failed step's, seen from the command line end to end: the
`run` command against the emulator over real HTTP, whose job logs are laid out as GitHub's (a
named step titled by its command, an `if: always()` step after the failure that reports an error
of its own, post steps, a log longer than what the digest reads), and `--json`'s `log_tail`."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.edges.test_action import fast_scenario
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.engine.failure_digest import LOG_TAIL_BYTES

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]
PYTEST_FAILURE = "FAILED tests/test_api.py::test_get - AssertionError: expected 200, got 500"
UPLOAD_ERROR = "No files were found with the provided path: reports/. No artifacts will be uploaded."
STEPS: list[Any] = [
    "Set up job",
    {"uses": "actions/checkout@v4"},
    {"name": "Install", "run": "pip install -e .", "log": "Successfully installed app-1.0"},
    {"name": "Test", "run": "pytest -q \\\n  --maxfail=3", "log": ["collected 3 items"]},
    {"name": "Coverage", "run": "coverage report"},
    {
        "name": "Upload reports",
        "uses": "actions/upload-artifact@v4",
        "if": "${{ always() }}",
        "log": [f"##[error]{UPLOAD_ERROR}"],
    },
    "Post Run actions/checkout@v4",
    "Complete job",
]


def failed_run_json(monkeypatch: pytest.MonkeyPatch, **job: Any) -> dict[str, Any]:
    """`run --json` of a run whose `test (3.12)` job fails at its `Test` step."""
    test_job = {
        "name": "test (3.12)",
        "steps": STEPS,
        "start": 0,
        "duration": 2,
        "fails_at": "Test",
        "log": PYTEST_FAILURE,
        **job,
    }
    scenario = fast_scenario(name="Tests", run_name="Tests", conclusion="failure", jobs=[test_job])
    out, err = io.StringIO(), io.StringIO()
    with serve_to_the_cli(monkeypatch, scenario):
        code = main(["run", *FAST, "--workflow", "build.yml", "--json"], stdout=out, stderr=err)
    assert code == 1, err.getvalue()
    document: dict[str, Any] = json.loads(out.getvalue())
    (failed,) = document["failure"]["jobs"]
    return dict(failed)


def test_an_always_step_after_the_failed_one_leaves_the_tail_to_the_failed_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = failed_run_json(monkeypatch)

    assert job["failed_steps"] == [{"number": 4, "name": "Test"}]
    tail = job["log_tail"].splitlines()
    # The named step's section, titled by its command's first line, with its script and shell.
    assert tail[:4] == ["Run pytest -q \\", "pytest -q \\", "  --maxfail=3", "shell: /usr/bin/bash -e {0}"]
    assert tail[-2:] == [PYTEST_FAILURE, "Error: Process completed with exit code 1."]
    assert not any("upload" in line.lower() for line in tail)  # the always step's section and error
    assert "Successfully installed app-1.0" not in tail  # nor the step before


def test_escape_sequences_in_the_failed_steps_output_are_gone_from_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hostile = (
        "\x1b]0;retitled\x07\x1b]8;;https://evil.example\x1b\\see\x1b]8;;\x1b\\ \x1b[1;31mred\x1b[0m\x1bc"
    )

    job = failed_run_json(monkeypatch, log=[hostile, PYTEST_FAILURE])

    tail = job["log_tail"]
    assert "see red" in tail.splitlines()
    assert not any(char in tail for char in "\x1b\x07\x9b\x9d")  # nor the run step's cyan script


def test_a_log_longer_than_what_is_read_still_gives_the_failed_steps_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    output = [f"test {n:05d} " + "." * 100 for n in range(LOG_TAIL_BYTES // 100 + 500)]

    job = failed_run_json(monkeypatch, log=[*output, PYTEST_FAILURE])

    tail = job["log_tail"].splitlines()
    assert len(tail) == 100
    assert tail[-3:] == [output[-1], PYTEST_FAILURE, "Error: Process completed with exit code 1."]
    assert not any(UPLOAD_ERROR in line for line in tail)
