"""`wait-and-dispatch demo`: the main job, end to end, against the embedded emulator.

Everything it shows is real: the emulator is a GitHub API server on 127.0.0.1 spoken to over
HTTP, the dispatch is a real POST whose answer names the run it started, the waiting is
conditional polling whose 304s cost no rate limit, and the artifact comes through the 302
redirect from a separate storage host that never sees the token. Only time is faster: the
emulator and the client share a `ScaledClock`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TextIO

from wait_and_dispatch.github_api import GitHubApi, RetryEvent
from wait_and_dispatch.support.clock import ScaledClock
from wait_and_dispatch.support.errors import ExitCode

DEMO_REPO = "octo/app"
DEMO_WORKFLOW = "build.yml"
DEMO_TOKEN = "ci"  # nosec B105 # noqa: S105 - the name of a scenario token, not a secret
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
    """The same engine call the action and `wait-and-dispatch run` make."""
    from wait_and_dispatch.engine.facade import Engine
    from wait_and_dispatch.engine.github_objects import Repository
    from wait_and_dispatch.engine.requests import ArtifactSelection, DispatchPolicy, RunRequest, WaitOptions
    from wait_and_dispatch.session.progress import is_line
    from wait_and_dispatch.step.run import run_outputs

    engine = Engine(
        api, lambda event: say(event.message) if is_line(event) and event.kind != "poll" else None
    )
    result = engine.run(
        RunRequest(
            Repository.parse(DEMO_REPO),
            DEMO_WORKFLOW,
            ref="main",
            dispatch=DispatchPolicy.ALWAYS,
            inputs={"target": "linux"},
            correlation_input="correlation_id",  # the demo workflow shows it in its run-name
        ),
        WaitOptions(timeout=1800, poll_interval=POLL_SECONDS, max_poll_interval=30),
        artifacts=ArtifactSelection(path=folder),
    )
    outputs = run_outputs(result)
    print("\noutputs:", file=out)
    for key in ("run-id", "run-url", "run-number", "conclusion", "head-sha", "dispatched", "duration"):
        print(f"  {key}: {outputs[key]}", file=out)
    for artifact in result.artifacts:
        verdict = "sha256 verified" if artifact.verified else "no digest to check"
        print(f"  artifact {artifact.name}: {artifact.size:,} bytes, {verdict} -> {artifact.path}", file=out)
    print(f"\nAPI cost: {result.cost.describe()}", file=out)
    error = result.error()
    if error is not None:
        print(f"error: {error.message}", file=out)
        return int(error.exit_code)
    return int(ExitCode.SUCCESS)


def _describe_retry(event: RetryEvent) -> str:
    return f"{event.method} {event.path}: {event.reason}, retrying in {event.wait:.0f}s"
