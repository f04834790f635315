"""Where GitHub is and which token to use, resolved from options and the environment at the edge.

The names and their order follow the GitHub CLI (`gh help environment`,
https://cli.github.com/manual/gh_help_environment): `GH_TOKEN` before `GITHUB_TOKEN` for
github.com and `*.ghe.com`, `GH_ENTERPRISE_TOKEN` before `GITHUB_ENTERPRISE_TOKEN` for a GitHub
Enterprise Server host, and `GH_HOST` naming the host when nothing else does. docs/cli.md has the
full table.

`cleartext_token_risk` is the one check, used by both edges, that a token is about to travel over
plain `http://` to a host that is not this machine, where anyone on the path could read it: the
command line refuses
unless `--insecure-http`, the action warns.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

# Token variables in order of precedence, as `gh` reads them (gh help environment).
GITHUB_COM_TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN")
ENTERPRISE_TOKEN_VARIABLES = ("GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")


@dataclass(frozen=True)
class Connection:
    """Where GitHub is and who we are, resolved from options and the environment at the edge."""

    api_url: str
    token: str | None = None
    token_source: str | None = None  # where the token came from: a variable's name, or `gh auth token`

    def __repr__(self) -> str:
        return (
            f"Connection(api_url={self.api_url!r}, token={'<set>' if self.token else None}, "
            f"token_source={self.token_source!r})"
        )

    @property
    def host(self) -> str:
        return (urllib.parse.urlsplit(self.api_url).hostname or "").lower()


def api_url_for_host(host: str) -> str:
    """The REST API URL of a `GH_HOST`: github.com -> api.github.com; a GHE.com tenant
    (`NAME.ghe.com`) -> https://api.NAME.ghe.com; any other host is GitHub Enterprise Server,
    whose API is under /api/v3 (GitHub docs, "REST API endpoints" on GHES)."""
    from wait_and_dispatch.support.errors import UsageError

    name = host.strip().lower().rstrip("/")
    if "://" in name:
        name = urllib.parse.urlsplit(name).netloc
    if not name or "/" in name or "@" in name:
        raise UsageError(
            f"GH_HOST {host!r} is not a host name",
            hint="set GH_HOST to a host such as github.example.com, or pass --api-url",
        )
    if name in ("github.com", "api.github.com"):
        return "https://api.github.com"
    if name.endswith(".ghe.com"):
        return f"https://{name}" if name.startswith("api.") else f"https://api.{name}"
    return f"https://{name}/api/v3"


def is_github_com(host: str) -> bool:
    """github.com and GHE.com tenants take `GH_TOKEN`/`GITHUB_TOKEN`; other hosts are Enterprise
    Server hosts, which take `GH_ENTERPRISE_TOKEN`/`GITHUB_ENTERPRISE_TOKEN` first."""
    host = host.lower()
    return host in ("github.com", "api.github.com") or host.endswith(".ghe.com")


def resolve_connection(
    api_url: str | None,
    environ: Mapping[str, str],
    *,
    gh_token: Callable[[str], str | None] | None = None,
    host_from_repository: bool = False,
) -> Connection:
    """The API URL: `--api-url`, else `GH_HOST`'s API, else `GITHUB_API_URL` (set by the runner),
    else api.github.com. The token: for github.com and GHE.com, `GH_TOKEN` then `GITHUB_TOKEN`;
    for any other host, `GH_ENTERPRISE_TOKEN` then `GITHUB_ENTERPRISE_TOKEN`; last, what
    `gh auth token --hostname HOST` prints when the GitHub CLI is installed and logged in.

    `GH_TOKEN` and `GITHUB_TOKEN` go to another host only when the API URL was given as such
    (`--api-url`, or `GITHUB_API_URL`, which a GHES runner sets beside the step's token): never to
    a host that `GH_HOST` names or a repository names (`-R HOST/OWNER/REPO`, `GH_REPO`, a git
    remote; `host_from_repository`). Those are github.com tokens as gh reads them (gh help
    environment), and a clone whose remote is on another forge must not receive one."""
    from wait_and_dispatch.github_api import DEFAULT_API_URL

    chosen, where = api_url or None, "--api-url"
    # GH_HOST before GITHUB_API_URL: every runner sets the latter (to github.com's API on
    # github.com), while GH_HOST is only ever set on purpose, as GH_TOKEN is.
    if not chosen and (environ.get("GH_HOST") or "").strip():
        chosen, where = api_url_for_host(environ["GH_HOST"]), "GH_HOST"
    if not chosen:
        chosen, where = environ.get("GITHUB_API_URL") or None, "GITHUB_API_URL"
    url = check_api_url(chosen or DEFAULT_API_URL, where)
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    variables: tuple[str, ...] = GITHUB_COM_TOKEN_VARIABLES
    if not is_github_com(host):
        given_as_url = where in ("--api-url", "GITHUB_API_URL") and not host_from_repository
        variables = ENTERPRISE_TOKEN_VARIABLES + (GITHUB_COM_TOKEN_VARIABLES if given_as_url else ())
    for name in variables:
        token = (environ.get(name) or "").strip()
        if token:
            return Connection(url, token, name)
    if gh_token is not None:
        token_from_cli = gh_token(gh_hostname(host))
        if token_from_cli:
            return Connection(url, token_from_cli, "gh auth token")
    return Connection(url)


def gh_hostname(api_host: str) -> str:
    """The host `gh` keys its logins by: github.com for api.github.com, NAME.ghe.com for
    api.NAME.ghe.com, the host itself for GitHub Enterprise Server."""
    if api_host == "api.github.com":
        return "github.com"
    if api_host.startswith("api.") and api_host.endswith(".ghe.com"):
        return api_host.removeprefix("api.")
    return api_host


def token_from_gh(host: str) -> str | None:
    """`gh auth token --hostname HOST`, if the GitHub CLI is there and logged in; None otherwise."""
    import shutil
    import subprocess  # nosec B404 # runs only `gh auth token`, below

    gh = shutil.which("gh")
    if gh is None:
        return None
    try:
        done = subprocess.run(  # nosec B603 # noqa: S603 - a fixed command line; the host is only an argument
            [gh, "auth", "token", "--hostname", host],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


# A token goes into the Authorization header as it is: a line break there would end the header (and
# http.client refuses it with a ValueError that quotes the whole value), a space or a non-ASCII
# character is never part of a token GitHub issues.
_TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")


def check_token(token: str | None, where: str) -> None:
    """A usage error, never showing the token, when `token` (from `where`: a variable or an input)
    has a character no token has, such as a line break pasted in with it."""
    from wait_and_dispatch.support.errors import UsageError

    if token is not None and not _TOKEN_CHARACTERS.fullmatch(token):
        raise UsageError(
            f"the token in {where} contains a line break, a space, or a control or non-ASCII character, "
            "which no GitHub token has (the token is not shown)",
            hint=f"set {where} to the token alone, e.g. from a secret, without the text around it",
        )


def check_api_url(url: str, where: str = "the API URL") -> str:
    """`url` (normalized) if it can be an API URL: http or https, a host, a port from 1 to 65535;
    else a usage error, before any request, rather than a traceback at the first one."""
    from wait_and_dispatch.github_api import normalize_api_url
    from wait_and_dispatch.support.errors import UsageError

    normalized = normalize_api_url(url)
    parts = urllib.parse.urlsplit(normalized)
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number
        port = 0
    if port == 0 or (port is None and parts.netloc.endswith(":")):
        raise UsageError(
            f"{where} {url!r} has no valid port (1 to 65535)",
            hint="give a port from 1 to 65535, or none for the scheme's own (443 for https)",
        )
    return normalized


def is_loopback(host: str) -> bool:
    """This machine: `localhost` (and `*.localhost`, RFC 6761), 127.0.0.0/8 and ::1."""
    host = host.lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cleartext_token_risk(api_url: str, *, sends_credentials: bool) -> str | None:
    """Why sending credentials (a token, an App's JWT) to `api_url` would expose them, or None:
    over plain `http://` to a host other than this machine anyone on the path can read and replay
    them. `gh` only speaks https to an Enterprise host. The one check both edges use."""
    parts = urllib.parse.urlsplit(api_url.strip())
    if not sends_credentials or parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return None
    return f"the API URL {api_url} is plain http:// to {parts.hostname}: the token would travel in cleartext"


def connect(
    api_url: str | None,
    environ: Mapping[str, str],
    *,
    insecure_http: bool,
    stderr: TextIO,
    host_from_repository: bool = False,
) -> Connection:
    """The command line's connection: resolved as above, and refused (a usage error, exit 2) when
    the token would go over plain http:// to another machine, unless `--insecure-http`."""
    from wait_and_dispatch.support.errors import UsageError

    connection = resolve_connection(
        api_url, environ, gh_token=token_from_gh, host_from_repository=host_from_repository
    )
    check_token(connection.token, connection.token_source or "the token")
    risk = cleartext_token_risk(connection.api_url, sends_credentials=connection.token is not None)
    if risk and not insecure_http:
        raise UsageError(
            risk, hint="use an https:// API URL; pass --insecure-http only if the network to it is yours"
        )
    if risk:
        print(f"warning: {risk} (--insecure-http)", file=stderr)
    return connection


@dataclass(frozen=True)
class RepositoryChoice:
    """The repository a command works on, the host it names (if any), and how it was chosen."""

    name: str  # OWNER/REPO
    host: str | None = None  # from `HOST/OWNER/REPO` or a git remote's URL
    said: str | None = None  # one line for stderr when it was not given, but found


# gh's order among a clone's remotes (cli/cli `context.Remotes`: upstream, github, origin, the rest).
_REMOTE_ORDER = ("upstream", "github", "origin")
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


def parse_repository(text: str, where: str = "--repo") -> tuple[str | None, str]:
    """`[HOST/]OWNER/REPO` as gh takes it (also a URL, `https://HOST/OWNER/REPO`): the host, if
    named, and `OWNER/REPO`."""
    from wait_and_dispatch.support.errors import UsageError

    text = text.strip()
    host: str | None = None
    if "://" in text:
        parts = urllib.parse.urlsplit(text)
        host, text = parts.hostname, parts.path.strip("/")
    text = text.removesuffix(".git")
    pieces = text.split("/")
    if len(pieces) == 3 and host is None:
        host, pieces = pieces[0], pieces[1:]
    if len(pieces) != 2 or not all(pieces):
        raise UsageError(
            f"{where} {text!r} is not [HOST/]OWNER/REPO",
            hint="e.g. --repo octo/app, or --repo github.example.com/octo/app on another host",
        )
    return (host.lower() if host else None), "/".join(pieces)


def repository_from_remote(url: str) -> tuple[str, str] | None:
    """The host and `OWNER/REPO` a git remote URL points to (https, ssh, or scp-like `git@host:`)."""
    if "://" in url:
        parts = urllib.parse.urlsplit(url)
        host, path = parts.hostname or "", parts.path
    else:
        match = _SCP_LIKE.match(url)
        if match is None:
            return None
        host, path = match["host"], match["path"]
    pieces = path.strip("/").removesuffix(".git").split("/")
    if not host or len(pieces) != 2 or not all(pieces):
        return None
    return host.lower(), "/".join(pieces)


def git_remotes(folder: str) -> list[tuple[str, str]]:
    """`(name, url)` of each remote of the git repository `folder` is in, in gh's order; none when
    git is not installed or the folder is not in a repository."""
    import shutil
    import subprocess  # nosec B404 # runs only `git config`, below

    git = shutil.which("git")
    if git is None:
        return []
    try:
        done = subprocess.run(  # nosec B603 # noqa: S603 - a fixed command line
            [git, "config", "--get-regexp", r"^remote\..*\.url$"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    remotes = []
    for line in done.stdout.splitlines():
        key, _, url = line.partition(" ")
        remotes.append((key.removeprefix("remote.").removesuffix(".url"), url.strip()))

    def rank(remote: tuple[str, str]) -> int:
        return _REMOTE_ORDER.index(remote[0]) if remote[0] in _REMOTE_ORDER else len(_REMOTE_ORDER)

    return sorted(remotes, key=rank)


def resolve_repository(
    given: str | None, environ: Mapping[str, str], *, folder: str = "."
) -> RepositoryChoice | None:
    """gh's conventions: `--repo [HOST/]OWNER/REPO`, else `GH_REPO`, else the runner's
    `GITHUB_REPOSITORY`, else the first remote of the git repository in `folder` that points to a
    repository (gh help environment; `gh repo set-default` picks among several)."""
    for value, where in ((given, "--repo"), (environ.get("GH_REPO"), "GH_REPO")):
        if value and value.strip():
            host, name = parse_repository(value, where)
            return RepositoryChoice(name, host)
    if (environ.get("GITHUB_REPOSITORY") or "").strip():
        return RepositoryChoice(environ["GITHUB_REPOSITORY"].strip())
    known = _known_github_hosts(environ)
    for remote, url in git_remotes(folder):
        found = repository_from_remote(url)
        # As gh: only a remote on a GitHub host counts (github.com, GHE.com, the host GH_HOST or
        # the runner's GITHUB_API_URL names); a clone's remote on another forge is not a repository
        # of ours, and its host must not be sent a request.
        if found is not None and (is_github_com(found[0]) or found[0] in known):
            host, name = found
            return RepositoryChoice(
                name, host, f"repository {name}, from the git remote {remote} of this folder"
            )
    return None


def _known_github_hosts(environ: Mapping[str, str]) -> set[str]:
    """The GitHub Enterprise hosts the environment names: GH_HOST's, and GITHUB_API_URL's."""
    hosts = {(environ.get("GH_HOST") or "").strip().lower()}
    api = (environ.get("GITHUB_API_URL") or "").strip()
    if api:
        hosts.add((urllib.parse.urlsplit(api).hostname or "").lower())
    return hosts - {""}
