"""Git references through REST "Git references": read one, list by prefix, create, move, delete.

Creating a ref is the one atomic primitive GitHub offers with no more than `contents: write`: two
creates of the same name never both succeed, the second answers 422 "Reference already exists"
(OpenAPI `git/create-ref`; docs/github-behaviour.md#git-references). `create_ref` says which of
the two the caller was, so that two processes reacting to events at the same moment can agree on
which one acts. Names are full (`refs/heads/main`, `refs/wait-and-dispatch/...`); the URLs take
them without `refs/`, as GitHub's do.
"""

from __future__ import annotations

import enum
import urllib.parse

from wait_and_dispatch.engine.github_objects import GitRef, Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import (
    NotFoundError,
    RefNotFastForwardError,
    RefusedBeforeSendingError,
    ValidationFailedError,
    WriteOutcomeUnknownError,
)
from wait_and_dispatch.support.github_vocabulary import REFUSED_IN_REF_NAMES

# GitHub's words in its 422 answers (docs/github-behaviour.md#git-references).
_EXISTS = "Reference already exists"
_MISSING = "Reference does not exist"
_NOT_FAST_FORWARD = "Update is not a fast forward"


class Claim(enum.Enum):
    """What `create_ref` found: the ref is new and this caller made it, or it was there already."""

    CREATED = "created"
    ALREADY_EXISTS = "already-exists"
    # The create's answer was lost and the ref is there: this call may have made it, or another
    # one did (`claim_ref`). A caller that acts only on CREATED must treat it as a claim that may be
    # nobody's: one that no process will act on.
    UNCERTAIN = "uncertain"


def check_ref_name(name: str) -> str:
    """`name` if GitHub would take it for a new ref, else a usage error saying why (nothing sent)."""
    if not name.startswith("refs/") or name.count("/") < 2:
        raise RefusedBeforeSendingError(
            f"git ref {name!r} must be a full name with at least three parts, such as refs/heads/main",
            hint="name the ref in full: refs/<namespace>/<name>",
        )
    if REFUSED_IN_REF_NAMES.search(name):
        raise RefusedBeforeSendingError(
            f"git ref {name!r} is not a valid ref name",
            hint=(
                "leave out spaces, `..`, `~ ^ : ? * [ \\`, parts starting with `.`, and a trailing "
                "`/`, `.` or `.lock`"
            ),
        )
    return name


def _path(repo: Repository, collection: str, name: str) -> str:
    short = check_ref_name(name)[len("refs/") :]
    return f"{repo.api_path}/git/{collection}/{urllib.parse.quote(short, safe='/')}"


def create_ref(
    api: GitHubApi, repo: Repository, name: str, sha: str, *, deadline: float | None = None
) -> Claim:
    """Create `name` at `sha`: `Claim.CREATED` when this call made it, `Claim.ALREADY_EXISTS` when
    it was there (whoever made it, whatever it names). A 5xx or a broken connection leaves the
    outcome unknown: that is a `WriteOutcomeUnknownError`, and the caller must not take it for
    either answer (a retry would answer "already exists" to its own creation)."""
    check_ref_name(name)
    try:
        api.post(f"{repo.api_path}/git/refs", {"ref": name, "sha": sha}, deadline=deadline)
    except ValidationFailedError as error:
        if error.status == 422 and _EXISTS in error.message:
            return Claim.ALREADY_EXISTS
        raise
    return Claim.CREATED


def claim_ref(
    api: GitHubApi, repo: Repository, name: str, sha: str, *, deadline: float | None = None
) -> Claim:
    """`create_ref`, with a lost answer (`WriteOutcomeUnknownError`) settled by reading the ref
    back: not there, the create did not happen and is sent once more; there, it is
    `Claim.UNCERTAIN` (every claim of a name points at the same commit, so the ref cannot say whose
    it is). A second create answered "already exists" after a lost answer is uncertain too: the
    first may have landed late."""
    try:
        return create_ref(api, repo, name, sha, deadline=deadline)
    except WriteOutcomeUnknownError:
        if get_ref(api, repo, name, deadline=deadline) is not None:
            return Claim.UNCERTAIN
    again = create_ref(api, repo, name, sha, deadline=deadline)
    return Claim.UNCERTAIN if again is Claim.ALREADY_EXISTS else again


def get_ref(api: GitHubApi, repo: Repository, name: str, *, deadline: float | None = None) -> GitRef | None:
    """The ref `name`, or None when there is none (GitHub answers 404, OpenAPI `git/get-ref`)."""
    try:
        data = api.get(_path(repo, "ref", name), deadline=deadline).data
    except NotFoundError:
        return None
    return GitRef.from_api(data)


def matching_refs(
    api: GitHubApi, repo: Repository, prefix: str, *, deadline: float | None = None
) -> list[GitRef]:
    """Every ref whose name starts with `prefix` (`refs/heads/release`), by name; none is an empty
    list (OpenAPI `git/list-matching-refs`)."""
    if not prefix.startswith("refs/") or prefix == "refs/":
        raise RefusedBeforeSendingError(
            f"git ref prefix {prefix!r} must start with refs/<namespace>/",
            hint="give the prefix in full, e.g. refs/heads/release",
        )
    short = prefix[len("refs/") :]
    path = f"{repo.api_path}/git/matching-refs/{urllib.parse.quote(short, safe='/')}"
    return [GitRef.from_api(item) for item in api.paginate(path, deadline=deadline)]


def update_ref(
    api: GitHubApi,
    repo: Repository,
    name: str,
    sha: str,
    *,
    force: bool = False,
    deadline: float | None = None,
) -> GitRef:
    """Move `name` to `sha`; without `force` only forward, else `RefNotFastForwardError`."""
    try:
        data = api.request(
            "PATCH", _path(repo, "refs", name), body={"sha": sha, "force": force}, deadline=deadline
        ).data
    except ValidationFailedError as error:
        if error.status == 422 and _NOT_FAST_FORWARD in error.message:
            raise RefNotFastForwardError(
                error.message, status=error.status, method=error.method, url=error.url
            ) from None
        raise
    return GitRef.from_api(data)


def delete_ref(api: GitHubApi, repo: Repository, name: str, *, deadline: float | None = None) -> bool:
    """Delete `name`: True when it was there, False when it was not (422 "Reference does not
    exist"). Safe to repeat, so it is retried like a read."""
    try:
        api.request("DELETE", _path(repo, "refs", name), idempotent=True, deadline=deadline)
    except ValidationFailedError as error:
        if error.status == 422 and _MISSING in error.message:
            return False
        raise
    return True
