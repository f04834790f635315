"""What a failed job looks like in the emulator, as on GitHub: a step timeline that fails at a
given step, annotations (paginated, GitHub's annotation object), the job's check run output, the
job's log and the run's logs behind signed storage redirects."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.emulator.conftest import MAIN_SHA, Http
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import UsageError

STEPS = ["Set up job", "Run pytest", "Run coverage report", "Post Run actions/checkout@v4", "Complete job"]
JOB = {
    "name": "test (3.12)",
    "steps": STEPS,
    "start": 0,
    "duration": 60,
    "fails_at": "Run pytest",
    "log": "collected 3 items\nFAILED tests/test_api.py::test_get - AssertionError: expected 200, got 500",
    "annotations": [
        {
            "path": "tests/test_api.py",
            "start_line": 42,
            "level": "failure",
            "title": "test_get",
            "message": "AssertionError",
        },
        {"path": "tests/test_api.py", "start_line": 7, "end_line": 9, "level": "warning", "message": "slow"},
    ],
}


@pytest.fixture
def failed(start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]) -> Emulator:
    scenario["repos"]["octo/app"]["workflows"][0]["jobs"] = [JOB]
    return start(scenario)


@pytest.fixture
def fhttp(failed: Emulator) -> Http:
    return Http(failed)


def _job(http: Http) -> dict[str, Any]:
    run = http.get("/repos/octo/app/actions/runs").json()["workflow_runs"][0]  # the failed push run
    job: dict[str, Any] = http.get(f"/repos/octo/app/actions/runs/{run['id']}/jobs").json()["jobs"][0]
    return job


def test_a_job_that_fails_at_a_step_skips_the_later_steps_but_runs_its_post_steps(fhttp: Http) -> None:
    job = _job(fhttp)
    assert job["conclusion"] == "failure"
    assert [(s["name"], s["conclusion"]) for s in job["steps"]] == [
        ("Set up job", "success"),
        ("Run pytest", "failure"),
        ("Run coverage report", "skipped"),
        ("Post Run actions/checkout@v4", "success"),
        ("Complete job", "success"),
    ]
    assert job["steps"][1]["completed_at"] == job["completed_at"]


def test_fails_at_must_name_one_of_the_jobs_steps(scenario: dict[str, Any]) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["jobs"] = [{**JOB, "fails_at": "Run tox"}]
    with pytest.raises(UsageError, match=r"jobs\[0\]\.fails_at: 'Run tox' is not one of the job's steps"):
        Scenario.from_dict(scenario)


def test_annotations_are_githubs_objects_in_order_with_the_runners_exit_code_error(fhttp: Http) -> None:
    job = _job(fhttp)
    answer = fhttp.get(f"/repos/octo/app/check-runs/{job['id']}/annotations")
    assert answer.status_code == 200
    notes = answer.json()
    assert [list(n) for n in notes[:1]] == [
        [
            "path",
            "blob_href",
            "start_line",
            "start_column",
            "end_line",
            "end_column",
            "annotation_level",
            "title",
            "message",
            "raw_details",
        ]
    ]
    assert [
        (n["path"], n["start_line"], n["end_line"], n["annotation_level"], n["message"]) for n in notes
    ] == [
        ("tests/test_api.py", 42, 42, "failure", "AssertionError"),
        ("tests/test_api.py", 7, 9, "warning", "slow"),
        (".github", 1, 1, "failure", "Process completed with exit code 1."),
    ]
    assert notes[0]["blob_href"].endswith(f"/octo/app/blob/{MAIN_SHA}/tests/test_api.py")


def test_annotations_are_paginated_with_githubs_link_header(fhttp: Http) -> None:
    job = _job(fhttp)
    first = fhttp.get(f"/repos/octo/app/check-runs/{job['id']}/annotations", params={"per_page": 1})
    assert len(first.json()) == 1
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    assert f"/check-runs/{job['id']}/annotations?per_page=1&page=2" in first.headers["Link"]


def test_a_jobs_check_run_output_counts_its_annotations_as_github_actions_does(fhttp: Http) -> None:
    job = _job(fhttp)
    output = fhttp.get(f"/repos/octo/app/check-runs/{job['id']}").json()["output"]
    assert (output["title"], output["summary"], output["annotations_count"]) == (
        "test (3.12)",
        "There are 2 failures, 1 warnings, and 0 notices.",
        3,
    )


def test_an_app_check_run_shows_its_output_and_annotations_once_completed(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    check = scenario["repos"]["octo/app"]["check_runs"][0]
    check.update(
        conclusion="failure",
        output_title="1 file without sign-off",
        output_summary="Sign off your commits.",
        annotations=[{"path": "README.md", "start_line": 1, "level": "failure", "message": "No sign-off"}],
    )
    http = Http(start(scenario))
    [dco] = http.get(f"/repos/octo/app/commits/{MAIN_SHA}/check-runs", params={"check_name": "DCO"}).json()[
        "check_runs"
    ]
    assert (dco["output"]["title"], dco["output"]["summary"], dco["output"]["annotations_count"]) == (
        "1 file without sign-off",
        "Sign off your commits.",
        1,
    )
    notes = http.get(f"/repos/octo/app/check-runs/{dco['id']}/annotations").json()
    assert [(n["path"], n["annotation_level"], n["message"]) for n in notes] == [
        ("README.md", "failure", "No sign-off")
    ]


def test_a_jobs_log_is_a_redirect_to_runner_style_text_on_storage(fhttp: Http) -> None:
    job = _job(fhttp)
    redirect = fhttp.get(f"/repos/octo/app/actions/jobs/{job['id']}/logs", allow_redirects=False)
    assert redirect.status_code == 302 and redirect.text == ""
    location = redirect.headers["Location"]
    assert location.startswith(fhttp.emu.blob_url)
    text = requests.get(location, timeout=10)
    assert text.status_code == 200 and text.headers["Content-Type"].startswith("text/plain")
    body = text.content.decode("utf-8")
    assert body.startswith("\ufeff")
    lines = body.removeprefix("\ufeff").splitlines()
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z ", line) for line in lines)
    bodies = [line.split(" ", 1)[1] for line in lines]
    start = bodies.index("##[group]Run pytest")
    assert bodies[start : start + 3] == ["##[group]Run pytest", "shell: /usr/bin/bash -e {0}", "##[endgroup]"]
    assert bodies[start + 3 :] == [
        "collected 3 items",
        "FAILED tests/test_api.py::test_get - AssertionError: expected 200, got 500",
        "##[error]AssertionError",
        "##[warning]slow",
        "##[error]Process completed with exit code 1.",
        "Post job cleanup.",
        "Cleaning up orphan processes",
    ]
    assert "Run coverage report" not in body  # a skipped step writes nothing


def test_log_storage_refuses_a_token_a_forged_signature_and_serves_a_range(fhttp: Http) -> None:
    job = _job(fhttp)
    location = fhttp.get(f"/repos/octo/app/actions/jobs/{job['id']}/logs", allow_redirects=False).headers[
        "Location"
    ]
    with_token = requests.get(location, headers={"Authorization": "Bearer ghp_dev"}, timeout=10)
    assert with_token.status_code == 400 and "<Code>InvalidAuthenticationInfo</Code>" in with_token.text
    forged = requests.get(location.replace("jobs/", "jobs/1"), timeout=10)
    assert forged.status_code == 403 and "<Code>AuthenticationFailed</Code>" in forged.text
    tail = requests.get(location, headers={"Range": "bytes=-30"}, timeout=10)
    assert tail.status_code == 206 and len(tail.content) == 30
    assert tail.content.endswith(b"Cleaning up orphan processes\n")


def test_the_log_redirect_expires_like_an_artifacts(fhttp: Http, clock: ManualClock) -> None:
    job = _job(fhttp)
    location = fhttp.get(f"/repos/octo/app/actions/jobs/{job['id']}/logs", allow_redirects=False).headers[
        "Location"
    ]
    clock.advance(61)
    assert requests.get(location, timeout=10).status_code == 403


def test_a_running_job_and_a_running_run_have_no_log_yet(fhttp: Http, clock: ManualClock) -> None:
    run_id = fhttp.dispatch_run_id()
    clock.advance(10)  # queued for 5 s, then the job runs for 60 s
    [job] = fhttp.get(f"/repos/octo/app/actions/runs/{run_id}/jobs").json()["jobs"]
    assert job["status"] == "in_progress"
    assert (
        fhttp.get(f"/repos/octo/app/actions/jobs/{job['id']}/logs", allow_redirects=False).status_code == 404
    )
    assert fhttp.get(f"/repos/octo/app/actions/runs/{run_id}/logs", allow_redirects=False).status_code == 404


def test_a_runs_logs_are_a_zip_of_each_job_and_each_of_its_steps(fhttp: Http) -> None:
    run = fhttp.get("/repos/octo/app/actions/runs").json()["workflow_runs"][0]
    redirect = fhttp.get(f"/repos/octo/app/actions/runs/{run['id']}/logs", allow_redirects=False)
    assert redirect.status_code == 302
    archive = requests.get(redirect.headers["Location"], timeout=10)
    assert archive.headers["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == [
        "1_test (3.12).txt",
        "test (3.12)/1_Set up job.txt",
        "test (3.12)/2_Run pytest.txt",
        "test (3.12)/4_Post Run actions_checkout@v4.txt",
        "test (3.12)/5_Complete job.txt",
    ]
    step = zipfile.ZipFile(io.BytesIO(archive.content)).read("test (3.12)/2_Run pytest.txt").decode()
    assert step.rstrip().endswith("##[error]Process completed with exit code 1.")


# -- steps in detail: a named step's command, an `if: always()` step after the failure ----------

DETAILED_STEPS: list[Any] = [
    "Set up job",
    {"uses": "actions/checkout@v4"},
    {"name": "Test", "run": "\n  pytest -q\n  coverage xml\n"},
    {"name": "Lint", "run": "ruff check ."},
    {
        "name": "Upload reports",
        "uses": "actions/upload-artifact@v4",
        "if": "${{ always() }}",
        "log": "##[error]No files",
    },
    "Post Run actions/checkout@v4",
    "Complete job",
]


@pytest.fixture
def detailed(start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]) -> Http:
    job = {**JOB, "steps": DETAILED_STEPS, "fails_at": "Test", "annotations": []}
    scenario["repos"]["octo/app"]["workflows"][0]["jobs"] = [job]
    return Http(start(scenario))


def _log_bodies(http: Http, job: dict[str, Any]) -> list[str]:
    location = http.get(f"/repos/octo/app/actions/jobs/{job['id']}/logs", allow_redirects=False).headers[
        "Location"
    ]
    text = requests.get(location, timeout=10).content.decode("utf-8")
    return [line.split(" ", 1)[1] for line in text.removeprefix("\ufeff").splitlines()]


def test_an_always_step_after_the_failed_step_runs_and_the_others_are_skipped(detailed: Http) -> None:
    job = _job(detailed)
    assert [(s["number"], s["name"], s["conclusion"]) for s in job["steps"]] == [
        (1, "Set up job", "success"),
        (2, "Run actions/checkout@v4", "success"),  # unnamed: named by what it uses, as GitHub does
        (3, "Test", "failure"),
        (4, "Lint", "skipped"),
        (5, "Upload reports", "success"),
        (6, "Post Run actions/checkout@v4", "success"),
        (7, "Complete job", "success"),
    ]


def test_each_step_that_ran_opens_its_section_with_its_command_in_order(detailed: Http) -> None:
    bodies = _log_bodies(detailed, _job(detailed))
    groups = [body for body in bodies if body.startswith("##[group]Run ")]
    assert groups == [
        "##[group]Run actions/checkout@v4",
        "##[group]Run pytest -q",  # the script's first line, not the step's name
        "##[group]Run actions/upload-artifact@v4",
    ]
    test = bodies.index("##[group]Run pytest -q")
    assert bodies[test + 1 : test + 5] == [
        "\x1b[36;1m\x1b[0m",  # the script as written, each line in bright cyan, as the runner echoes it
        "\x1b[36;1m  pytest -q\x1b[0m",
        "\x1b[36;1m  coverage xml\x1b[0m",
        "shell: /usr/bin/bash -e {0}",
    ]
    upload = bodies.index("##[group]Run actions/upload-artifact@v4")
    assert bodies[upload - 1] == "##[error]Process completed with exit code 1."  # the failed step's end
    assert bodies[upload + 1 :] == [
        "##[endgroup]",
        "##[error]No files",
        "Post job cleanup.",
        "Cleaning up orphan processes",
    ]
    assert not any("ruff" in body for body in bodies)  # the skipped step writes nothing


def test_the_workflow_file_holds_each_steps_command_and_condition(detailed: Http) -> None:
    contents = detailed.get("/repos/octo/app/contents/.github/workflows/deploy.yml").json()
    text = base64.b64decode(contents["content"]).decode()
    assert "uses: actions/upload-artifact@v4" in text and "if: ${{ always() }}" in text
    assert "name: Lint" in text and "run: ruff check ." in text


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"run": "make", "uses": "octo/make@v1"}, r"steps\[0\]: a step has `run` or `uses`, not both"),
        ({"run": "make", "if": "github.ref == 'main'"}, r"steps\[0\]\.if: the emulator knows"),
        ({"log": "x"}, r"steps\[0\]: a step needs a name, `run` or `uses`"),
    ],
)
def test_a_step_in_detail_is_refused_as_the_emulator_cannot_play_it(
    scenario: dict[str, Any], step: dict[str, Any], message: str
) -> None:
    scenario["repos"]["octo/app"]["workflows"][0]["jobs"] = [{**JOB, "steps": [step], "fails_at": None}]
    with pytest.raises(UsageError, match=message):
        Scenario.from_dict(scenario)
