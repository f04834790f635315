"""`wait-and-dispatch demo` and `wait-and-dispatch emulator`, as a user runs them."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from wait_and_dispatch.cli.main import main


def test_demo_dispatches_waits_downloads_and_verifies(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--speed", "2000", "--path", str(tmp_path)], stdout=out, stderr=err)
    text = out.getvalue()
    assert code == 0, err.getvalue()
    assert re.search(r"started run \d+ .*\(known by return_run_details\)", text)
    assert "completed: success" in text
    assert text.count("artifact app-linux: 267 bytes, sha256 verified") == 2  # progress line and output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app-linux", "build-logs"]
    assert (tmp_path / "app-linux").is_dir() and any((tmp_path / "app-linux").rglob("*"))
    assert re.search(r"API cost: \d+ requests, \d+ answered 304 \(free\)", text)


def test_demo_prints_no_control_characters(tmp_path: Path) -> None:
    out = io.StringIO()
    main(["demo", "--speed", "2000", "--path", str(tmp_path)], stdout=out, stderr=io.StringIO())
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out.getvalue())


def test_demo_failure_shows_the_failed_job_step_annotations_and_log_tail() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--failure", "--speed", "100"], stdout=out, stderr=err)
    text = out.getvalue()
    assert code == 1, err.getvalue()
    assert re.search(
        r"^error: run \d+ #1 'Tests' failed: job \"test \(3\.12\)\", step \"Run pytest\": "
        r"tests/test_api\.py:42 AssertionError: expected 200, got 500$",
        text,
        re.MULTILINE,
    )
    assert re.search(r"^hint: open the failed step: \S+/job/\d+#step:4:1 ", text, re.MULTILINE)
    assert re.search(r'^failed job "test \(3\.12\)", step 4 "Run pytest": \S+#step:4:1$', text, re.MULTILINE)
    assert "  failure: tests/test_api.py:42 AssertionError: expected 200, got 500\n" in text
    assert "  warning: tests/test_api.py:7 datetime.datetime.utcnow() is deprecated" in text
    tail = text.split("the log's last ", 1)[1].splitlines()
    assert tail[1] == "    Run pytest" and "[ 29%]" in text  # the log as it is, `%` included
    assert "    FAILED tests/test_api.py::test_get_user - AssertionError: expected 200, got 500" in tail
    assert tail[-1] == "    Error: Process completed with exit code 1."
    assert "not read:" not in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)


def test_demo_advance_shows_one_short_orchestrator_run_per_event() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--advance", "--speed", "600"], stdout=out, stderr=err)
    text = out.getvalue()
    assert code == 0, err.getvalue()
    runs = re.findall(r"orchestrator run \d+, (workflow_dispatch|workflow_run \((\w+) completed\))", text)
    assert [run[0] for run in runs[:1]] == ["workflow_dispatch"]
    assert sorted(run[1] for run in runs[1:]) == ["Build", "Deploy", "Lint", "Test"]
    assert "plan Pipeline: instance " in text and " is over: success" in text
    assert re.search(r"5 orchestrator runs billed \d+ job-minutes", text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)


def test_emulator_command_serves_the_demo_scenario_over_http() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wait_and_dispatch", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        api_url = re.search(r"(http://127\.0\.0\.1:\d+)", lines[0])
        token = next(re.search(r": (\S+)$", line.strip()) for line in lines if line.startswith("token ci "))
        assert api_url is not None and token is not None
        answer = requests.get(
            f"{api_url.group(1)}/repos/octo/app/actions/workflows",
            headers={"Authorization": f"Bearer {token.group(1)}"},
            timeout=10,
        )
        assert answer.status_code == 200
        assert [w["path"] for w in answer.json()["workflows"]][:1] == [".github/workflows/build.yml"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_unknown_scenario_file_is_a_usage_error(tmp_path: Path) -> None:
    err = io.StringIO()
    code = main(["emulator", "--scenario", str(tmp_path / "missing.yml")], stdout=io.StringIO(), stderr=err)
    assert code == 2
    assert err.getvalue().startswith("error: ")
    assert "hint: " in err.getvalue()


def test_emulator_speed_runs_the_scenarios_time_faster() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wait_and_dispatch", "emulator", "--port", "0", "--speed", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[2].strip() == "time runs 600 times faster than real time"
        api_url = re.search(r"(http://127\.0\.0\.1:\d+)", lines[0])
        assert api_url is not None
        token = "ghp_demo_dev_000000000000000000000000000"
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{api_url.group(1)}/repos/octo/app/actions/workflows/build.yml/dispatches"
        body = {"ref": "main", "inputs": {"correlation_id": "fast"}, "return_run_details": True}
        run_url = requests.post(url, json=body, headers=headers, timeout=10).json()["run_url"]
        time.sleep(0.5)  # 300 s of scenario time: the 95-second Build run has completed
        assert requests.get(run_url, headers=headers, timeout=10).json()["status"] == "completed"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("speed", ["30", "120"])
def test_at_speed_a_dispatch_nobody_listens_to_is_not_taken_for_an_earlier_run(
    speed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wait_and_dispatch", "emulator", "--port", "0", "--speed", speed],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        api_url = re.search(r"(http://127\.0\.0\.1:\d+)", process.stdout.readline())
        assert api_url is not None
        token = "ghp_demo_dev_000000000000000000000000000"
        monkeypatch.setenv("GITHUB_API_URL", api_url.group(1))
        monkeypatch.setenv("GITHUB_TOKEN", token)
        monkeypatch.delenv("GH_TOKEN", raising=False)
        # An earlier repository_dispatch run on main, then the scenario's story moves on.
        earlier = requests.post(
            f"{api_url.group(1)}/repos/octo/app/dispatches",
            json={"event_type": "deploy", "client_payload": {"environment": "staging"}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert earlier.status_code == 204
        time.sleep(2)
        err = io.StringIO()
        argv = ["run", "--repo", "octo/app", "--event-type", "nobody-listens", "--no-wait"]
        code = main([*argv, "--discovery-timeout", "4s"], stdout=io.StringIO(), stderr=err)
        assert code == 3, err.getvalue()
        assert "started run" not in err.getvalue()
    finally:
        process.terminate()
        process.wait(timeout=10)
