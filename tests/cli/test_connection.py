"""Where the CLI and the action find GitHub and the token: options first, then the environment,
with the GitHub CLI's names and order (`gh help environment`), and never a token in cleartext to
another machine without saying so."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from wait_and_dispatch.session.connection import (
    RepositoryChoice,
    api_url_for_host,
    check_token,
    cleartext_token_risk,
    connect,
    is_loopback,
    parse_repository,
    repository_from_remote,
    resolve_connection,
    resolve_repository,
    token_from_gh,
)
from wait_and_dispatch.support.errors import UsageError


def test_api_url_option_wins_over_the_environment() -> None:
    connection = resolve_connection(
        "https://ghe.example.com/api/v3/",
        {"GITHUB_API_URL": "https://api.github.com", "GH_HOST": "other.example.com"},
    )
    assert connection.api_url == "https://ghe.example.com/api/v3"


def test_gh_host_set_on_purpose_wins_over_the_runners_api_url() -> None:
    # Every runner sets GITHUB_API_URL (github.com's on github.com): a step that exports GH_HOST
    # and GH_ENTERPRISE_TOKEN to reach its company's server must not be sent to github.com.
    environ = {
        "GITHUB_API_URL": "https://api.github.com",
        "GH_HOST": "ghe.example.com",
        "GH_ENTERPRISE_TOKEN": "ghe-token",
        "GH_TOKEN": "github-com-token",
    }
    connection = resolve_connection(None, environ)
    assert connection.api_url == "https://ghe.example.com/api/v3"
    assert (connection.token, connection.token_source) == ("ghe-token", "GH_ENTERPRISE_TOKEN")


def test_github_com_is_the_default() -> None:
    assert resolve_connection(None, {}).api_url == "https://api.github.com"


@pytest.mark.parametrize(
    ("host", "api_url"),
    [
        ("ghe.example.com", "https://ghe.example.com/api/v3"),  # GitHub Enterprise Server
        ("GHE.Example.com/", "https://ghe.example.com/api/v3"),
        ("github.com", "https://api.github.com"),
        ("octocorp.ghe.com", "https://api.octocorp.ghe.com"),  # GHE.com data residency
        ("https://ghe.example.com", "https://ghe.example.com/api/v3"),
    ],
)
def test_gh_host_names_the_api_of_that_host(host: str, api_url: str) -> None:
    assert resolve_connection(None, {"GH_HOST": host}).api_url == api_url
    assert api_url_for_host(host) == api_url


def test_a_gh_host_that_is_not_a_host_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"GH_HOST 'ghe\.example\.com/api/v3' is not a host name"):
        resolve_connection(None, {"GH_HOST": "ghe.example.com/api/v3"})


def test_gh_token_is_preferred_to_github_token_as_gh_does() -> None:
    connection = resolve_connection(None, {"GITHUB_TOKEN": "ghs_a", "GH_TOKEN": "gho_b"})
    assert (connection.token, connection.token_source) == ("gho_b", "GH_TOKEN")
    assert resolve_connection(None, {"GITHUB_TOKEN": "ghs_a\n"}).token == "ghs_a"
    assert resolve_connection(None, {"GH_TOKEN": " ", "GITHUB_TOKEN": "ghs_a"}).token == "ghs_a"
    assert resolve_connection(None, {"GITHUB_TOKEN": " "}).token is None


def test_an_enterprise_host_takes_the_enterprise_token_first() -> None:
    environ = {
        "GH_HOST": "ghe.example.com",
        "GH_TOKEN": "gho_dotcom",
        "GITHUB_ENTERPRISE_TOKEN": "ghp_second",
        "GH_ENTERPRISE_TOKEN": "ghp_first",
    }
    assert resolve_connection(None, environ).token == "ghp_first"
    del environ["GH_ENTERPRISE_TOKEN"]
    assert resolve_connection(None, environ).token == "ghp_second"


def test_an_enterprise_host_falls_back_to_the_runners_token_names() -> None:
    # On a GHES runner the step's token is exported as GITHUB_TOKEN, as everywhere else.
    environ = {"GITHUB_API_URL": "https://ghe.example.com/api/v3", "GITHUB_TOKEN": "ghs_runner"}
    assert resolve_connection(None, environ).token == "ghs_runner"


def test_the_enterprise_token_is_never_sent_to_github_com() -> None:
    connection = resolve_connection(None, {"GH_ENTERPRISE_TOKEN": "ghp_enterprise"})
    assert connection.api_url == "https://api.github.com" and connection.token is None


def test_gh_auth_token_is_asked_for_the_host_in_use_when_no_variable_is_set() -> None:
    asked: list[str] = []

    def gh_token(host: str) -> str | None:
        asked.append(host)
        return "gho_from_gh"

    assert resolve_connection(None, {}, gh_token=gh_token).token_source == "gh auth token"
    resolve_connection(None, {"GH_HOST": "ghe.example.com"}, gh_token=gh_token)
    resolve_connection(None, {"GH_HOST": "octocorp.ghe.com"}, gh_token=gh_token)
    assert asked == ["github.com", "ghe.example.com", "octocorp.ghe.com"]
    assert resolve_connection(None, {"GH_TOKEN": "gho_b"}, gh_token=gh_token).token == "gho_b"
    assert len(asked) == 3  # a variable that is set wins without asking gh


def test_the_token_never_shows_in_repr() -> None:
    assert "ghs_secret" not in repr(resolve_connection(None, {"GITHUB_TOKEN": "ghs_secret"}))


def test_a_malformed_api_url_is_a_usage_error_with_a_hint() -> None:
    with pytest.raises(UsageError, match="not an API URL") as caught:
        resolve_connection("ghe.example.com", {})
    assert "/api/v3" in caught.value.hint


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "[::1]", "api.localhost"])
def test_loopback_hosts_are_this_machine(host: str) -> None:
    assert is_loopback(host)
    assert cleartext_token_risk(f"http://{host}:8080", sends_credentials=True) is None


@pytest.mark.parametrize("host", ["ghe.example.com", "10.0.0.5", "localhost.example.com", "[2001:db8::1]"])
def test_a_token_over_http_to_another_machine_is_a_risk(host: str) -> None:
    risk = cleartext_token_risk(f"http://{host}/api/v3", sends_credentials=True)
    assert risk is not None and "cleartext" in risk


def test_https_or_no_token_is_no_risk() -> None:
    assert cleartext_token_risk("https://ghe.example.com/api/v3", sends_credentials=True) is None
    assert cleartext_token_risk("http://ghe.example.com/api/v3", sends_credentials=False) is None


def test_the_command_line_refuses_cleartext_unless_insecure_http() -> None:
    environ = {"GITHUB_API_URL": "http://ghe.example.com/api/v3", "GITHUB_TOKEN": "ghs_x"}
    with pytest.raises(UsageError, match=r"plain http:// to ghe\.example\.com") as caught:
        connect(None, environ, insecure_http=False, stderr=io.StringIO())
    assert "--insecure-http" in caught.value.hint
    stderr = io.StringIO()
    assert connect(None, environ, insecure_http=True, stderr=stderr).token == "ghs_x"
    assert stderr.getvalue().startswith("warning: the API URL http://ghe.example.com/api/v3 is plain http://")
    assert "ghs_x" not in stderr.getvalue()


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for gh")
def test_token_from_gh_asks_the_installed_gh_for_that_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gh = tmp_path / "gh"  # a stand-in GitHub CLI that knows one login
    gh.write_text(
        '#!/bin/sh\n[ "$*" = "auth token --hostname ghe.example.com" ] && echo gho_ghe && exit 0\nexit 1\n'
    )
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert token_from_gh("ghe.example.com") == "gho_ghe"
    assert token_from_gh("github.com") is None  # not logged in there: gh exits 1


# -- the repository, as gh takes it -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("octo/app", (None, "octo/app")),
        ("github.example.com/octo/app", ("github.example.com", "octo/app")),
        ("https://github.com/octo/app.git", ("github.com", "octo/app")),
    ],
)
def test_repo_takes_host_owner_repo_as_gh_does(text: str, parsed: tuple[str | None, str]) -> None:
    assert parse_repository(text) == parsed


@pytest.mark.parametrize("text", ["app", "a/b/c/d", "octo/", "/app"])
def test_a_repo_that_is_not_host_owner_repo_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match=r"not \[HOST/\]OWNER/REPO"):
        parse_repository(text)


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("git@github.com:octo/app.git", ("github.com", "octo/app")),
        ("https://github.com/octo/app", ("github.com", "octo/app")),
        ("ssh://git@ghe.example.com:2222/octo/app.git", ("ghe.example.com", "octo/app")),
        ("/srv/git/app.git", None),
    ],
)
def test_a_git_remote_names_its_host_and_repository(url: str, found: tuple[str, str] | None) -> None:
    assert repository_from_remote(url) == found


def test_repo_wins_over_gh_repo_which_wins_over_the_runners_repository() -> None:
    environ = {"GH_REPO": "octo/one", "GITHUB_REPOSITORY": "octo/two"}
    assert resolve_repository("octo/zero", environ) == RepositoryChoice("octo/zero")
    assert resolve_repository(None, environ) == RepositoryChoice("octo/one")
    assert resolve_repository(None, {"GITHUB_REPOSITORY": "octo/two"}) == RepositoryChoice("octo/two")


def test_without_any_the_repository_is_the_git_remotes_and_it_says_so(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name, url in (("fork", "git@github.com:me/app.git"), ("origin", "https://github.com/octo/app.git")):
        subprocess.run(["git", "-C", str(tmp_path), "remote", "add", name, url], check=True)
    choice = resolve_repository(None, {}, folder=str(tmp_path))
    assert choice == RepositoryChoice(
        "octo/app", "github.com", "repository octo/app, from the git remote origin of this folder"
    )  # origin before another remote, as gh orders them


@pytest.mark.parametrize("token", ["ghp_abc\r\nX: y", "ghp abc", "ghp_ä", "ghp_\x00"])
def test_a_token_no_github_token_could_be_is_refused_without_showing_it(token: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_token(token, "GITHUB_TOKEN")
    assert "ghp" not in caught.value.message and "GITHUB_TOKEN" in caught.value.message


def test_a_github_com_token_never_goes_to_a_host_that_gh_host_names() -> None:
    environ = {"GH_HOST": "ghe.example.com", "GITHUB_TOKEN": "ghp_dotcom", "GH_TOKEN": "gho_dotcom"}
    connection = resolve_connection(None, environ)
    assert connection.api_url == "https://ghe.example.com/api/v3" and connection.token is None


def test_a_github_com_token_never_goes_to_a_host_a_repository_names() -> None:
    # -R HOST/OWNER/REPO, GH_REPO or a git remote on another forge: gh sends GH_TOKEN and
    # GITHUB_TOKEN only to github.com and GHE.com (gh help environment).
    environ = {"GITHUB_TOKEN": "ghp_dotcom", "GH_TOKEN": "gho_dotcom"}
    url = api_url_for_host("gitlab.example.com")
    assert resolve_connection(url, environ, host_from_repository=True).token is None
    environ["GH_ENTERPRISE_TOKEN"] = "ghe_token"
    assert resolve_connection(url, environ, host_from_repository=True).token == "ghe_token"
    github = api_url_for_host("github.com")
    assert resolve_connection(github, {"GITHUB_TOKEN": "ghp_dotcom"}, host_from_repository=True).token == (
        "ghp_dotcom"
    )


def test_a_git_remote_on_another_forge_is_not_taken_for_the_repository(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name, url in (
        ("origin", "https://gitlab.example.com/octo/app.git"),
        ("ghe", "git@ghe.example.com:o/r"),
    ):
        subprocess.run(["git", "-C", str(tmp_path), "remote", "add", name, url], check=True)
    assert resolve_repository(None, {}, folder=str(tmp_path)) is None
    found = resolve_repository(None, {"GH_HOST": "ghe.example.com"}, folder=str(tmp_path))
    assert found is not None and (found.name, found.host) == ("o/r", "ghe.example.com")
