"""The API layer against the emulator over real HTTP: retries, rate limits, conditional requests."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wait_and_dispatch import USER_AGENT
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.github_api import GitHubApi, RetryEvent, RetryPolicy, next_page_url, normalize_api_url
from wait_and_dispatch.session.signals import interrupt_on_termination
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import (
    AuthenticationError,
    DeadlineExceededError,
    GitHubApiError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitExceededError,
    ServerError,
    UsageError,
    ValidationFailedError,
    WriteOutcomeUnknownError,
)
from wait_and_dispatch.support.interrupts import on_the_wire, write_in_flight

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]

RUNS = "/repos/octo/app/actions/runs"
DISPATCH = "/repos/octo/app/actions/workflows/build.yml/dispatches"


def dispatch(api: GitHubApi, **inputs: str) -> int:
    answer = api.post(DISPATCH, {"ref": "main", "inputs": inputs, "return_run_details": True})
    assert answer.status == 200
    return int(answer.data["workflow_run_id"])


def api_posts(emulator: Emulator, suffix: str) -> list[Any]:
    return [
        r for r in emulator.requests if r.host == "api" and r.method == "POST" and r.path.endswith(suffix)
    ]


# -- what every request carries ------------------------------------------------------------------


def test_requests_carry_our_user_agent_api_version_and_token(api: GitHubApi, emulator: Emulator) -> None:
    api.get("/repos/octo/app")
    sent = emulator.requests[-1]
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["user-agent"] == USER_AGENT
    assert headers["x-github-api-version"] == "2026-03-10"
    assert "authorization" in headers
    assert sent.token_name == "dev"


def test_token_never_appears_in_repr(api: GitHubApi) -> None:
    assert "ghp_dev_secret" not in repr(api)
    assert "<set>" in repr(api)


def test_refuses_to_send_the_token_outside_the_api(api: GitHubApi) -> None:
    with pytest.raises(GitHubApiError, match="refusing to send the token"):
        api.get("https://evil.example.com/repos/octo/app")


# -- errors map to typed exceptions with one line and a hint -------------------------------------


def test_bad_token_raises_authentication_error(make_api: MakeApi, emulator: Emulator) -> None:
    api = GitHubApi(base_url=emulator.api_url, token="ghp_wrong", clock=ManualClock())
    with pytest.raises(AuthenticationError, match="401 Bad credentials") as caught:
        api.get("/repos/octo/app")
    assert "GITHUB_TOKEN" in caught.value.hint
    api.close()


def test_repo_hidden_from_token_raises_not_found(make_api: MakeApi, emulator: Emulator) -> None:
    api = make_api(emulator, token="ci")
    with pytest.raises(NotFoundError, match="404"):
        api.get("/repos/octo/public/actions/runs/1")


def test_read_only_token_dispatch_says_actions_write(make_api: MakeApi, emulator: Emulator) -> None:
    api = make_api(emulator, token="readonly")
    with pytest.raises(PermissionDeniedError, match="Resource not accessible by integration") as caught:
        api.post(DISPATCH, {"ref": "main"})
    assert "actions: write" in caught.value.hint


def test_unknown_input_raises_validation_error_with_github_message(api: GitHubApi) -> None:
    with pytest.raises(ValidationFailedError, match="Unexpected inputs provided"):
        api.post(DISPATCH, {"ref": "main", "inputs": {"nope": "1"}})


# -- retries: 5xx and connection errors, for safe requests only -----------------------------------


def test_get_retries_server_errors_with_growing_backoff(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    emulator.inject(Fault(host="api", method="GET", path="/repos/octo/app", status=502, times=3))
    events: list[RetryEvent] = []
    api = make_api(emulator, on_retry=events.append)

    assert api.get("/repos/octo/app").status == 200

    assert [e.reason for e in events] == ["server-error"] * 3
    waits = [e.wait for e in events]
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 3 and 4 <= waits[2] <= 5  # exponential plus jitter
    assert clock.slept == waits
    assert api.stats.retries == 3
    assert api.stats.requests == 4


def test_get_gives_up_after_the_policy_attempts(
    emulator: Emulator,
    make_api: MakeApi,
) -> None:
    emulator.inject(Fault(host="api", path="/repos/octo/app", status=503, times=100))
    api = make_api(emulator, policy=RetryPolicy(attempts=3))
    with pytest.raises(ServerError, match="503"):
        api.get("/repos/octo/app")
    assert len([r for r in emulator.requests if r.path == "/repos/octo/app"]) == 3


def test_retries_stop_before_a_wait_that_would_pass_the_deadline(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    emulator.inject(Fault(host="api", path="/repos/octo/app", status=502, times=100))
    api = make_api(emulator, policy=RetryPolicy(attempts=50))
    deadline = clock.now() + 10
    with pytest.raises(DeadlineExceededError, match="502"):
        api.get("/repos/octo/app", deadline=deadline)
    assert clock.now() <= deadline


def test_connection_reset_on_a_get_is_retried(
    emulator: Emulator,
    make_api: MakeApi,
) -> None:
    emulator.inject(Fault(host="api", path="/repos/octo/app", kind="reset", times=1))
    api = make_api(emulator)
    assert api.get("/repos/octo/app").data["full_name"] == "octo/app"
    assert api.stats.retries == 1


@pytest.mark.slow
def test_slow_answer_times_out_and_is_retried(
    emulator: Emulator,
    make_api: MakeApi,
) -> None:
    emulator.inject(Fault(host="api", path="/repos/octo/app", kind="slow", delay=1.6, times=1))
    api = make_api(emulator, timeout=1)
    assert api.get("/repos/octo/app").status == 200
    assert api.stats.retries == 1


# -- a dispatch is never sent twice by a retry ---------------------------------------------------


def test_dispatch_answered_5xx_after_being_applied_is_not_resent(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    emulator.inject(
        Fault(host="api", method="POST", path=DISPATCH, kind="apply_then_fail", status=502, times=1)
    )
    api = make_api(emulator)
    with pytest.raises(WriteOutcomeUnknownError, match="may or may not have applied"):
        api.post(DISPATCH, {"ref": "main", "inputs": {"correlation_id": "c-1"}})
    assert len(api_posts(emulator, "/dispatches")) == 1
    clock.advance(30)
    runs = api.get(RUNS, {"event": "workflow_dispatch"}).data["workflow_runs"]
    assert len(runs) == 1  # the one dispatch GitHub applied: the engine must find it, not send another


def test_dispatch_whose_connection_drops_is_not_resent(
    emulator: Emulator,
    make_api: MakeApi,
) -> None:
    emulator.inject(Fault(host="api", method="POST", path=DISPATCH, kind="reset", times=1))
    api = make_api(emulator)
    with pytest.raises(WriteOutcomeUnknownError, match="GitHub may have applied it"):
        api.post(DISPATCH, {"ref": "main"})
    assert len(api_posts(emulator, "/dispatches")) == 1


def test_dispatch_refused_by_a_secondary_limit_is_sent_again_after_retry_after(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    emulator.inject(
        Fault(host="api", method="POST", path=DISPATCH, kind="secondary_rate_limit", retry_after=30, times=1)
    )
    api = make_api(emulator)
    run_id = dispatch(api, correlation_id="c-2")
    assert run_id > 0
    assert clock.slept == [30.0]
    assert api.stats.rate_limit_waits == 1
    clock.advance(30)
    assert len(api.get(RUNS, {"event": "workflow_dispatch"}).data["workflow_runs"]) == 1


def test_writes_are_spaced_one_second_apart(api: GitHubApi, clock: ManualClock) -> None:
    dispatch(api, correlation_id="first")
    dispatch(api, correlation_id="second")
    assert clock.slept == [pytest.approx(1.0)]


# -- rate limits -----------------------------------------------------------------------------------


def test_secondary_limit_without_retry_after_waits_at_least_a_minute(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    emulator.inject(Fault(host="api", path="/repos/octo/app", kind="secondary_rate_limit", times=1))
    api = make_api(emulator)
    api.get("/repos/octo/app")
    assert clock.slept[0] >= 60


def test_primary_limit_waits_for_the_reset_when_it_fits_the_deadline(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    emulator.inject(Fault(host="api", path="/repos/octo/app", kind="primary_rate_limit", times=1))
    events: list[RetryEvent] = []
    api = make_api(emulator, on_retry=events.append)
    assert api.get("/repos/octo/app", deadline=clock.now() + 7200).status == 200
    assert [e.reason for e in events] == ["primary-rate-limit"]
    assert [r.status for r in emulator.requests] == [403, 200]
    # The window the 403 named has reset by the time the request was sent again.
    assert clock.slept == [events[0].wait]
    assert events[0].wait > 60
    assert emulator.requests[1].time >= emulator.requests[0].time + events[0].wait


def test_primary_limit_fails_at_once_when_the_reset_is_past_the_deadline(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    emulator.inject(Fault(host="api", path="/repos/octo/app", kind="primary_rate_limit", times=1))
    api = make_api(emulator)
    with pytest.raises(RateLimitExceededError, match="resets at") as caught:
        api.get("/repos/octo/app", deadline=clock.now() + 5)
    assert clock.slept == []
    assert "timeout" in caught.value.hint


def test_exhausting_the_anonymous_budget_is_reported_with_the_reset_time(
    start_emulator: StartEmulator, make_api: MakeApi, scenario_dict: dict[str, Any], clock: ManualClock
) -> None:
    scenario_dict["options"]["anonymous_rate_limit"] = 5
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator, token=None)
    for _ in range(5):
        api.get("/repos/octo/public", conditional=False)
    assert api.stats.rate_limit_remaining == 0
    with pytest.raises(RateLimitExceededError, match="primary rate limit"):
        api.get("/repos/octo/public", conditional=False, deadline=clock.now() + 60)


# -- conditional requests -------------------------------------------------------------------------


def test_polling_an_unchanged_run_is_answered_304_and_costs_nothing(
    api: GitHubApi, clock: ManualClock
) -> None:
    run_id = dispatch(api, correlation_id="c-3")
    first = api.get(f"{RUNS}/{run_id}")
    remaining = api.stats.rate_limit_remaining
    second = api.get(f"{RUNS}/{run_id}")
    assert second.status == 304 and second.from_cache
    assert second.data == first.data
    assert api.stats.not_modified == 1
    assert api.stats.rate_limit_remaining == remaining


def test_polling_a_changed_run_gets_the_new_state(api: GitHubApi, clock: ManualClock) -> None:
    run_id = dispatch(api, correlation_id="c-4")
    assert api.get(f"{RUNS}/{run_id}").data["status"] in {"requested", "queued"}
    clock.advance(600)
    later = api.get(f"{RUNS}/{run_id}")
    assert later.status == 200 and not later.from_cache
    assert (later.data["status"], later.data["conclusion"]) == ("completed", "success")


# -- pagination ------------------------------------------------------------------------------------


def test_paginate_follows_the_link_header_across_pages(
    start_emulator: StartEmulator, make_api: MakeApi, scenario_dict: dict[str, Any]
) -> None:
    scenario_dict["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": "c" * 40,
            "head_branch": "main",
            "created": -10 * (i + 1),
        }
        for i in range(230)
    ]
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator)
    ids = [run["id"] for run in api.paginate(RUNS, {"head_sha": "c" * 40}, items_key="workflow_runs")]
    assert len(ids) == len(set(ids)) == 230
    # GitHub's Link header points at /repositories/{id}/...: followed as given, not rebuilt.
    pages = [r for r in emulator.requests if r.path.endswith("/actions/runs")]
    assert len(pages) == 3
    assert pages[1].path.startswith("/repositories/")


def test_next_page_url_reads_githubs_link_format() -> None:
    header = (
        '<https://api.github.com/repositories/1/actions/runs?page=2>; rel="next", '
        '<https://api.github.com/repositories/1/actions/runs?page=5>; rel="last"'
    )
    assert next_page_url(header) == "https://api.github.com/repositories/1/actions/runs?page=2"
    assert next_page_url(None) is None
    assert next_page_url('<https://api.github.com/x?page=1>; rel="prev"') is None


def test_normalize_api_url_keeps_the_ghes_prefix() -> None:
    assert normalize_api_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/v3"
    with pytest.raises(UsageError, match="not an API URL"):
        normalize_api_url("ghe.example.com")
    with pytest.raises(UsageError, match="credentials"):
        normalize_api_url("https://user:pw@ghe.example.com/api/v3")


# -- artifact downloads ----------------------------------------------------------------------------


def completed_run_artifact(api: GitHubApi, clock: ManualClock) -> dict[str, Any]:
    run_id = dispatch(api, correlation_id="art")
    clock.advance(600)
    artifacts = api.get(f"{RUNS}/{run_id}/artifacts").data["artifacts"]
    assert len(artifacts) == 1
    return dict(artifacts[0])


def test_download_streams_the_zip_without_sending_the_token_to_storage(
    api: GitHubApi, emulator: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    artifact = completed_run_artifact(api, clock)
    result = api.download_artifact(artifact["archive_download_url"], tmp_path / "a.zip")

    assert result.size == artifact["size_in_bytes"] == (tmp_path / "a.zip").stat().st_size
    assert f"sha256:{result.sha256}" == artifact["digest"]
    assert hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest() == result.sha256
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.read("app.txt") == b"hello from the build\n"
    blob_requests = [r for r in emulator.requests if r.host == "blob"]
    assert blob_requests
    assert all("authorization" not in {k.lower() for k in r.headers} for r in blob_requests)


def test_download_cut_mid_stream_is_retried_from_a_fresh_url(
    start_emulator: StartEmulator,
    make_api: MakeApi,
    scenario_dict: dict[str, Any],
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    scenario_dict["repos"]["octo/app"]["workflows"][0]["artifacts"] = [{"name": "package", "size": 300_000}]
    emulator = start_emulator(scenario_dict)
    emulator.inject(Fault(host="blob", path="*", kind="cut_stream", after_bytes=1000, times=1))
    api = make_api(emulator)
    artifact = completed_run_artifact(api, clock)
    result = api.download_artifact(artifact["archive_download_url"], tmp_path / "a.zip")
    assert result.size == artifact["size_in_bytes"]
    assert f"sha256:{result.sha256}" == artifact["digest"]
    assert len([r for r in emulator.requests if r.host == "blob"]) == 2
    assert len([r for r in emulator.requests if r.path.endswith("/zip")]) == 2  # a fresh signed URL each try
    assert api.stats.retries == 1


def test_a_signed_url_that_expired_on_the_way_is_asked_for_again(
    api: GitHubApi, emulator: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    artifact = completed_run_artifact(api, clock)
    # The storage host refuses the first signed URL, as Azure does once its minute is up.
    emulator.inject(Fault(host="blob", path="*", status=403, times=1))
    result = api.download_artifact(artifact["archive_download_url"], tmp_path / "a.zip")
    assert f"sha256:{result.sha256}" == artifact["digest"]
    assert len([r for r in emulator.requests if r.path.endswith("/zip")]) == 2  # a fresh signed URL
    assert api.stats.retries == 1


def test_a_storage_host_that_keeps_refusing_fails_after_the_policy_attempts(
    api: GitHubApi, emulator: Emulator, clock: ManualClock, tmp_path: Path
) -> None:
    artifact = completed_run_artifact(api, clock)
    emulator.inject(Fault(host="blob", path="*", status=403, times=None))
    with pytest.raises(GitHubApiError, match="artifact storage answered 403"):
        api.download_artifact(artifact["archive_download_url"], tmp_path / "a.zip")
    assert len([r for r in emulator.requests if r.host == "blob"]) == api.policy.attempts


def test_download_of_an_expired_artifact_is_gone(
    start_emulator: StartEmulator,
    make_api: MakeApi,
    scenario_dict: dict[str, Any],
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    scenario_dict["repos"]["octo/app"]["workflows"][0]["artifacts"][0]["retention_days"] = 1
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator)
    artifact = completed_run_artifact(api, clock)
    clock.advance(2 * 86400)
    with pytest.raises(GitHubApiError, match="410"):
        api.download_artifact(artifact["archive_download_url"], tmp_path / "a.zip")


def test_a_ghes_base_url_keeps_its_api_v3_prefix_on_every_request(
    scenario_dict: dict[str, Any], clock: ManualClock
) -> None:
    from wait_and_dispatch.emulator import Scenario

    with Emulator(Scenario.from_dict(scenario_dict), clock=clock, path_prefix="/api/v3") as ghes:
        assert ghes.api_url.endswith("/api/v3")
        api = GitHubApi(base_url=ghes.api_url + "/", token=ghes.token("dev"), clock=clock)
        run_id = dispatch(api, correlation_id="ghes")
        clock.advance(10)
        assert api.get(f"{RUNS}/{run_id}").data["id"] == run_id
        runs = list(api.paginate(RUNS, items_key="workflow_runs"))
        assert [run["id"] for run in runs] == [run_id]
        api.close()


def test_concurrent_writes_from_many_threads_are_still_one_second_apart(
    api: GitHubApi, emulator: Emulator
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        run_ids = list(pool.map(lambda n: dispatch(api, correlation_id=f"t-{n}"), range(8)))
    assert len(set(run_ids)) == 8
    times = sorted(r.time for r in api_posts(emulator, "/dispatches"))
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))


def test_a_304_for_a_page_keeps_the_link_to_the_next_page(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    # A 304 need not repeat `Link` (RFC 9110 15.4.5 lists the headers it must carry; Link is not
    # among them): pagination must use the Link of the answer the 304 stands for.
    scenario_dict["repos"]["octo/app"]["runs"] = [
        {"workflow": "build.yml", "event": "push", "head_sha": "a" * 40, "head_branch": "main", "created": -i}
        for i in range(150)
    ]
    api = make_api(start_emulator(scenario_dict))
    first = list(api.paginate(RUNS, items_key="workflow_runs"))
    again = list(api.paginate(RUNS, items_key="workflow_runs"))
    assert len(first) == len(again) == 150
    assert api.stats.not_modified == 2


def test_requests_are_paced_to_stay_under_the_secondary_points_limit(
    start_emulator: StartEmulator, make_api: MakeApi, scenario_dict: dict[str, Any], clock: ManualClock
) -> None:
    # Scaled down from GitHub's 900 points a minute: the emulator refuses past 90, we plan for 60.
    scenario_dict["options"]["secondary_points_per_minute"] = 90
    emulator = start_emulator(scenario_dict)
    api = make_api(emulator, policy=RetryPolicy(points_per_minute=60))
    start = clock.now()
    for _ in range(150):
        api.get("/repos/octo/app")
    assert all(r.status in (200, 304) for r in emulator.requests), "no secondary-limit answer"
    assert api.stats.paced_waits > 0 and api.stats.retries == 0
    assert clock.now() - start >= 120, "150 points at 60 a minute take two minutes and more"
    assert api.points_in_last_minute() <= 60


def test_the_retry_machinery_is_imported_only_once_a_request_fails(tmp_path: Path) -> None:
    """Start-up: a run's first request must not pay for importing tenacity."""
    import subprocess
    import sys

    probe = (
        "import sys, wait_and_dispatch.github_api, wait_and_dispatch.cli.main; "
        "print('tenacity' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.strip() == "False"


def test_the_first_request_imports_neither_pygithub_requests_yaml_nor_tenacity(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A run's first request pays for the standard library only: `requests` and `urllib3` come with
    a download, tenacity with a failed request, and PyGithub and YAML never with the API layer."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from wait_and_dispatch.github_api import GitHubApi\n"
        f"api = GitHubApi(base_url={emulator.api_url!r}, token={emulator.token('dev')!r})\n"
        "assert api.get('/repos/octo/app').status == 200\n"
        "heavy = ('github', 'requests', 'urllib3', 'yaml', 'tenacity')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.strip() == "[]"
    assert [r.path for r in emulator.requests] == ["/repos/octo/app"]


def test_the_servers_time_is_read_from_its_date_header_and_runs_on_with_our_clock(
    start_emulator: Callable[[dict[str, Any]], Emulator],
    scenario_dict: dict[str, Any],
    make_api: Callable[..., GitHubApi],
    clock: ManualClock,
) -> None:
    scenario_dict["options"]["clock_offset"] = -3.5
    api = make_api(start_emulator(scenario_dict))
    assert api.server_time() is None, "no answer yet"
    api.get("/repos/octo/app")
    clock.advance(10)
    # `Date` has whole seconds: GitHub's 1767225596.5 is shown as ...596, never later.
    assert api.server_time() == clock.now() - 4


def test_an_interrupt_held_for_a_dispatch_is_raised_before_its_retry_wait(
    emulator: Emulator, make_api: MakeApi, clock: ManualClock
) -> None:
    # A signal held while a dispatch was on the wire: the answer is a refusal that names no run,
    # so the stop comes now, neither after the `retry-after` pause nor with a second dispatch.
    emulator.inject(
        Fault(host="api", method="POST", path=DISPATCH, kind="secondary_rate_limit", retry_after=30, times=1)
    )
    api = make_api(emulator)
    steps: list[str] = []
    with interrupt_on_termination():
        try:
            with write_in_flight():
                with on_the_wire():
                    os.kill(os.getpid(), signal.SIGTERM)  # held
                dispatch(api, correlation_id="c-3")
                steps.append("dispatched")
        except KeyboardInterrupt:
            steps.append("interrupted")
    assert steps == ["interrupted"]
    assert clock.slept == []
    assert len(api_posts(emulator, "/dispatches")) == 1
