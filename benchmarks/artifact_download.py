#!/usr/bin/env python3
"""Benchmark: a 512 MiB artifact downloaded, verified and extracted, beside the official client.

The embedded emulator serves one generated artifact (a zip of one 512 MiB file of incompressible
bytes, stored, as upload-artifact stores what does not compress) from its storage host on
loopback, behind the API's 302 and a signed URL, in real time. Three clients download it, each in
a child process of its own, interleaved over a few rounds:

- wait-and-dispatch: `download_artifacts` (list, 302, stream; sha256 and unzip on the way, into a
  staging folder moved into place once the digest matches);
- the official `@actions/artifact` client (`downloadArtifact` with `findBy` and `expectedHash`,
  as actions/download-artifact calls it for another run's artifact), installed from npm into a
  cache folder outside the repository on first use, pointed at the emulator by GITHUB_API_URL;
- a plain streaming download of the same zip to a file, with no hashing and no extraction (the
  floor: what moving the bytes costs).

Wall time is measured inside each child around the download alone (not interpreter start-up);
peak RSS is the child's `ru_maxrss` (`os.wait4`). Every destination is deleted after its run.

    python3 benchmarks/artifact_download.py [--rounds 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from report import publish

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock

SIZE = 512 * 1024 * 1024
SHA = "e" * 40
CLIENT_PACKAGE = "@actions/artifact@6.2.1"
HERE = Path(__file__).resolve().parent
TOKEN = "ghs_artifact_bench"  # noqa: S105 - a scenario token of the emulator, not a secret

OURS = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from wait_and_dispatch.engine.artifact_download import download_artifacts
    from wait_and_dispatch.engine.github_objects import Repository
    from wait_and_dispatch.engine.requests import ArtifactSelection
    from wait_and_dispatch.github_api import GitHubApi

    api_url, token, run_id, destination = sys.argv[1:5]
    with GitHubApi(base_url=api_url, token=token) as api:
        started = time.perf_counter()
        [result] = download_artifacts(api, Repository("octo", "app"), int(run_id),
                                      ArtifactSelection(path=Path(destination)))
        seconds = time.perf_counter() - started
    assert result.verified
    print(json.dumps({"seconds": seconds}))
    """
)

PLAIN = textwrap.dedent(
    """
    import json, sys, time
    import requests

    api_url, token, artifact_id, destination = sys.argv[1:5]
    started = time.perf_counter()
    answer = requests.get(f"{api_url}/repos/octo/app/actions/artifacts/{artifact_id}/zip",
                          headers={"Authorization": f"Bearer {token}"}, allow_redirects=False, timeout=30)
    with requests.get(answer.headers["Location"], stream=True, timeout=30) as got, \\
            open(f"{destination}/artifact.zip", "wb") as sink:
        for chunk in got.iter_content(1024 * 1024):
            sink.write(chunk)
    print(json.dumps({"seconds": time.perf_counter() - started}))
    """
)


def scenario() -> dict[str, Any]:
    return {
        "tokens": {"bench": {"secret": TOKEN, "kind": "github_token", "repos": ["octo/app"]}},
        "repos": {
            "octo/app": {
                "branches": {"main": SHA},
                "workflows": [
                    {
                        "path": ".github/workflows/build.yml",
                        "name": "Build",
                        "on": ["push"],
                        "timeline": {"queued": 0, "duration": 60},
                        "conclusion": "success",
                    }
                ],
                "runs": [
                    {
                        "workflow": "build.yml",
                        "event": "push",
                        "head_sha": SHA,
                        "head_branch": "main",
                        "created": -3600,
                        "artifacts": [{"name": "big", "size": SIZE}],
                    }
                ],
            }
        },
    }


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not on PATH: the official client's side of the benchmark needs Node.js")
    return found


def client_folder() -> Path:
    """Where the official client is installed: a cache folder, never the repository."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "wait-and-dispatch" / "artifact-client"


def install_official_client() -> Path:
    folder = client_folder()
    if not (folder / "node_modules" / "@actions" / "artifact" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"private": true, "type": "module"}\n')
        print(f"installing {CLIENT_PACKAGE} into {folder} ...", file=sys.stderr)
        subprocess.run(  # noqa: S603 - a fixed npm command line
            [_tool("npm"), "install", "--no-audit", "--no-fund", "--loglevel=error", CLIENT_PACKAGE],
            cwd=folder,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    # ESM resolves packages from the script's folder, so the driver runs from there.
    shutil.copyfile(HERE / "artifact_client.mjs", folder / "artifact_client.mjs")
    return folder / "artifact_client.mjs"


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mib: float


def measure(argv: list[str], env: dict[str, str] | None = None) -> Measure:
    """Run one client in a child process: its JSON line's seconds, and its own peak RSS."""
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(  # noqa: S603 - our interpreter or node, and our own arguments
            argv, stdout=subprocess.PIPE, stderr=errors, env=env, text=True
        )
        assert child.stdout is not None
        out = child.stdout.read()
        child.stdout.close()
        _, status, usage = os.wait4(child.pid, 0)  # this child's rusage, not every child's
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{argv[0]} failed:\n{errors.read()[-2000:]}")
    line = [text for text in out.splitlines() if text.startswith("{")][-1]
    return Measure(float(json.loads(line)["seconds"]), usage.ru_maxrss / 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="refresh the table between the markers in this file")
    args = parser.parse_args(argv)
    driver = install_official_client()
    node = _tool("node")
    node_version = subprocess.run(  # noqa: S603 - node, found on PATH
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    results: dict[str, list[Measure]] = {"ours": [], "official": [], "plain": []}
    with Emulator(Scenario.from_dict(scenario()), clock=SystemClock()) as emulator:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {TOKEN}"
        run_id = api.get(f"{emulator.api_url}/repos/octo/app/actions/runs").json()["workflow_runs"][0]["id"]
        # The first listing makes the emulator generate the zip (once), before any timing.
        [artifact] = api.get(f"{emulator.api_url}/repos/octo/app/actions/runs/{run_id}/artifacts").json()[
            "artifacts"
        ]
        node_env = dict(
            os.environ,
            GITHUB_API_URL=emulator.api_url,
            GITHUB_SERVER_URL="https://github.com",
            BENCH_TOKEN=TOKEN,
        )
        clients = {
            "ours": lambda into: measure(
                [sys.executable, "-c", OURS, emulator.api_url, TOKEN, str(run_id), str(into)]
            ),
            "official": lambda into: measure(
                [node, str(driver), str(artifact["id"]), str(run_id), str(into), artifact["digest"]],
                node_env,
            ),
            "plain": lambda into: measure(
                [sys.executable, "-c", PLAIN, emulator.api_url, TOKEN, str(artifact["id"]), str(into)]
            ),
        }
        for round_number in range(args.rounds):
            order = list(clients)
            order = order[round_number % len(order) :] + order[: round_number % len(order)]
            for name in order:
                into = Path(tempfile.mkdtemp(prefix="wad-artifact-bench-"))
                try:
                    results[name].append(clients[name](into))
                    if name != "plain":
                        [unpacked] = [p for p in into.rglob("*") if p.is_file()]
                        assert unpacked.stat().st_size == SIZE, (name, unpacked)
                finally:
                    shutil.rmtree(into, ignore_errors=True)

    def median(name: str) -> float:
        return statistics.median(m.seconds for m in results[name])

    rows = [
        "| Client | What it does | Median wall time | Runs | Peak RSS |",
        "|---|---|---:|---|---:|",
        f"| wait-and-dispatch | list, 302, stream: sha256 and unzip on the way | {median('ours'):.2f} s "
        f"| {', '.join(f'{m.seconds:.2f}' for m in results['ours'])} "
        f"| {max(m.peak_mib for m in results['ours']):.0f} MiB |",
        f"| `{CLIENT_PACKAGE}` (node {node_version}) | 302, stream: sha256 and unzip-stream "
        f"| {median('official'):.2f} s | {', '.join(f'{m.seconds:.2f}' for m in results['official'])} "
        f"| {max(m.peak_mib for m in results['official']):.0f} MiB |",
        f"| plain streaming download | 302, stream to a file: no hash, no unzip | {median('plain'):.2f} s "
        f"| {', '.join(f'{m.seconds:.2f}' for m in results['plain'])} "
        f"| {max(m.peak_mib for m in results['plain']):.0f} MiB |",
    ]
    table = "\n".join(rows)
    note = (
        f"A 512 MiB artifact, {args.rounds} rounds with the clients' order rotated, in one run of "
        "`python3 benchmarks/artifact_download.py`. Ratios of the medians: wait-and-dispatch / "
        f"official client {median('ours') / median('official'):.2f} (target <= 1), wait-and-dispatch / "
        f"plain download {median('ours') / median('plain'):.2f} (target <= 2); peak RSS target 64 MiB."
    )
    publish("artifact-download", table + "\n\n" + note, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
