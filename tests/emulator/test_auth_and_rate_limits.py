"""Authentication, hidden repositories, primary rate limits and conditional requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import github
import pytest

from tests.emulator.conftest import Http
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.support.clock import ManualClock


def test_unknown_token_answers_401_bad_credentials(http: Http, emu: Emulator) -> None:
    response = http.session.get(f"{emu.api_url}/repos/octo/app", headers={"Authorization": "token nope"})
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_private_repo_outside_the_token_answers_404(http: Http) -> None:
    assert http.get("/repos/octo/secret", token="ci").status_code == 404
    assert http.get("/repos/octo/secret", token="dev").status_code == 200


def test_anonymous_requests_see_public_repositories_only(http: Http) -> None:
    assert http.get("/repos/octo/public", token=None).status_code == 200
    assert http.get("/repos/octo/app", token=None).status_code == 404


def test_anonymous_requests_cannot_write(http: Http) -> None:
    assert http.post("/repos/octo/public/dispatches", {"event_type": "x"}, token=None).status_code == 401


def test_unknown_repository_answers_404_not_found(http: Http) -> None:
    response = http.get("/repos/octo/missing")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"


def test_unknown_api_version_answers_400(http: Http) -> None:
    assert http.get("/repos/octo/app", headers={"X-GitHub-Api-Version": "1999-01-01"}).status_code == 400


@pytest.mark.parametrize(("token", "limit"), [("dev", 5000), ("ci", 1000), (None, 60)])
def test_budget_per_token_kind(http: Http, token: str | None, limit: int) -> None:
    response = http.get("/repos/octo/public", token=token)
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == str(limit - 1)
    assert response.headers["X-RateLimit-Used"] == "1"
    assert response.headers["X-RateLimit-Resource"] == "core"


def test_every_answer_carries_rate_limit_headers_and_a_request_id(http: Http) -> None:
    for response in (http.get("/repos/octo/app"), http.get("/repos/octo/missing"), http.dispatch()):
        assert "X-RateLimit-Remaining" in response.headers
        assert response.headers["X-GitHub-Request-Id"]


def test_rate_limit_resets_an_hour_after_the_first_request(http: Http, clock: ManualClock) -> None:
    first = http.get("/repos/octo/app")
    assert int(first.headers["X-RateLimit-Reset"]) == int(clock.now()) + 3600
    clock.advance(3600)
    assert http.get("/repos/octo/app").headers["X-RateLimit-Remaining"] == "4999"


def test_exhausted_budget_answers_403_until_reset(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["tokens"]["dev"]["rate_limit"] = 2
    http = Http(start(scenario))
    assert [http.get("/repos/octo/app").status_code for _ in range(2)] == [200, 200]
    response = http.get("/repos/octo/app")
    assert response.status_code == 403
    assert response.json()["message"].startswith("API rate limit exceeded for user ID")
    assert response.headers["X-RateLimit-Remaining"] == "0"
    clock.advance(3600)
    assert http.get("/repos/octo/app").status_code == 200


def test_exhausted_budget_refuses_writes_without_applying_them(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    scenario["tokens"]["ci"]["rate_limit"] = 1
    http = Http(start(scenario))
    http.get("/repos/octo/app", token="ci")
    assert http.dispatch(token="ci").status_code == 403
    clock.advance(5)
    assert (
        http.get("/repos/octo/app/actions/runs", params={"event": "workflow_dispatch"}).json()["total_count"]
        == 0
    )


def test_rate_limit_endpoint_does_not_spend_budget(http: Http) -> None:
    http.get("/rate_limit")
    body = http.get("/rate_limit").json()
    assert body["resources"]["core"]["remaining"] == 5000
    assert body["rate"]["limit"] == 5000


def test_json_answers_carry_a_weak_etag(http: Http) -> None:
    response = http.get("/repos/octo/app")
    assert response.headers["ETag"].startswith('W/"')
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_if_none_match_answers_304_without_spending_budget(http: Http) -> None:
    first = http.get("/repos/octo/app/actions/runs")
    again = http.get("/repos/octo/app/actions/runs", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]


def test_etag_changes_when_the_run_changes(http: Http, clock: ManualClock) -> None:
    run_id = http.dispatch_run_id()
    first = http.get(f"/repos/octo/app/actions/runs/{run_id}")
    clock.advance(10)
    again = http.get(
        f"/repos/octo/app/actions/runs/{run_id}", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 200
    assert again.json()["status"] == "in_progress"


def test_pygithub_sees_bad_credentials(emu: Emulator) -> None:
    client = github.Github(base_url=emu.api_url, auth=github.Auth.Token("wrong"), retry=None)
    with pytest.raises(github.BadCredentialsException):
        client.get_repo("octo/app")
    client.close()


def test_pygithub_sees_the_rate_limit(gh: github.Github) -> None:
    assert gh.get_rate_limit().resources.core.limit == 5000


def test_request_log_redacts_authorization(http: Http, emu: Emulator) -> None:
    http.dispatch()
    entry = emu.writes()[-1]
    assert entry.headers["Authorization"] == "<redacted>"
    assert (entry.method, entry.status, entry.token_name) == ("POST", 204, "dev")
    assert entry.body == {"ref": "main", "inputs": {"environment": "dev"}}
    assert emu.requests_to("/repos/octo/app/dispatches") == []
    assert len(emu.requests_to("/repos/octo/app/actions/workflows/*/dispatches")) == 1


def test_x_poll_interval_is_sent_on_get_answers_when_the_scenario_asks(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario.setdefault("options", {})["poll_interval_header"] = 60
    emu = start(scenario)
    client = Http(emu)
    assert client.get("/repos/octo/app").headers["X-Poll-Interval"] == "60"
    assert "X-Poll-Interval" not in client.post("/repos/octo/app/dispatches", {"event_type": "x"}).headers


def test_the_secondary_limit_refuses_the_point_past_the_minutes_budget(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any], clock: ManualClock
) -> None:
    # GitHub: 900 points a minute for REST; a GET is 1 point, a write 5 ("Rate limits for the REST API").
    scenario.setdefault("options", {})["secondary_points_per_minute"] = 12
    emu = start(scenario)
    client = Http(emu)
    assert client.post("/repos/octo/app/dispatches", {"event_type": "x"}).status_code == 204
    assert [client.get("/repos/octo/app").status_code for _ in range(8)] == [200] * 7 + [403]
    refused = client.get("/repos/octo/app")
    assert "secondary rate limit" in refused.json()["message"]
    assert int(refused.headers["Retry-After"]) == 60
    clock.advance(60)
    assert client.get("/repos/octo/app").status_code == 200
