"""Faults: injected failures of GitHub and its storage host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.emulator.conftest import Http
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.support.clock import ManualClock


def test_status_fault_answers_that_status_for_times_requests(http: Http, emu: Emulator) -> None:
    emu.inject(Fault(path="/repos/*/actions/runs", status=502, times=2))
    statuses = [http.get("/repos/octo/app/actions/runs").status_code for _ in range(3)]
    assert statuses == [502, 502, 200]


def test_after_lets_the_first_requests_through(http: Http, emu: Emulator) -> None:
    emu.inject(Fault(path="/repos/octo/app", status=500, times=1, after=1))
    assert [http.get("/repos/octo/app").status_code for _ in range(3)] == [200, 500, 200]


def test_method_and_host_narrow_the_match(http: Http, emu: Emulator) -> None:
    emu.inject(Fault(path="/repos/*", method="POST", status=503, times=None))
    assert http.get("/repos/octo/app").status_code == 200
    assert http.dispatch().status_code == 503


def test_scenario_faults_apply_from_the_start(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["faults"] = [{"host": "api", "method": "GET", "path": "/repos/*/actions/runs/*", "status": 502}]
    http = Http(start(scenario))
    run_id = http.dispatch_run_id()
    assert http.get(f"/repos/octo/app/actions/runs/{run_id}").status_code == 502
    assert http.get(f"/repos/octo/app/actions/runs/{run_id}").status_code == 200


def test_secondary_rate_limit_answers_403_with_retry_after(http: Http, emu: Emulator) -> None:
    emu.inject(Fault(path="*", kind="secondary_rate_limit", retry_after=30))
    response = http.get("/repos/octo/app")
    assert response.status_code == 403
    assert response.headers["Retry-After"] == "30"
    assert "secondary rate limit" in response.json()["message"]


def test_primary_rate_limit_fault_reports_remaining_zero(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    emu.inject(Fault(path="*", kind="primary_rate_limit"))
    response = http.get("/repos/octo/app")
    assert response.status_code == 403
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > clock.now()
    assert "API rate limit exceeded" in response.json()["message"]


@pytest.mark.slow
def test_slow_fault_delays_the_answer(http: Http, emu: Emulator) -> None:
    emu.inject(Fault(path="/repos/octo/app", kind="slow", delay=0.2))
    response = http.get("/repos/octo/app")
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.2


def test_reset_fault_closes_the_connection_without_an_answer(http: Http, emu: Emulator) -> None:
    emu.inject(Fault(path="/repos/octo/app", kind="reset"))
    with pytest.raises(requests.ConnectionError):
        http.get("/repos/octo/app")
    assert emu.requests[-1].status == 0
    assert http.get("/repos/octo/app").status_code == 200


def test_apply_then_fail_applies_the_dispatch_and_answers_502(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    emu.inject(Fault(path="*/dispatches", method="POST", kind="apply_then_fail", status=502))
    assert http.dispatch().status_code == 502
    clock.advance(5)
    assert (
        http.get("/repos/octo/app/actions/runs", params={"event": "workflow_dispatch"}).json()["total_count"]
        == 1
    )


def test_cut_stream_sends_part_of_the_body_then_closes(http: Http, emu: Emulator, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    clock.advance(200)
    artifact = http.get(f"/repos/octo/app/actions/runs/{run_id}/artifacts").json()["artifacts"][0]
    location = http.get(artifact["archive_download_url"], allow_redirects=False).headers["Location"]
    emu.inject(Fault(host="blob", path="/artifacts/*", kind="cut_stream", after_bytes=50))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(location, timeout=10).raise_for_status()
    assert len(requests.get(location, timeout=10).content) == artifact["size_in_bytes"]


def _blob_location(http: Http, clock: ManualClock) -> tuple[str, dict[str, Any]]:
    run_id = http.dispatch_run_id()
    clock.advance(200)
    artifact = http.get(f"/repos/octo/app/actions/runs/{run_id}/artifacts").json()["artifacts"][0]
    return http.get(artifact["archive_download_url"], allow_redirects=False).headers["Location"], artifact


def test_trickle_sends_the_body_in_pieces_as_the_emulator_clock_moves(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    location, artifact = _blob_location(http, clock)
    emu.inject(Fault(host="blob", path="/artifacts/*", kind="trickle", after_bytes=16, delay=0.5))
    start = clock.now()
    body = requests.get(location, timeout=10).content
    assert len(body) == artifact["size_in_bytes"]
    assert clock.now() - start == pytest.approx(0.5 * (-(-len(body) // 16) - 1))


def test_stall_sends_part_of_the_body_waits_then_closes(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    location, _ = _blob_location(http, clock)
    emu.inject(Fault(host="blob", path="/artifacts/*", kind="stall", after_bytes=50, delay=60))
    start = clock.now()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(location, timeout=10).raise_for_status()
    assert clock.now() - start == 60


def test_content_encoding_sends_the_body_compressed_as_a_proxy_does(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    location, artifact = _blob_location(http, clock)
    emu.inject(Fault(host="blob", path="/artifacts/*", kind="content_encoding"))
    response = requests.get(location, timeout=10)
    assert response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) != artifact["size_in_bytes"]
    assert len(response.content) == artifact["size_in_bytes"]  # requests decodes it


def test_redirect_answers_302_elsewhere(http: Http, emu: Emulator, clock: ManualClock) -> None:
    location, _ = _blob_location(http, clock)
    emu.inject(Fault(host="blob", path="/artifacts/*", kind="redirect"))
    response = requests.get(location, timeout=10, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("http://proxy.invalid/")


def test_blob_status_fault_answers_an_azure_error(http: Http, emu: Emulator) -> None:
    emu.inject(Fault(host="blob", path="*", status=503))
    response = requests.get(f"{emu.blob_url}/artifacts/1/x.zip", timeout=10)
    assert response.status_code == 503
    assert "<Code>ServerBusy</Code>" in response.text


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="explode")


def test_a_fault_with_since_and_until_is_an_outage_in_time(
    http: Http, emu: Emulator, clock: ManualClock
) -> None:
    emu.inject(Fault(path="/repos/octo/app", status=503, times=None, since=10, until=40))
    statuses = []
    for _ in range(6):
        statuses.append(http.get("/repos/octo/app").status_code)
        clock.advance(10)
    assert statuses == [200, 503, 503, 503, 200, 200]
