"""Where the CLI and the action find GitHub and the token: options first, then the environment."""

from __future__ import annotations

import pytest

from wait_and_dispatch.cli.connection import resolve_connection
from wait_and_dispatch.errors import UsageError


def test_api_url_option_wins_over_the_environment() -> None:
    connection = resolve_connection(
        "https://ghe.example.com/api/v3/", {"GITHUB_API_URL": "https://api.github.com"}
    )
    assert connection.api_url == "https://ghe.example.com/api/v3"


def test_runner_api_url_is_used_without_an_option() -> None:
    assert resolve_connection(None, {"GITHUB_API_URL": "https://ghe.example.com/api/v3"}).api_url == (
        "https://ghe.example.com/api/v3"
    )


def test_github_com_is_the_default() -> None:
    assert resolve_connection(None, {}).api_url == "https://api.github.com"


def test_github_token_is_preferred_to_gh_token() -> None:
    assert resolve_connection(None, {"GITHUB_TOKEN": "ghs_a", "GH_TOKEN": "gho_b"}).token == "ghs_a"
    assert resolve_connection(None, {"GH_TOKEN": "gho_b\n"}).token == "gho_b"
    assert resolve_connection(None, {"GITHUB_TOKEN": " "}).token is None


def test_the_token_never_shows_in_repr() -> None:
    assert "ghs_secret" not in repr(resolve_connection(None, {"GITHUB_TOKEN": "ghs_secret"}))


def test_a_malformed_api_url_is_a_usage_error_with_a_hint() -> None:
    with pytest.raises(UsageError, match="not an API URL") as caught:
        resolve_connection("ghe.example.com", {})
    assert "/api/v3" in caught.value.hint
