"""The API layer and GitHub as it is today: REST API version 2026-03-10 with a fallback for servers
that predate it, redirects of renamed repositories, and answers that are not what GitHub sends.

Everything goes over HTTP: to the emulator, or through the tampering proxy (tests/support/tamper.py)
in front of it where an answer must be one GitHub would not give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.tamper import Rewrite, TamperingProxy, chain, edit_json, replace_body, set_headers
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.dispatch import Dispatcher
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.engine.requests import RunRequest
from wait_and_dispatch.github_api import ApiNotice, GitHubApi, RetryPolicy
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import (
    ExitCode,
    GitHubApiError,
    MalformedAnswerError,
    RateLimitExceededError,
    ValidationFailedError,
)

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]
DISPATCH = "/repos/octo/app/actions/workflows/build.yml/dispatches"


def version_of(request: Any) -> str | None:
    return {k.lower(): v for k, v in request.headers.items()}.get("x-github-api-version")


def ghes(scenario: dict[str, Any]) -> dict[str, Any]:
    """GHES 3.20: knows neither `return_run_details` nor API version 2026-03-10."""
    scenario["options"].update(return_run_details=False, enterprise_version="3.20.1")
    return scenario


@pytest.fixture
def proxied(emulator: Emulator, clock: ManualClock) -> Iterator[tuple[TamperingProxy, GitHubApi]]:
    with TamperingProxy(emulator.api_url) as proxy:
        api = GitHubApi(
            base_url=proxy.url, token=emulator.token("dev"), clock=clock, policy=RetryPolicy(), timeout=10
        )
        with api:
            yield proxy, api


# -- API version --------------------------------------------------------------------------------


def test_github_com_is_spoken_to_in_2026_03_10(api: GitHubApi, emulator: Emulator) -> None:
    api.get("/repos/octo/app")
    assert [version_of(r) for r in emulator.requests] == ["2026-03-10"]
    assert api.api_version == "2026-03-10"


def test_a_server_refusing_2026_03_10_is_asked_again_once_in_2022_11_28_and_remembered(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(ghes(scenario_dict))
    notices: list[ApiNotice] = []
    api = make_api(emulator, on_notice=notices.append)
    assert api.get("/repos/octo/app").data["default_branch"] == "main"
    api.get("/repos/octo/app/actions/runs")
    sent = [(version_of(r), r.status) for r in emulator.requests]
    assert sent == [("2026-03-10", 400), ("2022-11-28", 200), ("2022-11-28", 200)]
    assert api.api_version == "2022-11-28"
    assert [n.kind for n in notices] == ["api-version"]


def test_a_write_refused_for_its_version_is_sent_again_once_and_applied_once(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi, clock: ManualClock
) -> None:
    emulator = start_emulator(ghes(scenario_dict))
    api = make_api(emulator)
    answer = api.post(DISPATCH, {"ref": "main"})
    assert answer.status == 204
    assert [(version_of(r), r.status) for r in emulator.writes()] == [
        ("2026-03-10", 400),
        ("2022-11-28", 204),
    ]
    clock.advance(60)
    runs = api.get("/repos/octo/app/actions/runs", {"event": "workflow_dispatch"}).data
    assert runs["total_count"] == 1


def test_a_server_that_refuses_both_versions_is_not_asked_a_third_time(
    proxied: tuple[TamperingProxy, GitHubApi], emulator: Emulator
) -> None:
    proxy, api = proxied
    refusal = (
        b'{"message": "The version you specified in the \\"X-GitHub-API-Version\\" request header, '
        b'\\"x\\", is not a supported version.", "documentation_url": "https://docs.github.com/rest"}'
    )
    proxy.tamper("GET", "*", replace_body(refusal, "application/json; charset=utf-8", status=400))
    with pytest.raises(ValidationFailedError) as caught:
        api.get("/repos/octo/app")
    assert len(emulator.requests) == 2
    assert "2026-03-10" in caught.value.hint and "2022-11-28" in caught.value.hint


def test_deprecation_and_sunset_headers_are_said_once(
    proxied: tuple[TamperingProxy, GitHubApi], emulator: Emulator
) -> None:
    proxy, api = proxied
    notices: list[ApiNotice] = []
    api.on_notice = notices.append
    proxy.tamper(
        "GET",
        "*",
        set_headers(
            Deprecation="Sat, 01 Nov 2026 00:00:00 GMT",
            Sunset="Wed, 10 Mar 2028 00:00:00 GMT",
            Link='<https://docs.github.com/rest/about-the-rest-api/breaking-changes>; rel="deprecation"',
        ),
    )
    for _ in range(3):
        api.get("/repos/octo/app", conditional=False)
    assert [n.kind for n in notices] == ["deprecation"]
    message = notices[0].message
    assert (
        "Wed, 10 Mar 2028" in message and "breaking-changes" in message and "GET /repos/octo/app" in message
    )


# -- GHES as it is --------------------------------------------------------------------------------


def test_ghes_serves_the_api_under_api_v3_without_rate_limits(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(ghes(scenario_dict))
    assert emulator.api_url.endswith("/api/v3")
    api = make_api(emulator)
    answer = api.get("/repos/octo/app")
    assert not [name for name in answer.headers if name.lower().startswith("x-ratelimit")]
    assert api.stats.rate_limit_remaining is None
    with pytest.raises(GitHubApiError, match="Rate limiting is not enabled"):
        api.get("/rate_limit")


# -- redirects ------------------------------------------------------------------------------------


def redirect(status: int) -> Rewrite:
    return replace_body(b'{"message": "Moved Permanently"}', "application/json", status=status)


def renamed(scenario: dict[str, Any]) -> dict[str, Any]:
    scenario["repos"]["octo/app"]["renamed_from"] = ["octo/old-app"]
    return scenario


def test_a_renamed_repository_is_followed_with_the_token_and_the_move_remembered(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(renamed(scenario_dict))
    notices: list[ApiNotice] = []
    api = make_api(emulator, on_notice=notices.append)
    assert api.get("/repos/octo/old-app").data["full_name"] == "octo/app"
    assert api.get("/repos/octo/old-app").data["full_name"] == "octo/app"
    statuses = [(r.path, r.status) for r in emulator.requests]
    repo_id = api.get("/repos/octo/app").data["id"]
    assert statuses == [
        ("/repos/octo/old-app", 301),
        (f"/repositories/{repo_id}", 200),
        (f"/repositories/{repo_id}", 304),  # the second read goes to the new place directly
    ]
    assert all(r.headers.get("Authorization") == "<redacted>" for r in emulator.requests)
    assert [n.kind for n in notices] == ["moved"]


def test_a_write_to_a_renamed_repository_follows_its_307_once(
    start_emulator: StartEmulator, scenario_dict: dict[str, Any], make_api: MakeApi
) -> None:
    emulator = start_emulator(renamed(scenario_dict))
    api = make_api(emulator)
    answer = api.post("/repos/octo/old-app/actions/workflows/build.yml/dispatches", {"ref": "main"})
    assert answer.status == 200
    assert [r.status for r in emulator.writes()] == [307, 200]


def test_a_redirect_to_another_host_is_refused_and_the_token_stays_home(
    proxied: tuple[TamperingProxy, GitHubApi], emulator: Emulator
) -> None:
    proxy, api = proxied
    elsewhere = "http://127.0.0.1:9/steal"
    proxy.tamper("GET", "/repos/octo/app", chain(redirect(301), set_headers(Location=elsewhere)))
    with pytest.raises(GitHubApiError, match="outside the API") as caught:
        api.get("/repos/octo/app")
    assert caught.value.exit_code is ExitCode.GITHUB_API
    assert "not sent there" in caught.value.message
    assert len(emulator.requests) == 1


def test_a_write_answered_301_is_not_sent_again_as_anything(
    proxied: tuple[TamperingProxy, GitHubApi], emulator: Emulator
) -> None:
    proxy, api = proxied

    proxy.tamper(
        "POST", "*", chain(redirect(301), set_headers(Location=f"{proxy.url}/repositories/1/dispatches"))
    )
    with pytest.raises(GitHubApiError, match="was not sent again"):
        api.post("/repos/octo/app/dispatches", {"event_type": "x"})
    assert len(emulator.writes()) == 1


def test_a_redirect_loop_ends_after_a_few_hops(
    proxied: tuple[TamperingProxy, GitHubApi], emulator: Emulator
) -> None:
    proxy, api = proxied

    proxy.tamper("GET", "*", chain(redirect(307), set_headers(Location=f"{proxy.url}/repos/octo/app")))
    with pytest.raises(GitHubApiError, match="still redirected after 5 redirects"):
        api.get("/repos/octo/app")
    assert len(emulator.requests) == 6


# -- malformed answers ----------------------------------------------------------------------------


def test_an_html_page_with_200_is_a_malformed_answer_not_a_traceback(
    proxied: tuple[TamperingProxy, GitHubApi],
) -> None:
    proxy, api = proxied
    proxy.tamper(
        "GET", "/repos/octo/app", replace_body(b"<html><body>Sign in to the Wi-Fi</body></html>", "text/html")
    )
    with pytest.raises(MalformedAnswerError) as caught:
        api.get("/repos/octo/app")
    assert caught.value.exit_code is ExitCode.GITHUB_API
    assert "\n" not in caught.value.message and "text/html" in caught.value.message
    assert "proxy" in caught.value.hint


def test_a_list_that_is_not_a_list_is_a_malformed_answer(proxied: tuple[TamperingProxy, GitHubApi]) -> None:
    proxy, api = proxied
    proxy.tamper("GET", "/repos/octo/app/actions/runs", edit_json(lambda data: data.update(workflow_runs=5)))
    with pytest.raises(MalformedAnswerError, match="no list of workflow_runs"):
        list(api.paginate("/repos/octo/app/actions/runs", items_key="workflow_runs"))


@pytest.mark.parametrize("value", ["1e400", "-1e400", "inf", "99999999999999999999"])
def test_rate_limit_headers_that_are_not_numbers_github_sends_are_ignored(
    proxied: tuple[TamperingProxy, GitHubApi], value: str
) -> None:
    proxy, api = proxied
    proxy.tamper(
        "GET", "*", set_headers(x_ratelimit_reset=value, x_ratelimit_remaining=value, retry_after=value)
    )
    api.get("/repos/octo/app")
    assert api.stats.rate_limit_reset is None and api.stats.rate_limit_remaining is None


def test_a_primary_limit_with_a_reset_of_1e400_is_a_rate_limit_error_not_a_traceback(
    proxied: tuple[TamperingProxy, GitHubApi],
) -> None:
    proxy, api = proxied
    refusal = b'{"message": "API rate limit exceeded for user ID 1."}'
    proxy.tamper(
        "GET",
        "*",
        chain(
            replace_body(refusal, "application/json", status=403),
            set_headers(x_ratelimit_remaining="0", x_ratelimit_reset="1e400"),
        ),
    )
    with api.deadline_scope(api.clock.now() + 30), pytest.raises(RateLimitExceededError) as caught:
        api.get("/repos/octo/app")
    assert "an unknown time" in caught.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", None), ("id", "abc"), ("conclusion", ["success"]), ("head_branch", 7), ("actor", "octocat")],
)
def test_a_run_with_a_field_of_the_wrong_type_is_a_malformed_answer_at_the_boundary(
    proxied: tuple[TamperingProxy, GitHubApi], emulator: Emulator, field: str, value: Any
) -> None:
    proxy, api = proxied
    run_id = (
        Dispatcher(api).find_or_dispatch(RunRequest(Repository("octo", "app"), workflow="build.yml")).run.id
    )
    proxy.tamper(
        "GET", f"/repos/octo/app/actions/runs/{run_id}", edit_json(lambda data: data.update({field: value}))
    )
    with pytest.raises(MalformedAnswerError, match="not a workflow run as its API describes it") as caught:
        workflow_runs.get_run(api, Repository("octo", "app"), run_id)
    assert "\n" not in caught.value.message
