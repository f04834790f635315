""".github/workflows/ci.yml's dogfood jobs, run here as the runner would run them.

GitHub Actions cannot run here, so each job's steps are played in order from the workflow file
itself: `run:` steps through bash with the job's env (tools/ci/start_emulator.py starts the
emulator, tools/ci/dogfood_check.py checks the outputs), and each `uses: ./` step as the runner
runs a container action, `wait-and-dispatch action` given only environment variables: INPUT_<NAME>
upper-cased with hyphens kept, for every input of action.yml, from `with:` or the input's default
(actions/runner ContainerActionHandler), and the file-command paths. `uses: ./composite` runs the
composite's last step, with its `env:` mapping of inputs, through bash. Expressions (`${{ }}`) are
rendered with the project's evaluator from the steps' outcomes and outputs, so the check steps read
exactly what the runner would give them. Runs take seconds of real time.

Not played: checkout, setup-python and the installs (this checkout is installed), and the
composite's setup-python and actions/cache steps; the composite's pip-cache step is run on its own.
The container job's `--host docker-bridge` becomes 127.0.0.1: there is no Docker here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.runner_contract import outputs_of
from wait_and_dispatch.support.expressions import render

ROOT = Path(__file__).resolve().parents[1]
CI = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
COMPOSITE = yaml.safe_load((ROOT / "composite" / "action.yml").read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent
PROGRAM = BIN / ("wait-and-dispatch.exe" if os.name == "nt" else "wait-and-dispatch")


class Job:
    """One job of ci.yml played step by step in a scratch workspace."""

    def __init__(self, name: str, workspace: Path) -> None:
        self.name = name
        self.spec = CI["jobs"][name]
        self.workspace = workspace
        self.temp = workspace / "_temp"
        self.temp.mkdir()
        # The checkout, as far as the steps read it: tools/ci's scripts and scenario.
        (workspace / "tools").symlink_to(ROOT / "tools", target_is_directory=True)
        self.env = {k: str(v) for k, v in self.spec.get("env", {}).items()}
        self.steps: dict[str, dict[str, Any]] = {}
        self.exit_codes: dict[str, int] = {}
        self.emulator_pid: int | None = None

    def context(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "env": self.env,
            "github": {
                "token": "",
                "repository": "octo/wait-and-dispatch",
                "api_url": "https://api.github.com",
            },
            "runner": {"temp": str(self.temp), "os": "Linux"},
        }

    def render(self, value: Any) -> str:
        return render(str(value), self.context())

    def base_env(self, number: int) -> dict[str, str]:
        files = self.temp / f"step-{number}"
        files.mkdir()
        return {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", str(self.workspace)),
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REPOSITORY": "octo/wait-and-dispatch",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_OUTPUT": str(files / "output"),
            "GITHUB_STATE": str(files / "state"),
            "GITHUB_STEP_SUMMARY": str(files / "summary.md"),
            "RUNNER_TEMP": str(self.temp),
            "RUNNER_OS": "Linux",
            **self.env,
        }

    def play(self) -> None:
        for number, step in enumerate(self.spec["steps"]):
            uses = str(step.get("uses", "")).split(" #")[0].strip()
            if uses.startswith(("actions/checkout@", "actions/setup-python@")) or "pip install" in step.get(
                "run", ""
            ):
                continue  # this checkout, already installed
            condition = str(step.get("if", ""))
            failed = any(s["outcome"] == "failure" and not s["continue"] for s in self.steps.values())
            if failed and condition != "always()":
                continue
            env = self.base_env(number)
            env.update({k: self.render(v) for k, v in step.get("env", {}).items()})
            if uses == "./":
                command, env = self.container_action(step, env)
            elif uses == "./composite":
                command, env = self.composite_action(step, env)
            else:
                assert not uses, f"step {number} uses {uses}: not played by this test"
                # Loopback instead of Docker's bridge, and free ports instead of ci.yml's fixed
                # ones (another run of this suite on the machine may hold those).
                script = str(step["run"]).replace("--host docker-bridge", "--host 127.0.0.1")
                script = script.replace("--port 8080", f"--port {free_port()}")
                script = script.replace("--blob-port 8081", f"--blob-port {free_port()}")
                command = ["bash", "-e", "-o", "pipefail", "-c", script]
            done = subprocess.run(
                command, cwd=self.workspace, env=env, capture_output=True, text=True, timeout=120, check=False
            )
            output = Path(env["GITHUB_OUTPUT"])
            outputs = outputs_of(output) if output.exists() else {}
            step_id = str(step.get("id", f"step-{number}"))
            self.exit_codes[step_id] = done.returncode
            self.steps[step_id] = {
                "outcome": "success" if done.returncode == 0 else "failure",
                "outputs": outputs,
                "continue": bool(step.get("continue-on-error")),
                "log": done.stdout + done.stderr,
            }
            if step_id == "emulator" and "pid" in outputs:
                self.emulator_pid = int(outputs["pid"])

    def inputs(self, step: Mapping[str, Any]) -> dict[str, str]:
        given = {k: self.render(v) for k, v in step.get("with", {}).items()}
        unknown = set(given) - set(ACTION["inputs"])
        assert not unknown, f"{self.name}: the action has no input {sorted(unknown)}"
        return {
            name: given.get(name, self.render(spec.get("default", "")))
            for name, spec in ACTION["inputs"].items()
        }

    def container_action(
        self, step: Mapping[str, Any], env: dict[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        # The runner sets INPUT_<NAME> for every input the action declares, defaults included.
        env.update({f"INPUT_{name.upper()}": value for name, value in self.inputs(step).items()})
        return [str(PROGRAM), "action"], env

    def composite_action(
        self, step: Mapping[str, Any], env: dict[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        (run,) = [s for s in COMPOSITE["runs"]["steps"] if s.get("id") == "run"]
        inputs = self.inputs(step)
        context = {
            **self.context(),
            "inputs": inputs,
            "steps": {"install": {"outputs": {"program": str(PROGRAM)}}},
        }
        env.update({k: render(str(v), context) for k, v in run["env"].items()})
        return ["bash", "-e", "-c", run["run"]], env

    def stop(self) -> None:
        if self.emulator_pid is not None:
            with contextlib.suppress(ProcessLookupError):  # it may have ended already
                os.kill(self.emulator_pid, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=["dogfood-container", "dogfood-composite"])
def job(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Job]:
    """The job played once (about 15 s of runs), for every test that reads it."""
    played = Job(request.param, tmp_path_factory.mktemp(request.param))
    try:
        played.play()
        yield played
    finally:
        played.stop()


def test_every_step_of_the_job_passes_and_the_expected_failure_fails(job: Job) -> None:
    logs = "\n".join(f"--- {name}\n{step['log']}" for name, step in job.steps.items())
    failed = [
        name for name, step in job.steps.items() if step["outcome"] == "failure" and not step["continue"]
    ]
    assert failed == [], logs
    assert job.steps["broken"]["outcome"] == "failure", logs
    # README, exit codes: 1 when the run's conclusion is not allowed.
    assert job.exit_codes["broken"] == 1, logs
    checks = [name for name in job.steps if name.startswith("step-")]
    assert len(checks) >= 4, logs  # the three checks and the emulator's log


def test_the_job_dispatched_once_and_downloaded_the_report_twice(job: Job) -> None:
    deploy, download = job.steps["deploy"]["outputs"], job.steps["download"]["outputs"]
    assert deploy["dispatched"] == "true" and download["dispatched"] == "false"
    assert download["run-id"] == deploy["run-id"]
    for folder in ("dogfood/deploy", "dogfood/again"):
        assert (job.workspace / folder / "report.txt").read_text(encoding="utf-8") == "deployed to staging\n"


def test_the_composite_action_keys_its_pip_cache_on_its_pins_and_python(tmp_path: Path) -> None:
    (step,) = [s for s in COMPOSITE["runs"]["steps"] if s.get("id") == "pip-cache"]
    output = tmp_path / "output"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "ACTION_ROOT": str(ROOT / "composite" / ".."),
        "GITHUB_OUTPUT": str(output),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    outputs = outputs_of(output)
    assert Path(outputs["dir"]).is_absolute()
    assert outputs["key"].startswith("wait-and-dispatch-pip-Linux-X64-")
    (cache,) = [s for s in COMPOSITE["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/cache@")]
    assert cache["with"] == {
        "path": "${{ steps.pip-cache.outputs.dir }}",
        "key": "${{ steps.pip-cache.outputs.key }}",
    }


def test_the_check_finds_a_container_actions_download_under_the_workspace(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("dogfood_check", ROOT / "tools" / "ci" / "dogfood_check.py")
    assert spec is not None and spec.loader is not None
    dogfood_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dogfood_check)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.txt").write_text(dogfood_check.REPORT, encoding="utf-8")
    outputs = {
        "run-id": "7",
        "run-url": "https://github.com/octo/dogfood/actions/runs/7",
        "status": "completed",
        "conclusion": "success",
        "dispatched": "true",
        "head-sha": "a" * 40,
        "artifacts": json.dumps([{"name": "deploy-report"}]),
        "download-path": "/github/workspace/out",
    }
    assert dogfood_check.problems("deployed", "success", outputs, workspace=str(tmp_path)) == []
    assert dogfood_check.problems("deployed", "success", outputs) == [
        "no report.txt in download-path '/github/workspace/out'"
    ]
    assert dogfood_check.problems("failed", "success", outputs) == [
        "the step's outcome is 'success', expected 'failure' (exit code 1)",
        "output conclusion is 'success', expected 'failure'",
        "output result is not JSON: ''",
    ]
