#!/usr/bin/env python3
"""Start the embedded GitHub API emulator in the background for a CI job, and wait until it answers.

    python tools/ci/start_emulator.py --scenario tools/ci/dogfood-scenario.yml [--host HOST]
        [--port 8080] [--blob-port 8081] [--log FILE]

Used by .github/workflows/ci.yml's dogfood jobs (tests/test_ci_dogfood.py runs it the same way).
It runs `wait-and-dispatch emulator` (this interpreter's) as a process of its own, detached from
the step so that it outlives it: a step's shell and what it waits for end with the step, while the
runner stops the job's leftover processes only when the job ends. It polls GET /rate_limit until
the API answers (any HTTP status), then writes to $GITHUB_OUTPUT (and prints):

    api-url=http://HOST:PORT    the API for the action's `api-url` input
    pid=N                       the emulator's process id

--host docker-bridge listens on the host's address on Docker's default bridge (its gateway,
172.17.0.1 on GitHub's Ubuntu runners), for a container action: in the action's container,
127.0.0.1 is the container itself, not the runner. Both the API and the artifact storage listen
there, so the storage URLs the API hands out (signed redirects) work from the container too.
Exits 1, with the emulator's log, if it does not answer within --wait seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def docker_bridge_address() -> str:
    """The gateway of Docker's default `bridge` network: the runner's address as containers see it."""
    done = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/rate_limit", timeout=2):  # noqa: S310 - our own http URL
            return True
    except urllib.error.HTTPError:
        return True  # an answer, even 401: the server is up
    except OSError:
        return False


def start(scenario: str, host: str, port: int, blob_port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "wait_and_dispatch", "emulator", "--scenario", scenario]
    command += ["--host", host, "--port", str(port), "--blob-port", str(blob_port)]
    # Windows: a process group and no console of its own; elsewhere: a session of its own.
    flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(subprocess, "DETACHED_PROCESS", 0)
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - this interpreter and our own arguments
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            creationflags=flags if os.name == "nt" else 0,
            start_new_session=os.name != "nt",
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--host", default="127.0.0.1", help="an address, or docker-bridge")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--blob-port", type=int, default=8081)
    parser.add_argument("--log", default="emulator.log", help="where the emulator's output goes")
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for it to answer")
    args = parser.parse_args(argv)
    host = docker_bridge_address() if args.host == "docker-bridge" else args.host
    url = f"http://{host}:{args.port}"
    log = Path(args.log)
    process = start(args.scenario, host, args.port, args.blob_port, log)
    deadline = time.monotonic() + args.wait
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            print(f"start_emulator: {url} did not answer; its log:", file=sys.stderr)
            print(log.read_text(encoding="utf-8", errors="replace"), file=sys.stderr)
            return 1
        time.sleep(0.2)
    lines = [f"api-url={url}", f"pid={process.pid}"]
    print("\n".join(lines))
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write("".join(f"{line}\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
