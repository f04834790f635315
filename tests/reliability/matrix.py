"""The fault matrix: what GitHub and the network can do in each phase of a job, and how it must end.

Each `Cell` is one fault in one phase (lookup, dispatch, wait, download) with the expected ending:
the job recovers, or it exits with the documented code and a message naming the problem. Whatever
the ending, five invariants hold in every cell (`test_fault_matrix.py` checks them):

- one dispatch per request: at most one run is created for the job's request;
- never the wrong run: the run reported is the one the job started (or found for the SHA);
- never a partial artifact in place: the target folder holds the whole artifact or nothing;
- never a wait past the deadline + 5 s (on the job's clock);
- never a secret in any channel: the token is in no output, progress line, message or file.

docs/reliability.md is rendered from this list (`python -m tests.reliability.render --write`), and
a test fails when the page and the list differ; since every cell's test asserts that what happened
is what the cell says, the page shows what the suite saw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import MAIN_SHA

PHASES = ("lookup", "dispatch", "wait", "download")

# The job of every cell: dispatch build.yml on main for the SHA (dispatch: always, as the action
# does on a push), wait for it and download its `package` artifact. Cells change what they need.
BASE_INPUTS: Mapping[str, str] = {
    "workflow": "build.yml",
    "ref": "main",
    "dispatch": "always",
    "timeout": "30m",
    "artifacts": "package",
    "correlation-input": "correlation_id",  # the base scenario's build.yml shows it in run-name
}

# Reads the job makes in each phase (fault globs; `*` also matches `/`). Lookup cells use
# `dispatch: if-missing`, which first lists the workflow's runs for the SHA.
LOOKUP = "/repos/octo/app/actions/workflows/*"
WORKFLOW_FILE = "/repos/octo/app/contents/*"
IF_MISSING = {"dispatch": "if-missing"}
DISPATCH = "/repos/octo/app/actions/workflows/*/dispatches"
WAIT_READS = "/repos/octo/app/actions/*"  # runs, the run, its jobs: confined in time to the wait
ARTIFACT_LIST = "/repos/octo/app/actions/runs/*/artifacts"
ARTIFACT_ZIP = "/repos/octo/app/actions/artifacts/*/zip"

# The base scenario's build runs 5 s queued + 120 s in progress after its dispatch at t = 0: the
# wait is t = 1 s .. 125 s, and the download starts right after.
WAIT_START, RUN_END = 10.0, 125.0


@dataclass(frozen=True)
class During:
    """Something that happens to the run while the job waits: at `at` seconds, `action`."""

    at: float
    action: str  # "delete" | "rerun"


@dataclass(frozen=True)
class Cell:
    id: str
    phase: str
    what: str  # the fault, in words
    faults: tuple[Mapping[str, Any], ...] = ()  # emulator Fault fields
    expect: int = 0  # exit code: 0 means the job recovers and succeeds
    message: str = ""  # a fragment the one-line message must contain (when expect != 0)
    inputs: Mapping[str, str] = field(default_factory=dict)
    scenario: Callable[[dict[str, Any]], None] | None = None
    during: During | None = None
    request_timeout: int = 10  # the API layer's per-request timeout (real seconds)
    outcome: str = ""  # what the page says happens, in words

    @property
    def values(self) -> dict[str, str]:
        return {**BASE_INPUTS, **self.inputs}

    @property
    def ending(self) -> str:
        return "recovers" if self.expect == 0 else f"exit {self.expect}"


def _ghes(scenario: dict[str, Any]) -> None:
    """A server that does not return run details (GHES <= 3.20): the run is found by correlation."""
    scenario["options"]["return_run_details"] = False


def _never_appears(scenario: dict[str, Any]) -> None:
    _ghes(scenario)
    scenario["options"]["dispatch_visibility_delay"] = 100_000


def _ghes_320(*, clock_behind: float = 0.0, listed_after: float = 3.0) -> Callable[[dict[str, Any]], None]:
    """GHES 3.20, which the client knows needs no `return_run_details`: every dispatch goes out
    once, and its run is found by correlation. Its clock may be behind the runner's."""

    def change(scenario: dict[str, Any]) -> None:
        scenario["options"].update(
            return_run_details=False,
            enterprise_version="3.20.0",
            clock_offset=-clock_behind,
            dispatch_visibility_delay=listed_after,
        )

    return change


def _wrong_digest(scenario: dict[str, Any]) -> None:
    artifact = scenario["repos"]["octo/app"]["workflows"][0]["artifacts"][0]
    artifact["digest"] = "sha256:" + "0" * 64


def _no_digest(scenario: dict[str, Any]) -> None:
    artifact = scenario["repos"]["octo/app"]["workflows"][0]["artifacts"][0]
    artifact["digest"] = None  # upload-artifact v3: nothing to verify the bytes against


def _big_package(scenario: dict[str, Any]) -> None:
    """A 1 MiB package: storage that trickles 4 KiB every 0.5 s would need 128 s to send it."""
    scenario["repos"]["octo/app"]["workflows"][0]["artifacts"] = [{"name": "package", "size": 1024 * 1024}]


def _ghes_3_20(scenario: dict[str, Any]) -> None:
    """GitHub Enterprise Server 3.20 as it is: the API under /api/v3, no rate limits, no run
    details, and no REST API version 2026-03-10 (refused with 400, nothing done)."""
    scenario["options"].update(return_run_details=False, enterprise_version="3.20.1")


def _renamed(scenario: dict[str, Any]) -> None:
    """octo/app was renamed to octo/app-renamed: its old name answers 301 (reads) and 307 (writes)."""
    repos = scenario["repos"]
    repos["octo/app-renamed"] = {**repos.pop("octo/app"), "renamed_from": ["octo/app"]}
    for token in scenario["tokens"].values():
        if isinstance(token.get("repos"), list):
            token["repos"] = ["octo/app-renamed" if name == "octo/app" else name for name in token["repos"]]


# A checks job instead of the run job: the build checks on the SHA (the base build.yml's job).
CHECKS_JOB = {
    "workflow": "",
    "ref": "",
    "dispatch": "",
    "artifacts": "",
    "correlation-input": "",
    "checks-regex": "^build",
    "timeout": "5m",
}


def _push_run(scenario: dict[str, Any], workflow: str) -> None:
    runs = scenario["repos"]["octo/app"].setdefault("runs", [])
    runs.append({"workflow": workflow, "event": "push", "head_sha": MAIN_SHA, "head_branch": "main"})


def _busy_commit(scenario: dict[str, Any]) -> None:
    """build.yml's push run on the SHA, beside another workflow's status check that runs 10 minutes."""
    repo = scenario["repos"]["octo/app"]
    repo["workflows"].append(
        {
            "path": ".github/workflows/status.yml",
            "name": "Status",
            "on": ["push"],
            "timeline": {"queued": 0, "duration": 600},
            "jobs": [{"name": "status-check", "start": 0, "duration": 600}],
        }
    )
    _push_run(scenario, "build.yml")
    _push_run(scenario, "status.yml")


def _same_name_other_app(scenario: dict[str, Any]) -> None:
    """build.yml's `build` job fails; Jenkins reports a `build` of its own, later, which succeeds."""
    build = scenario["repos"]["octo/app"]["workflows"][0]
    build["conclusion"] = build["jobs"][0]["conclusion"] = "failure"
    _push_run(scenario, "build.yml")
    jenkins = {
        "name": "build",
        "head_sha": MAIN_SHA,
        "app": "jenkins",
        "created": -60,
        "conclusion": "success",
    }
    scenario["repos"]["octo/app"]["check_runs"] = [{**jenkins, "timeline": {"duration": 10}}]


def _fault(path: str, **fields: Any) -> dict[str, Any]:
    return {"path": path, **fields}


def _wait(**fields: Any) -> dict[str, Any]:
    """A fault on every read during the wait (since WAIT_START, until the run's end unless set)."""
    fields.setdefault("since", WAIT_START)
    fields.setdefault("until", RUN_END - 5)
    fields.setdefault("times", None)
    return {"path": WAIT_READS, "method": "GET", **fields}


CELLS: tuple[Cell, ...] = (
    # -- lookup: the workflow and the runs for the SHA ------------------------------------------
    Cell(
        "lookup-5xx-burst",
        "lookup",
        "three 502s",
        (_fault(LOOKUP, method="GET", status=502, times=3),),
        inputs=IF_MISSING,
        outcome="retried with backoff",
    ),
    Cell(
        "lookup-reset",
        "lookup",
        "connection reset",
        (_fault(LOOKUP, method="GET", kind="reset", times=2),),
        inputs=IF_MISSING,
        outcome="retried",
    ),
    Cell(
        "lookup-slow",
        "lookup",
        "an answer slower than the request timeout",
        (_fault(LOOKUP, method="GET", kind="slow", delay=2.0, times=1),),
        request_timeout=1,
        inputs=IF_MISSING,
        outcome="the request times out and is retried",
    ),
    Cell(
        "lookup-secondary-retry-after",
        "lookup",
        "secondary limit, retry-after 30",
        (_fault(LOOKUP, method="GET", kind="secondary_rate_limit", retry_after=30),),
        inputs=IF_MISSING,
        outcome="waits the 30 s GitHub asks, then goes on",
    ),
    Cell(
        "lookup-secondary-no-retry-after",
        "lookup",
        "secondary limit without retry-after (429)",
        (_fault(LOOKUP, method="GET", kind="secondary_rate_limit", status=429, message="slow down"),),
        inputs=IF_MISSING,
        outcome="waits at least a minute, as GitHub asks, then goes on",
    ),
    Cell(
        "lookup-primary-inside",
        "lookup",
        "primary limit spent, reset inside the deadline",
        (_fault(LOOKUP, method="GET", kind="primary_rate_limit"),),
        inputs={**IF_MISSING, "timeout": "2h"},
        outcome="waits for the reset, then goes on",
    ),
    Cell(
        "lookup-primary-outside",
        "lookup",
        "primary limit spent, reset after the deadline",
        (_fault(LOOKUP, method="GET", kind="primary_rate_limit"),),
        expect=4,
        message="rate limit",
        inputs={**IF_MISSING, "timeout": "10m"},
        outcome="fails at once, naming the reset time",
    ),
    Cell(
        "lookup-401",
        "lookup",
        "401 Bad credentials",
        (_fault(LOOKUP, method="GET", status=401, message="Bad credentials"),),
        expect=4,
        message="401",
        inputs=IF_MISSING,
        outcome="fails with the token hint",
    ),
    Cell(
        "lookup-workflow-file-5xx",
        "lookup",
        "three 502s reading the workflow file",
        (_fault(WORKFLOW_FILE, method="GET", status=502, times=3),),
        outcome="retried; the file tells the inputs and the correlation input",
    ),
    Cell(
        "lookup-workflow-file-403",
        "lookup",
        "the workflow file cannot be read (403: no contents: read)",
        (_fault(WORKFLOW_FILE, method="GET", status=403, message="Resource not accessible by integration"),),
        outcome="dispatches as without the file: GitHub judges the inputs",
    ),
    Cell(
        "lookup-api-version-refused",
        "lookup",
        "a GHES that refuses REST API version 2026-03-10 (400)",
        scenario=_ghes_3_20,
        outcome="asked again once in 2022-11-28, spoken from then on",
    ),
    Cell(
        "lookup-repository-renamed",
        "lookup",
        "the repository was renamed: 301 to reads, 307 to the dispatch",
        scenario=_renamed,
        outcome="redirects within the API followed with the token",
    ),
    # -- dispatch ---------------------------------------------------------------------------------
    Cell(
        "dispatch-5xx-not-applied",
        "dispatch",
        "a 502 before the dispatch took effect",
        (_fault(DISPATCH, method="POST", status=502),),
        outcome="searches the whole correlation window, finds no run, dispatches once more",
    ),
    Cell(
        "dispatch-5xx-applied",
        "dispatch",
        "a 502 after GitHub created the run",
        (_fault(DISPATCH, method="POST", kind="apply_then_fail"),),
        outcome="finds the run it started by its correlation id; never dispatches again",
    ),
    Cell(
        "dispatch-5xx-applied-short-deadline",
        "dispatch",
        "a 502 after GitHub created the run, with --timeout 2s",
        (_fault(DISPATCH, method="POST", kind="apply_then_fail"),),
        expect=3,
        message="may have started a run",
        inputs={"timeout": "2s", "artifacts": ""},
        outcome="exits with the run unknown and its correlation id; no second dispatch",
    ),
    Cell(
        "dispatch-5xx-applied-ghes",
        "dispatch",
        "a 502 after the run was created, on a server without run details",
        (_fault(DISPATCH, method="POST", kind="apply_then_fail"),),
        scenario=_ghes,
        outcome="finds the run by its correlation id",
    ),
    Cell(
        "dispatch-ghes-clock-behind",
        "dispatch",
        "GHES without run details, its clock 3 s behind the runner's",
        scenario=_ghes_320(clock_behind=3),
        outcome="finds the run: the `created` filter is on GitHub's clock (its `Date` header)",
    ),
    Cell(
        "dispatch-5xx-applied-ghes-clock-behind",
        "dispatch",
        "a 502 after the run was created, on GHES with its clock 5 s behind",
        (_fault(DISPATCH, method="POST", kind="apply_then_fail"),),
        scenario=_ghes_320(clock_behind=5),
        outcome="finds the run it started by its correlation id; never dispatches again",
    ),
    Cell(
        "dispatch-timeout-in-discovery",
        "dispatch",
        "the timeout (5 s) comes before the run is listed (8 s, no run details)",
        scenario=_ghes_320(listed_after=8),
        expect=3,
        message="look for the run whose name shows wad-",
        inputs={"timeout": "5s", "artifacts": ""},
        outcome="exits naming the correlation id to find the run by",
    ),
    Cell(
        "dispatch-timeout-in-discovery-cancel",
        "dispatch",
        "the same with cancel-on-timeout",
        scenario=_ghes_320(listed_after=8),
        expect=3,
        message="and cancelled it",
        inputs={"timeout": "5s", "artifacts": "", "cancel-on-timeout": "true"},
        outcome="looks a few seconds more, finds the run and cancels it",
    ),
    Cell(
        "dispatch-reset",
        "dispatch",
        "connection reset before an answer",
        (_fault(DISPATCH, method="POST", kind="reset"),),
        outcome="looks for the run first, then dispatches once",
    ),
    Cell(
        "dispatch-secondary",
        "dispatch",
        "secondary limit, retry-after 20",
        (_fault(DISPATCH, method="POST", kind="secondary_rate_limit", retry_after=20),),
        outcome="a refusal: dispatched again after 20 s",
    ),
    Cell(
        "dispatch-403",
        "dispatch",
        "403 Resource not accessible by integration",
        (_fault(DISPATCH, method="POST", status=403, message="Resource not accessible by integration"),),
        expect=4,
        message="403",
        outcome="fails with the permission hint (actions: write)",
    ),
    Cell(
        "dispatch-never-appears",
        "dispatch",
        "the dispatched run never appears (no run details)",
        scenario=_never_appears,
        expect=3,
        message="did not appear",
        inputs={"discovery-timeout": "2m", "artifacts": ""},
        outcome="gives up after discovery-timeout, naming the correlation id",
    ),
    # -- wait -------------------------------------------------------------------------------------
    Cell(
        "wait-5xx-burst",
        "wait",
        "five 502s",
        (_wait(status=502, times=5, until=None),),
        outcome="retried; the wait goes on",
    ),
    Cell(
        "wait-outage-75s",
        "wait",
        "a 75 s 5xx outage in a 5-minute wait",
        (_wait(status=503, since=20.0, until=95.0),),
        inputs={"timeout": "5m"},
        outcome="reads retry until the deadline: the outage ends, the run's end is seen",
    ),
    Cell(
        "wait-outage-past-deadline",
        "wait",
        "a 5xx outage that outlasts the deadline",
        (_wait(status=503, since=20.0, until=10_000.0),),
        expect=3,
        message="",
        inputs={"timeout": "2m", "artifacts": ""},
        outcome="times out at the deadline",
    ),
    Cell(
        "wait-resets",
        "wait",
        "three connection resets",
        (_wait(kind="reset", times=3),),
        outcome="retried",
    ),
    Cell(
        "wait-secondary-retry-after",
        "wait",
        "secondary limit, retry-after 20",
        (_wait(kind="secondary_rate_limit", retry_after=20, times=1),),
        outcome="waits 20 s, then polls again",
    ),
    Cell(
        "wait-secondary-no-retry-after",
        "wait",
        "secondary limit without retry-after",
        (_wait(kind="secondary_rate_limit", status=429, times=1, message="slow down"),),
        outcome="waits at least a minute, then polls again",
    ),
    Cell(
        "wait-primary-inside",
        "wait",
        "primary limit spent, reset inside the deadline",
        (_wait(kind="primary_rate_limit", times=1),),
        inputs={"timeout": "2h"},
        outcome="waits for the reset; the run's end is seen then",
    ),
    Cell(
        "wait-primary-outside",
        "wait",
        "primary limit spent, reset after the deadline",
        (_wait(kind="primary_rate_limit", times=1),),
        expect=4,
        message="rate limit",
        inputs={"timeout": "10m"},
        outcome="fails at once, naming the reset time",
    ),
    Cell(
        "wait-html-page",
        "wait",
        "an HTML page with 200 (a captive portal in GitHub's place)",
        (_wait(kind="html", times=1),),
        expect=4,
        message="not JSON",
        outcome="fails with a one-line message and a proxy hint, never a traceback",
    ),
    Cell(
        "wait-401",
        "wait",
        "401 mid-wait (token revoked)",
        (_wait(status=401, message="Bad credentials", times=None),),
        expect=4,
        message="401",
        outcome="fails with the token hint",
    ),
    Cell(
        "wait-403",
        "wait",
        "403 mid-wait",
        (_wait(status=403, message="Resource not accessible by integration", times=None),),
        expect=4,
        message="403",
        outcome="fails with the permission hint",
    ),
    Cell(
        "wait-404",
        "wait",
        "404 mid-wait",
        (_wait(status=404, message="Not Found", times=None),),
        expect=4,
        message="404",
        outcome="fails: the run or the token's access is gone",
    ),
    Cell(
        "wait-run-deleted",
        "wait",
        "the run is deleted while waited on",
        during=During(at=30.0, action="delete"),
        expect=4,
        message="404",
        inputs={"artifacts": ""},
        outcome="fails naming the run",
    ),
    Cell(
        "wait-run-rerun",
        "wait",
        "the run is re-run (attempt 2) while waited on",
        during=During(at=RUN_END, action="rerun"),
        outcome="follows the new attempt to its end and reports it",
    ),
    Cell(
        "wait-checks-busy-commit",
        "wait",
        "a checks-regex wait on a commit where another workflow's status check runs 10 minutes",
        scenario=_busy_commit,
        inputs=CHECKS_JOB,
        outcome="ends once the build checks are done: the other run has no job that could match",
    ),
    Cell(
        "wait-checks-same-name-other-app",
        "wait",
        "the workflow's `build` job fails; a newer `build` check from Jenkins succeeds",
        scenario=_same_name_other_app,
        inputs={**CHECKS_JOB, "fail-fast": "false"},
        expect=1,
        message="build (failure)",
        outcome="fails: the newest check counts per name and app, so the job's failure is not dropped",
    ),
    # -- download ---------------------------------------------------------------------------------
    Cell(
        "download-list-5xx",
        "download",
        "three 502s listing the artifacts",
        (_fault(ARTIFACT_LIST, method="GET", status=502, times=3),),
        outcome="retried",
    ),
    Cell(
        "download-expired-between",
        "download",
        "the artifact expires between list and download (410)",
        (_fault(ARTIFACT_ZIP, method="GET", status=410, message="Artifact has expired", times=None),),
        expect=5,
        message="expired",
        outcome="fails: artifact expired, nothing written",
    ),
    Cell(
        "download-url-expired",
        "download",
        "the signed storage URL has expired (403 from storage)",
        (_fault("*", host="blob", status=403, times=1),),
        outcome="asks GitHub for a fresh URL and downloads",
    ),
    Cell(
        "download-cut-once",
        "download",
        "the stream is cut once",
        (_fault("*", host="blob", kind="cut_stream", after_bytes=40, times=1),),
        outcome="downloaded again, whole",
    ),
    Cell(
        "download-cut-always",
        "download",
        "the stream is cut on every attempt",
        (_fault("*", host="blob", kind="cut_stream", after_bytes=40, times=None),),
        expect=5,
        message="cut after 40 bytes",
        outcome="fails naming how much arrived; nothing written",
    ),
    Cell(
        "download-digest-mismatch",
        "download",
        "the bytes do not match the artifact's digest",
        scenario=_wrong_digest,
        expect=5,
        message="sha256",
        outcome="fails before anything is extracted",
    ),
    Cell(
        "download-corrupt-zip",
        "download",
        "a corrupt zip (no digest to check)",
        (_fault("*", host="blob", kind="corrupt"),),
        scenario=_no_digest,
        expect=5,
        message="",
        outcome="fails as an unreadable archive; nothing written",
    ),
    Cell(
        "download-trickle",
        "download",
        "storage trickles 4 KiB every 0.5 s (a 1 MiB artifact)",
        (_fault("*", host="blob", kind="trickle", after_bytes=4096, delay=0.5, times=None),),
        scenario=_big_package,
        expect=3,
        message="deadline came while downloading",
        inputs={"timeout": "3m"},
        outcome="stops at the deadline, saying how much arrived; nothing written",
    ),
    Cell(
        "download-gzip-proxy",
        "download",
        "a proxy compresses the download (Content-Encoding: gzip)",
        (_fault("*", host="blob", kind="content_encoding", times=None),),
        outcome="decoded on the way; the digest matches",
    ),
    Cell(
        "download-unknown-encoding",
        "download",
        "a proxy encodes the download in a way that cannot be decoded",
        (_fault("*", host="blob", kind="content_encoding", message="compress", times=None),),
        expect=5,
        message="Content-Encoding",
        outcome="fails at once naming the encoding; nothing written",
    ),
    Cell(
        "download-storage-redirect",
        "download",
        "storage answers 302 (a proxy or captive portal redirects)",
        (_fault("*", host="blob", kind="redirect", times=None),),
        expect=5,
        message="a redirect to",
        outcome="fails at once naming the redirect, not an expired URL; nothing written",
    ),
    Cell(
        "download-primary-outside",
        "download",
        "primary limit spent at the download, reset after the deadline",
        (_fault(ARTIFACT_ZIP, method="GET", kind="primary_rate_limit"),),
        expect=4,
        message="rate limit",
        inputs={"timeout": "10m"},
        outcome="fails at once, not after the reset",
    ),
)
