"""Minting and revoking a GitHub App's installation token (engine/app_auth.py), over HTTP against
the emulator's App endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.github_app import APP_ID, INSTALLATION_ID, app_keys, with_app
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.emulator.faults import Fault
from wait_and_dispatch.engine.app_auth import (
    MINT_BUDGET,
    REVOKE_BUDGET,
    AppCredentials,
    installation_token,
    mint_installation_token,
    revoke_installation_token,
)
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import (
    GitHubApiError,
    NotFoundError,
    RateLimitExceededError,
    UsageError,
    ValidationFailedError,
)

APP = Repository("octo", "app")
PUBLIC = Repository("octo", "public")


@pytest.fixture
def app_emulator(
    start_emulator: Callable[[dict[str, Any]], Emulator], scenario_dict: dict[str, Any]
) -> Emulator:
    return start_emulator(with_app(scenario_dict, "octo", repos=["octo/app"]))


def credentials(owner: str = "") -> AppCredentials:
    return AppCredentials.parse(str(APP_ID), app_keys().private_pem, owner)


def test_the_token_is_scoped_to_the_repositories_asked_for(
    app_emulator: Emulator, clock: ManualClock
) -> None:
    token = mint_installation_token(credentials(), [APP, APP], base_url=app_emulator.api_url, clock=clock)
    assert (token.installation_id, token.account, token.repositories) == (INSTALLATION_ID, "octo", ("app",))
    minted = next(t for t in app_emulator.state.tokens.values() if t.secret == token.token)
    assert minted.repos == ("octo/app",)
    assert "ghs_" not in repr(token)  # the token never shows in a repr


def test_the_installation_is_found_on_the_named_account(app_emulator: Emulator, clock: ManualClock) -> None:
    token = mint_installation_token(credentials("octo"), [APP], base_url=app_emulator.api_url, clock=clock)
    assert token.installation_id == INSTALLATION_ID
    asked = [r.path for r in app_emulator.requests if "installation" in r.path and r.method == "GET"]
    assert asked == ["/orgs/octo/installation"]


def test_a_repository_the_installation_does_not_reach_is_refused_with_a_hint(
    app_emulator: Emulator, clock: ManualClock
) -> None:
    with pytest.raises(ValidationFailedError, match="does not reach octo/app, octo/public") as caught:
        mint_installation_token(credentials(), [APP, PUBLIC], base_url=app_emulator.api_url, clock=clock)
    assert "installation" in caught.value.hint


def test_an_app_not_installed_on_the_repository_says_so(app_emulator: Emulator, clock: ManualClock) -> None:
    with pytest.raises(NotFoundError, match="not installed on octo/public") as caught:
        mint_installation_token(credentials(), [PUBLIC], base_url=app_emulator.api_url, clock=clock)
    assert "app-installation-owner" in caught.value.hint


def test_repositories_of_two_accounts_cannot_share_one_token() -> None:
    with pytest.raises(UsageError, match="one account's repositories"):
        mint_installation_token(credentials(), [APP, Repository("other", "x")], base_url="http://127.0.0.1:9")


def test_the_token_is_revoked_when_the_block_fails(app_emulator: Emulator, clock: ManualClock) -> None:
    with (
        pytest.raises(RuntimeError),
        installation_token(credentials(), [APP], base_url=app_emulator.api_url, clock=clock) as token,
    ):
        raise RuntimeError("the step failed")
    assert token.revoked and app_emulator.state.revoked_tokens


def test_a_failed_revocation_is_kept_not_raised(app_emulator: Emulator, clock: ManualClock) -> None:
    token = mint_installation_token(credentials(), [APP], base_url=app_emulator.api_url, clock=clock)
    clock.advance(3601)  # expired: GitHub answers 401
    revoke_installation_token(token, base_url=app_emulator.api_url, clock=clock)
    assert not token.revoked and isinstance(token.revoke_error, GitHubApiError)
    assert token.revoke_error.status == 401


@pytest.mark.parametrize(
    ("app_id", "key", "message"),
    [
        ("my-app", app_keys().private_pem, "neither a GitHub App id nor a client id"),
        ("42", "not a key", "not a PEM private key"),
    ],
)
def test_bad_credentials_are_usage_errors(app_id: str, key: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        AppCredentials.parse(app_id, key)


def test_a_key_that_is_not_rsa_is_refused_before_any_request() -> None:
    garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"
    with pytest.raises(UsageError, match="could not be read as an RSA private key"):
        credentials_with(garbage).jwt()


def test_a_key_pasted_on_one_line_with_escaped_newlines_works() -> None:
    one_line = app_keys().private_pem.strip().replace("\n", "\\n")
    assert credentials_with(one_line).jwt().count(".") == 2


def test_a_client_id_is_accepted_as_the_app_id() -> None:
    assert AppCredentials.parse("Iv23liAbCdEf012345", app_keys().private_pem).app_id == "Iv23liAbCdEf012345"


def credentials_with(key: str) -> AppCredentials:
    return AppCredentials.parse(str(APP_ID), key)


def test_a_revoke_does_not_wait_an_hour_for_a_rate_limit_reset(
    app_emulator: Emulator, clock: ManualClock
) -> None:
    # Waiting for the reset would revoke the token about when it expires anyway, and hold the
    # step (or the runner's short cancellation grace) for up to an hour.
    token = mint_installation_token(credentials(), [APP], base_url=app_emulator.api_url, clock=clock)
    app_emulator.inject(
        Fault(path="/installation/token", method="DELETE", kind="primary_rate_limit", times=None)
    )
    started = clock.now()
    revoke_installation_token(token, base_url=app_emulator.api_url, clock=clock)
    assert clock.now() - started <= REVOKE_BUDGET
    assert not token.revoked and token.revoke_error is not None


def test_a_revoke_outlasting_its_budget_is_kept_not_raised(
    app_emulator: Emulator, clock: ManualClock
) -> None:
    token = mint_installation_token(credentials(), [APP], base_url=app_emulator.api_url, clock=clock)
    app_emulator.inject(Fault(path="/installation/token", method="DELETE", status=503, times=None))
    revoke_installation_token(token, base_url=app_emulator.api_url, clock=clock)
    assert not token.revoked and token.revoke_error is not None


def test_minting_does_not_wait_an_hour_for_a_rate_limit_reset(
    app_emulator: Emulator, clock: ManualClock
) -> None:
    app_emulator.inject(Fault(path="/repos/octo/app/installation", kind="primary_rate_limit", times=None))
    started = clock.now()
    with pytest.raises(RateLimitExceededError) as caught:
        mint_installation_token(credentials(), [APP], base_url=app_emulator.api_url, clock=clock)
    assert clock.now() - started <= MINT_BUDGET
    assert caught.value.hint
    assert not [t for t in app_emulator.state.tokens.values() if t.installation_id is not None]
