"""`wait-and-dispatch demo`: the main job, end to end, against the embedded emulator.

Everything it shows is real: the emulator is a GitHub API server on 127.0.0.1 spoken to over
HTTP, the dispatch is a real POST whose answer names the run it started, the waiting is
conditional polling whose 304s cost no rate limit, and the artifact comes through the 302
redirect from a separate storage host that never sees the token. Only time is faster: the
emulator and the client share a `ScaledClock`.
"""

from __future__ import annotations

import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any, TextIO

from wait_and_dispatch.clock import ScaledClock
from wait_and_dispatch.errors import ExitCode
from wait_and_dispatch.github_api import GitHubApi, RetryEvent

DEMO_REPO = "octo/app"
DEMO_WORKFLOW = "build.yml"
DEMO_TOKEN = "ci"  # noqa: S105 - the name of a scenario token, not a secret
POLL_SECONDS = 5.0


class _Printer:
    """Timestamped lines relative to the start, in the emulated time."""

    def __init__(self, out: TextIO, clock: ScaledClock) -> None:
        self.out = out
        self.clock = clock
        self.start = clock.now()

    def __call__(self, message: str) -> None:
        elapsed = int(self.clock.now() - self.start)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", file=self.out, flush=True)


def run_demo(*, speed: float = 30.0, path: str | None = None, out: TextIO) -> int:
    from wait_and_dispatch.emulator import Emulator, Scenario

    scenario = Scenario.demo()
    clock = ScaledClock(speed)
    with Emulator(scenario, clock=clock) as emulator:
        say = _Printer(out, clock)
        print(
            f"Emulated GitHub API at {emulator.api_url} (artifact storage at {emulator.blob_url}); "
            f"time runs {speed:g}x faster. No token or network needed.",
            file=out,
        )
        api = GitHubApi(
            base_url=emulator.api_url,
            token=emulator.token(DEMO_TOKEN),
            clock=clock,
            on_retry=lambda event: say(_describe_retry(event)),
        )
        with api:
            if path is None:
                with tempfile.TemporaryDirectory(prefix="wait-and-dispatch-demo-") as folder:
                    return _main_job(api, say, Path(folder), out)
            target = Path(path)
            target.mkdir(parents=True, exist_ok=True)
            return _main_job(api, say, target, out)


def _main_job(api: GitHubApi, say: _Printer, folder: Path, out: TextIO) -> int:
    repo = f"/repos/{DEMO_REPO}"
    workflow = api.get(f"{repo}/actions/workflows/{DEMO_WORKFLOW}").data
    correlation_id = f"demo-{uuid.uuid4().hex[:8]}"
    inputs = {"target": "linux", "correlation_id": correlation_id}
    say(f"dispatch {workflow['name']} ({workflow['path']}) on main with inputs {inputs}")
    answer = api.post(
        f"{repo}/actions/workflows/{workflow['id']}/dispatches",
        {"ref": "main", "inputs": inputs, "return_run_details": True},
    )
    run_id = int(answer.data["workflow_run_id"])
    say(f"GitHub answered with the run it started: run {run_id} ({answer.data['html_url']})")

    run = _wait(api, say, f"{repo}/actions/runs/{run_id}")
    say(f"run {run_id} '{run['display_title']}' completed: {run['conclusion']}")

    artifacts = api.get(f"{repo}/actions/runs/{run_id}/artifacts").data["artifacts"]
    downloaded: list[str] = []
    for artifact in artifacts:
        destination = folder / f"{artifact['name']}.zip"
        result = api.download_artifact(artifact["archive_download_url"], destination)
        verdict = "no digest to check"
        if artifact.get("digest"):
            verdict = (
                "sha256 verified" if artifact["digest"] == f"sha256:{result.sha256}" else "DIGEST MISMATCH"
            )
        with zipfile.ZipFile(destination) as archive:
            names = archive.namelist()
        say(f"artifact {artifact['name']}: {result.size:,} bytes, {verdict}, files {names}")
        downloaded.append(artifact["name"])

    stats = api.stats
    print("\noutputs:", file=out)
    for key, value in (
        ("run-id", run_id),
        ("run-url", run["html_url"]),
        ("run-number", run["run_number"]),
        ("conclusion", run["conclusion"]),
        ("head-sha", run["head_sha"]),
        ("artifacts", ", ".join(downloaded) or "none"),
    ):
        print(f"  {key}: {value}", file=out)
    print(
        f"\nAPI cost: {stats.requests} requests, {stats.not_modified} answered 304 (free), "
        f"{stats.retries} retries, {stats.units_spent} rate-limit units; "
        f"{stats.rate_limit_remaining}/{stats.rate_limit_limit} left",
        file=out,
    )
    return int(ExitCode.SUCCESS if run["conclusion"] == "success" else ExitCode.CONCLUSION_NOT_ALLOWED)


def _wait(api: GitHubApi, say: _Printer, run_path: str) -> dict[str, Any]:
    """Poll one run with conditional requests until it completes, saying each status change."""
    last_status = None
    while True:
        response = api.get(run_path)
        run: dict[str, Any] = response.data
        if run["status"] == "completed":
            return run
        if run["status"] != last_status:
            say(f"run {run['id']}: {run['status']} (polling every {POLL_SECONDS:g}s; unchanged is free)")
            last_status = run["status"]
        api.clock.sleep(POLL_SECONDS)


def _describe_retry(event: RetryEvent) -> str:
    return f"{event.method} {event.path}: {event.reason}, retrying in {event.wait:.0f}s"
