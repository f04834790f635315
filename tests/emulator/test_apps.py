"""The emulator's GitHub App endpoints: a JWT signed by the App's key, installations, and
installation tokens that are scoped, expire after an hour and can revoke themselves.

GitHub's behaviour: REST "Apps" (GET /app, GET /repos/{owner}/{repo}/installation, GET
/orgs/{org}/installation, GET /users/{username}/installation, POST
/app/installations/{installation_id}/access_tokens, DELETE /installation/token) and "Generating a
JSON Web Token (JWT) for a GitHub App" (RS256, `iss` the App id, `exp` at most 10 minutes ahead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests

from tests.support.github_app import APP_ID, APP_SLUG, INSTALLATION_ID, app_keys, with_app
from tests.support.openapi import OpenApiSpec, assert_conforms
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.support.clock import ManualClock


def app_jwt(private_pem: str | None = None, *, iss: str = str(APP_ID), lifetime: int = 540) -> str:
    now = int(time.time())
    return jwt.encode(
        {"iat": now - 60, "exp": now + lifetime, "iss": iss}, private_pem or app_keys().private_pem, "RS256"
    )


def call(emu: Emulator, method: str, path: str, credential: str | None, **kwargs: Any) -> requests.Response:
    headers = {"Accept": "application/vnd.github+json"}
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    return requests.request(method, emu.api_url + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def app_emu(start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]) -> Emulator:
    return start(with_app(scenario, "octo", repos=["octo/app", "octo/secret"]))


def mint(emu: Emulator, **body: Any) -> requests.Response:
    return call(emu, "POST", f"/app/installations/{INSTALLATION_ID}/access_tokens", app_jwt(), json=body)


def test_get_app_with_the_apps_jwt_describes_the_app(app_emu: Emulator) -> None:
    response = call(app_emu, "GET", "/app", app_jwt())
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["slug"]) == (APP_ID, APP_SLUG)


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(lambda: app_jwt(app_keys(1).private_pem), id="signed by another key"),
        pytest.param(lambda: app_jwt(iss=str(APP_ID + 1)), id="another app's id"),
        pytest.param(lambda: app_jwt(lifetime=3600), id="expiring more than ten minutes ahead"),
        pytest.param(lambda: app_jwt(lifetime=-120), id="expired"),
        pytest.param(lambda: "ghp_dev", id="a personal access token"),
    ],
)
def test_the_app_endpoints_refuse_anything_but_a_valid_app_jwt(
    app_emu: Emulator, credential: Callable[[], str]
) -> None:
    assert call(app_emu, "GET", "/app", credential()).status_code == 401


def test_the_installation_of_a_repository_is_found_only_where_the_app_is_installed(app_emu: Emulator) -> None:
    found = call(app_emu, "GET", "/repos/octo/app/installation", app_jwt())
    assert found.status_code == 200 and found.json()["id"] == INSTALLATION_ID
    assert found.json()["account"]["login"] == "octo"
    assert call(app_emu, "GET", "/repos/octo/public/installation", app_jwt()).status_code == 404
    assert call(app_emu, "GET", "/orgs/octo/installation", app_jwt()).json()["id"] == INSTALLATION_ID
    assert call(app_emu, "GET", "/users/someone-else/installation", app_jwt()).status_code == 404


def test_a_token_scoped_to_one_repository_reaches_it_and_no_other(app_emu: Emulator) -> None:
    minted = mint(app_emu, repositories=["app"])
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    assert token.startswith("ghs_") and minted.json()["repository_selection"] == "selected"
    assert call(app_emu, "GET", "/repos/octo/app/actions/runs", token).status_code == 200
    assert call(app_emu, "GET", "/repos/octo/secret/actions/runs", token).status_code == 404


def test_a_repository_outside_the_installation_is_refused_with_githubs_message(app_emu: Emulator) -> None:
    refused = mint(app_emu, repositories=["public"])
    assert refused.status_code == 422
    assert "not accessible to the parent installation" in refused.json()["message"]


def test_permissions_beyond_the_installations_are_refused(app_emu: Emulator) -> None:
    assert mint(app_emu, permissions={"contents": "write"}).status_code == 422
    narrowed = mint(app_emu, permissions={"actions": "read"})
    assert narrowed.status_code == 201 and narrowed.json()["permissions"]["actions"] == "read"


def test_a_revoked_token_is_refused_and_recorded(app_emu: Emulator) -> None:
    token = mint(app_emu, repositories=["app"]).json()["token"]
    assert call(app_emu, "DELETE", "/installation/token", token).status_code == 204
    assert call(app_emu, "GET", "/repos/octo/app/actions/runs", token).status_code == 401
    assert len(app_emu.state.revoked_tokens) == 1


def test_only_an_installation_token_can_revoke_itself(app_emu: Emulator) -> None:
    assert call(app_emu, "DELETE", "/installation/token", "ghp_dev").status_code == 403
    assert call(app_emu, "DELETE", "/installation/token", None).status_code == 401


def test_an_installation_token_expires_after_an_hour(app_emu: Emulator, clock: ManualClock) -> None:
    token = mint(app_emu).json()["token"]
    clock.advance(3599)
    assert call(app_emu, "GET", "/repos/octo/app", token).status_code == 200
    clock.advance(2)
    assert call(app_emu, "GET", "/repos/octo/app", token).status_code == 401


def test_the_app_endpoints_answer_as_githubs_openapi_description_says(app_emu: Emulator) -> None:
    spec = OpenApiSpec.load()
    token = mint(app_emu, repositories=["app"])
    exchanges = [
        call(app_emu, "GET", "/app", app_jwt()),
        call(app_emu, "GET", "/repos/octo/app/installation", app_jwt()),
        call(app_emu, "GET", "/orgs/octo/installation", app_jwt()),
        token,
        mint(app_emu, repositories=["public"]),
        call(app_emu, "DELETE", "/installation/token", token.json()["token"]),
    ]
    for response in exchanges:
        assert_conforms(spec.check_requests_response(response), f"{response.request.method} {response.url}")


def test_a_scenario_installation_on_a_repository_of_another_account_is_refused(
    scenario: dict[str, Any],
) -> None:
    from wait_and_dispatch.emulator import Scenario
    from wait_and_dispatch.support.errors import UsageError

    with pytest.raises(UsageError, match=r"apps\.deployer\.installations\[0\]\.repos"):
        Scenario.from_dict(with_app(scenario, "someone", repos=["octo/app"]))
