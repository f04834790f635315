"""The engine's git refs (engine/git_refs.py) against the emulator: a create that says whether this
caller made the ref or found it, reads that say "none" rather than fail, updates that refuse to
move a ref backwards, deletes that may be repeated, and names refused before anything is sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import FEATURE_SHA, MAIN_SHA
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.engine.git_refs import (
    Claim,
    claim_ref,
    create_ref,
    delete_ref,
    get_ref,
    matching_refs,
    update_ref,
)
from wait_and_dispatch.engine.github_objects import GitRef, Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.errors import (
    PermissionDeniedError,
    RefNotFastForwardError,
    RefusedBeforeSendingError,
    ValidationFailedError,
    WriteOutcomeUnknownError,
)

APP = Repository("octo", "app")
CLAIM = "refs/wait-and-dispatch/plan-1/build"


def test_the_first_create_claims_the_ref_and_the_second_finds_it(api: GitHubApi) -> None:
    assert create_ref(api, APP, CLAIM, MAIN_SHA) is Claim.CREATED
    assert create_ref(api, APP, CLAIM, FEATURE_SHA) is Claim.ALREADY_EXISTS
    assert get_ref(api, APP, CLAIM) == GitRef(CLAIM, MAIN_SHA)


def test_of_two_clients_claiming_at_once_exactly_one_creates(
    make_api: Callable[..., GitHubApi], emulator: Emulator
) -> None:
    for round_ in range(10):
        name = f"refs/wait-and-dispatch/race/{round_}"
        barrier = threading.Barrier(2)
        claims: list[Claim] = []

        def claim(
            name: str = name, barrier: threading.Barrier = barrier, claims: list[Claim] = claims
        ) -> None:
            api = make_api(emulator)
            barrier.wait()
            claims.append(create_ref(api, APP, name, MAIN_SHA))

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(c.value for c in claims) == ["already-exists", "created"]


def test_a_create_whose_answer_is_lost_is_neither_a_claim_nor_a_refusal(
    api: GitHubApi, emulator: Emulator
) -> None:
    # A retry would answer "already exists" to this call's own creation: the caller must look.
    emulator.inject(Fault(host="api", method="POST", path="*/git/refs", kind="apply_then_fail", status=502))
    with pytest.raises(WriteOutcomeUnknownError):
        create_ref(api, APP, CLAIM, MAIN_SHA)
    assert get_ref(api, APP, CLAIM) == GitRef(CLAIM, MAIN_SHA)
    assert len([r for r in emulator.writes() if r.path.endswith("/git/refs")]) == 1


def test_a_claim_whose_answer_is_lost_is_read_back_and_uncertain_when_there(
    api: GitHubApi, emulator: Emulator
) -> None:
    """The ref is there after a lost answer: this call or another made it, and every claim of a
    name points at the same commit, so nobody can say whose it is."""
    emulator.inject(Fault(host="api", method="POST", path="*/git/refs", kind="apply_then_fail", status=502))
    assert claim_ref(api, APP, CLAIM, MAIN_SHA) is Claim.UNCERTAIN
    assert len([r for r in emulator.writes() if r.path.endswith("/git/refs")]) == 1


def test_a_claim_whose_lost_answer_did_not_land_is_sent_again(api: GitHubApi, emulator: Emulator) -> None:
    emulator.inject(Fault(host="api", method="POST", path="*/git/refs", status=502))
    assert claim_ref(api, APP, CLAIM, MAIN_SHA) is Claim.CREATED
    assert claim_ref(api, APP, CLAIM, MAIN_SHA) is Claim.ALREADY_EXISTS
    assert get_ref(api, APP, CLAIM) == GitRef(CLAIM, MAIN_SHA)


def test_a_claim_found_made_on_its_second_send_after_a_lost_answer_is_uncertain(
    api: GitHubApi, emulator: Emulator
) -> None:
    """Not seen when read back, there when sent again: the first may have landed late."""
    emulator.inject(Fault(host="api", method="POST", path="*/git/refs", kind="apply_then_fail", status=502))
    emulator.inject(Fault(host="api", method="GET", path="*/git/ref/*", status=404))
    assert claim_ref(api, APP, CLAIM, MAIN_SHA) is Claim.UNCERTAIN
    assert len([r for r in emulator.writes() if r.path.endswith("/git/refs")]) == 2


def test_a_ref_that_is_not_there_reads_as_none(api: GitHubApi) -> None:
    assert get_ref(api, APP, "refs/heads/nope") is None
    assert get_ref(api, APP, "refs/heads/feature/x") == GitRef("refs/heads/feature/x", FEATURE_SHA)


def test_matching_refs_lists_by_prefix_and_none_is_empty(api: GitHubApi) -> None:
    for node in ("test", "build"):
        create_ref(api, APP, f"refs/wait-and-dispatch/plan-2/{node}", MAIN_SHA)
    assert [r.name for r in matching_refs(api, APP, "refs/wait-and-dispatch/plan-2/")] == [
        "refs/wait-and-dispatch/plan-2/build",
        "refs/wait-and-dispatch/plan-2/test",
    ]
    assert matching_refs(api, APP, "refs/wait-and-dispatch/plan-3/") == []


def test_matching_refs_pages_through_more_than_a_hundred(api: GitHubApi) -> None:
    for n in range(105):
        create_ref(api, APP, f"refs/wait-and-dispatch/many/{n:03d}", MAIN_SHA)
    assert len(matching_refs(api, APP, "refs/wait-and-dispatch/many/")) == 105


def test_an_update_that_is_not_a_fast_forward_is_its_own_error_unless_forced(api: GitHubApi) -> None:
    create_ref(api, APP, CLAIM, MAIN_SHA)
    with pytest.raises(RefNotFastForwardError):
        update_ref(api, APP, CLAIM, FEATURE_SHA)
    assert update_ref(api, APP, CLAIM, FEATURE_SHA, force=True) == GitRef(CLAIM, FEATURE_SHA)


def test_delete_says_whether_the_ref_was_there(api: GitHubApi) -> None:
    create_ref(api, APP, CLAIM, MAIN_SHA)
    assert delete_ref(api, APP, CLAIM) is True
    assert delete_ref(api, APP, CLAIM) is False
    assert create_ref(api, APP, CLAIM, MAIN_SHA) is Claim.CREATED


@pytest.mark.parametrize("name", ["heads/main", "refs/main", "refs/heads/a..b", "refs/heads/x/", "refs/x/.y"])
def test_a_name_github_would_refuse_is_refused_before_anything_is_sent(
    api: GitHubApi, emulator: Emulator, name: str
) -> None:
    with pytest.raises(RefusedBeforeSendingError):
        create_ref(api, APP, name, MAIN_SHA)
    assert emulator.writes() == []


def test_a_commit_the_repository_does_not_have_is_githubs_refusal(api: GitHubApi) -> None:
    with pytest.raises(ValidationFailedError, match="Object does not exist"):
        create_ref(api, APP, CLAIM, "c" * 40)


def test_a_token_without_contents_write_is_told_which_permission_it_needs(
    make_api: Callable[..., GitHubApi], emulator: Emulator
) -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        create_ref(make_api(emulator, "ci"), APP, CLAIM, MAIN_SHA)
    assert "contents: write" in raised.value.hint


def test_a_malformed_ref_answer_is_a_typed_error() -> None:
    from wait_and_dispatch.support.errors import MalformedAnswerError

    broken: Any = {"ref": "refs/heads/x", "object": {"sha": "not a sha"}}
    with pytest.raises(MalformedAnswerError):
        GitRef.from_api(broken)
