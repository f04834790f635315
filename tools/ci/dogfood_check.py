#!/usr/bin/env python3
"""Check what a dogfood step of .github/workflows/ci.yml left: its outcome and its outputs.

    OUTCOME=${{ steps.X.outcome }} OUTPUTS=${{ toJSON(steps.X.outputs) }} \\
        python tools/ci/dogfood_check.py deployed|failed|downloaded

Runs in the step after the action's, reading it through the environment (never `${{ }}` inside
the script, so no value is parsed as code). Each kind is what the README documents for it:

- deployed: the step dispatched Deploy (tools/ci/dogfood-scenario.yml), waited for it and
  downloaded deploy-report: outcome success; dispatched true; status completed; conclusion
  success; run-id, run-url, run-number, head-sha and duration filled in; artifacts lists
  deploy-report and download-path holds its report.txt.
- failed: the step (continue-on-error: true) waited for Broken, which fails: outcome failure, as
  the action exits 1 (README, exit codes: the run's conclusion is not allowed); conclusion failure;
  the result output says conclusion-not-allowed.
- downloaded: the step took the deployed run by `run-id` and only downloaded its artifact: outcome
  success, dispatched false, the same run (EXPECTED_RUN_ID), the file in the given folder.

A container action's download-path is a path in its container (/github/workspace/...): it is read
under GITHUB_WORKSPACE, where the runner mounts it from.

Prints every problem found and exits 1 if there is any (tests/test_ci_dogfood.py runs it too).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

REPORT = "deployed to staging\n"  # tools/ci/dogfood-scenario.yml, deploy-report's report.txt


# Where the runner mounts GITHUB_WORKSPACE in a container action's container: a container action's
# download-path is written there, and found on the runner under GITHUB_WORKSPACE.
CONTAINER_WORKSPACE = "/github/workspace"


def problems(
    kind: str, outcome: str, outputs: Mapping[str, str], *, expected_run_id: str = "", workspace: str = ""
) -> list[str]:
    found: list[str] = []

    def expect(name: str, wanted: str) -> None:
        if outputs.get(name) != wanted:
            found.append(f"output {name} is {outputs.get(name)!r}, expected {wanted!r}")

    if not re.fullmatch(r"[1-9][0-9]*", outputs.get("run-id", "")):
        found.append(f"output run-id is {outputs.get('run-id')!r}, expected a run id")
    expect("status", "completed")
    if kind == "failed":
        if outcome != "failure":
            found.append(f"the step's outcome is {outcome!r}, expected 'failure' (exit code 1)")
        expect("conclusion", "failure")
        result = _json(outputs.get("result", ""), "result", found)
        if isinstance(result, dict) and result.get("outcome") != "conclusion-not-allowed":
            found.append(f"result.outcome is {result.get('outcome')!r}, expected 'conclusion-not-allowed'")
        return found
    if outcome != "success":
        found.append(f"the step's outcome is {outcome!r}, expected 'success'")
    expect("conclusion", "success")
    expect("dispatched", "true" if kind == "deployed" else "false")
    run_id = outputs.get("run-id", "")
    if expected_run_id and run_id != expected_run_id:
        found.append(f"output run-id is {run_id!r}, expected the deployed run {expected_run_id!r}")
    if not outputs.get("run-url", "").endswith(f"/actions/runs/{run_id}"):
        found.append(f"output run-url {outputs.get('run-url')!r} is not the URL of run {run_id}")
    if not re.fullmatch(r"[0-9a-f]{40}", outputs.get("head-sha", "")):
        found.append(f"output head-sha is {outputs.get('head-sha')!r}, expected a commit SHA")
    artifacts = _json(outputs.get("artifacts", ""), "artifacts", found)
    names = [a.get("name") for a in artifacts] if isinstance(artifacts, list) else []
    if names != ["deploy-report"]:
        found.append(f"output artifacts names {names}, expected ['deploy-report']")
    folder = outputs.get("download-path", "")
    if workspace and (folder == CONTAINER_WORKSPACE or folder.startswith(CONTAINER_WORKSPACE + "/")):
        folder = workspace + folder[len(CONTAINER_WORKSPACE) :]
    report = Path(folder) / "report.txt"
    if not folder or not report.is_file():
        found.append(f"no report.txt in download-path {folder!r}")
    elif report.read_text(encoding="utf-8") != REPORT:
        found.append(f"{report} holds {report.read_text(encoding='utf-8')!r}, expected {REPORT!r}")
    return found


def _json(text: str, name: str, found: list[str]) -> object:
    try:
        return json.loads(text)
    except ValueError:
        found.append(f"output {name} is not JSON: {text!r}")
        return None


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"deployed", "failed", "downloaded"}:
        print(__doc__, file=sys.stderr)
        return 2
    outputs = json.loads(os.environ.get("OUTPUTS") or "{}")
    found = problems(
        argv[0],
        os.environ.get("OUTCOME", ""),
        outputs,
        expected_run_id=os.environ.get("EXPECTED_RUN_ID", ""),
        workspace=os.environ.get("GITHUB_WORKSPACE", ""),
    )
    for problem in found:
        print(f"dogfood_check {argv[0]}: {problem}", file=sys.stderr)
    if not found:
        print(f"dogfood_check {argv[0]}: ok (run {outputs.get('run-id')})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
