"""`wait-and-dispatch run | checks | download` against the emulator in real time (runs of seconds):
`--json`, `--dry-run`, log-friendly progress, and the documented exit codes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from tests.cli.conftest import serve_to_the_cli
from tests.conftest import MAIN_SHA
from tests.edges.test_action import fast_scenario
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator, Fault, Scenario
from wait_and_dispatch.step.results import schema_text
from wait_and_dispatch.support.clock import SystemClock

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with serve_to_the_cli(monkeypatch, fast_scenario()) as emulator:
        yield emulator


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_run_json_prints_one_typed_object(emulator: Emulator, tmp_path: Path) -> None:
    code, out, err = cli(
        "run", *FAST, "--workflow", "build.yml", "--artifact", "package", "--path", str(tmp_path), "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["schema_version"] == 2 and result["command"] == "run"
    assert result["conclusion"] == "success" and result["dispatched"] is True
    assert isinstance(result["run_id"], int) and isinstance(result["run_number"], int)
    assert [artifact["name"] for artifact in result["artifacts"]] == ["package"]
    assert result["api"]["requests"] > 0 and result["error"] is None and result["failure"] is None
    assert (tmp_path / "app.txt").exists()


def test_progress_in_a_log_is_plain_timestamped_lines(emulator: Emulator) -> None:
    code, _, err = cli("run", *FAST, "--workflow", "build.yml", "--input", "environment=prod")
    assert code == 0
    assert "\x1b" not in err and "\r" not in err
    assert all(line[:8].count(":") == 2 for line in err.splitlines())
    assert any("dispatching Build" in line and '"environment": "prod"' in line for line in err.splitlines())


def test_dry_run_sends_no_write(emulator: Emulator) -> None:
    code, out, _ = cli("run", *FAST, "--workflow", "build.yml", "--dry-run", "--input", "environment=prod")
    assert code == 0
    assert emulator.writes() == []
    assert out.startswith("would dispatch Build (.github/workflows/build.yml) on main (aaaaaaa) with inputs")


def test_checks_waits_for_the_named_check(emulator: Emulator) -> None:
    assert cli("run", *FAST, "--workflow", "build.yml")[0] == 0
    code, out, err = cli("checks", *FAST, "--sha", MAIN_SHA, "--checks", "build", "--json")
    assert code == 0, err
    assert json.loads(out)["checks"] == {"build": "success"}


def test_download_by_run_id(emulator: Emulator, tmp_path: Path) -> None:
    code, out, _ = cli("run", *FAST, "--workflow", "build.yml", "--json")
    run_id = json.loads(out)["run_id"]
    code, out, err = cli(
        "download", *FAST, "--run-id", str(run_id), "--artifact", "*", "--path", str(tmp_path), "--json"
    )
    assert code == 0, err
    assert [a["name"] for a in json.loads(out)["artifacts"]] == ["package"]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["run", *FAST, "--workflow", "build.yml", "--timeout", "soon"],
            2,
            "timeout 'soon' is not a duration",
        ),
        (["run", *FAST], 2, "nothing to do"),
        (["run", *FAST, "--workflow", "deploy.yml"], 4, "workflow 'deploy.yml' not found in octo/app"),
        (["run", *FAST, "--workflow", "build.yml", "--artifact", "nope"], 5, "nope"),
        # Found in the workflow file before any request: the input is wrong, not GitHub.
        (
            ["run", *FAST, "--workflow", "build.yml", "--input", "colour=blue"],
            2,
            'Unexpected inputs provided: ["colour"]',
        ),
        (["run", *FAST, "--workflow", "build.yml", "--no-wait", "--artifact", "meta"], 2, "--no-wait"),
        (
            ["checks", *FAST, "--sha", MAIN_SHA, "--checks", "never", "--checks-discovery-timeout", "2s"],
            3,
            "never",
        ),
    ],
)
def test_errors_are_one_line_with_a_hint_and_a_documented_exit_code(
    emulator: Emulator, argv: list[str], code: int, message: str
) -> None:
    got, _, err = cli(*argv)
    assert got == code, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0]
    assert lines[lines.index(errors[0]) + 1].startswith("hint: ")
    assert "Traceback" not in err


def test_a_disallowed_conclusion_is_exit_code_1(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(Scenario.from_dict(fast_scenario(conclusion="failure")), clock=SystemClock()) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
        code, out, err = cli("run", *FAST, "--workflow", "build.yml")
    assert code == 1
    assert "conclusion: failure" in out
    assert 'failed: job "build", step "Build": .github:1 Process completed with exit code 1.' in err


def test_a_lost_dispatch_answer_with_a_short_timeout_dispatches_once_and_names_the_run_to_look_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `--timeout 2s`, and GitHub created the run but the answer was a 502; the run is listed only
    # after 5 s. It must be dispatched once, not again on each retry.
    scenario = fast_scenario()
    scenario["options"]["dispatch_visibility_delay"] = 5
    with Emulator(Scenario.from_dict(scenario), clock=SystemClock()) as emulator:
        emulator.inject(Fault(method="POST", path="*/dispatches", kind="apply_then_fail", times=None))
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
        code, _, err = cli(
            "run",
            *FAST,
            "--workflow",
            "build.yml",
            "--correlation-input",
            "correlation_id",
            "--timeout",
            "2s",
        )
        dispatches = [r for r in emulator.writes() if r.path.endswith("/dispatches")]
    assert code == 3, err
    assert len(dispatches) == 1
    (error,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert dispatches[0].body["inputs"]["correlation_id"] in error
    assert "may have started a run" in error and "not sent again" in error
    assert err.splitlines()[err.splitlines().index(error) + 1].startswith("hint: ")


def test_download_json_shows_each_artifacts_kind_and_file_and_skip_decompress_keeps_zips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scenario = fast_scenario()
    scenario["repos"]["octo/app"]["workflows"][0]["artifacts"] = [
        {"name": "package", "files": {"app.txt": "application"}},
        {"name": "report.html", "archive": False, "content": "<p>ok</p>"},
    ]
    with serve_to_the_cli(monkeypatch, scenario):
        run_id = json.loads(cli("run", *FAST, "--workflow", "build.yml", "--json")[1])["run_id"]
        download = ["download", *FAST, "--run-id", str(run_id), "--artifact", "*", "--json"]
        code, out, err = cli(*download, "--path", str(tmp_path / "a"))
        kept_code, kept_out, kept_err = cli(*download, "--path", str(tmp_path / "b"), "--skip-decompress")

    assert (code, kept_code) == (0, 0), err + kept_err
    for text in (out, kept_out):
        jsonschema.validate(json.loads(text), json.loads(schema_text()))
    assert [(a["name"], a["kind"], a["file"]) for a in json.loads(out)["artifacts"]] == [
        ("package", "zip", None),
        ("report.html", "file", str(tmp_path / "a" / "report.html" / "report.html")),
    ]
    assert (tmp_path / "a" / "package" / "app.txt").read_text() == "application"
    assert [(a["name"], a["kind"], a["file"]) for a in json.loads(kept_out)["artifacts"]] == [
        ("package", "file", str(tmp_path / "b" / "package" / "package.zip")),
        ("report.html", "file", str(tmp_path / "b" / "report.html" / "report.html")),
    ]
    assert (tmp_path / "b" / "report.html" / "report.html").read_text() == "<p>ok</p>"


def with_own_run(scenario: dict[str, Any]) -> dict[str, Any]:
    """A push run on MAIN_SHA of gate.yml: `gate` (the waiting job, ten minutes) and `unit` (2 s)."""
    repo = scenario["repos"]["octo/app"]
    repo["workflows"].append(
        {
            "path": ".github/workflows/gate.yml",
            "name": "Gate",
            "on": ["push"],
            "timeline": {"queued": 0, "duration": 600},
            "jobs": [
                {"name": "gate", "start": 0, "duration": 600},
                {"name": "unit", "start": 0, "duration": 2},
            ],
        }
    )
    repo["runs"] = [{"workflow": "gate.yml", "event": "push", "head_sha": MAIN_SHA, "head_branch": "main"}]
    return scenario


def test_checks_never_waits_for_the_run_and_the_check_it_is_told_are_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve_to_the_cli(monkeypatch, with_own_run(fast_scenario())) as emulator:
        base = f"{emulator.api_url}/repos/octo/app"
        headers = {"Authorization": f"Bearer {emulator.token('dev')}"}
        run = requests.get(f"{base}/actions/runs", headers=headers, timeout=10).json()["workflow_runs"][0]
        checks = requests.get(f"{base}/commits/{MAIN_SHA}/check-runs", headers=headers, timeout=10).json()
        gate = next(check["id"] for check in checks["check_runs"] if check["name"] == "gate")
        own = ["--ignore-run", str(run["id"]), "--ignore-check-run", str(gate)]

        code, out, err = cli("checks", *FAST, "--sha", MAIN_SHA, "--checks-regex", ".", *own, "--json")

    assert code == 0, err
    assert json.loads(out)["checks"] == {"unit": "success"}
    assert f"not waiting for Gate (run {run['id']}, gate.yml), this job's own run: no job left" in err


def test_without_a_repo_it_takes_the_git_remotes_and_says_so(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:octo/app.git"], check=True
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("checks", "--sha", MAIN_SHA, "--checks", "build", "--dry-run")
    assert code == 0, err  # the API named in the environment (the emulator's) wins over the remote's host
    assert err.splitlines()[0] == "repository octo/app, from the git remote origin of this folder"
    assert "would wait up to" in out


def test_dash_r_names_the_repository_as_in_gh(emulator: Emulator) -> None:
    code, out, err = cli("checks", "-R", "octo/app", "--sha", MAIN_SHA, "--checks", "build", "--dry-run")
    assert code == 0, err
    assert "from the git remote" not in err and "would wait up to" in out


def test_a_warning_names_the_option_to_change_not_the_actions_input(
    emulator: Emulator, tmp_path: Path
) -> None:
    argv = ["--workflow", "build.yml", "--artifact", "nope", "--if-artifacts-missing", "warn"]
    code, _, err = cli("run", *FAST, *argv, "--path", str(tmp_path))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and warnings[0].endswith("(--if-artifacts-missing warn)"), warnings
