"""Git references as GitHub serves them (REST "Git references"): a ref read by `heads/x`, refs
listed by prefix, created once (a second create of a name answers 422, which is what makes a
ref an atomic claim), moved only forward unless forced, and deleted."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests

from tests.emulator.conftest import FEATURE_SHA, MAIN_SHA, TAG_SHA, Http
from wait_and_dispatch.emulator import Emulator

CHILD_SHA = "5555555555555555555555555555555555555555"


def _create(http: Http, ref: str, sha: str = MAIN_SHA, token: str = "dev") -> requests.Response:
    return http.post("/repos/octo/app/git/refs", {"ref": ref, "sha": sha}, token=token)


def _send(http: Http, method: str, path: str, body: Any = None) -> requests.Response:
    return http.session.request(
        method, http.url(path), json=body, headers=http.headers("dev", None), timeout=10
    )


def test_a_branch_is_a_ref_read_by_its_name_under_heads(http: Http) -> None:
    answer = http.get("/repos/octo/app/git/ref/heads/feature/x")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["ref"], body["object"]["sha"], body["object"]["type"]) == (
        "refs/heads/feature/x",
        FEATURE_SHA,
        "commit",
    )
    assert body["url"] == f"{http.emu.api_url}/repos/octo/app/git/refs/heads/feature/x"


def test_a_ref_that_does_not_exist_answers_404(http: Http) -> None:
    answer = http.get("/repos/octo/app/git/ref/heads/nope")
    assert (answer.status_code, answer.json()["message"]) == (404, "Not Found")


def test_matching_refs_lists_every_ref_that_starts_with_the_prefix_sorted(http: Http) -> None:
    for name in ("refs/heads/claim/b", "refs/heads/claim/a", "refs/heads/claimed"):
        assert _create(http, name).status_code == 201
    answer = http.get("/repos/octo/app/git/matching-refs/heads/claim")
    assert [r["ref"] for r in answer.json()] == [
        "refs/heads/claim/a",
        "refs/heads/claim/b",
        "refs/heads/claimed",
    ]


def test_matching_refs_answers_every_ref_at_once_whatever_per_page_says(http: Http) -> None:
    # GitHub ignores per_page and page on this list and sends no Link (github/docs#3863).
    for n in range(105):
        assert _create(http, f"refs/claims/n{n:03}").status_code == 201
    answer = http.get("/repos/octo/app/git/matching-refs/claims/?per_page=2&page=2")
    assert (len(answer.json()), answer.headers.get("Link")) == (105, None)


def test_matching_refs_with_no_match_is_an_empty_list_not_a_404(http: Http) -> None:
    answer = http.get("/repos/octo/app/git/matching-refs/tags/v9")
    assert (answer.status_code, answer.json()) == (200, [])


def test_create_answers_201_with_the_ref_and_its_location(http: Http) -> None:
    answer = _create(http, "refs/plans/abc/node")
    assert answer.status_code == 201
    assert answer.headers["Location"] == answer.json()["url"]
    assert http.get("/repos/octo/app/git/ref/plans/abc/node").json()["object"]["sha"] == MAIN_SHA


def test_a_second_create_of_the_same_ref_answers_422_reference_already_exists(http: Http) -> None:
    assert _create(http, "refs/heads/claim/x").status_code == 201
    again = _create(http, "refs/heads/claim/x", FEATURE_SHA)
    assert (again.status_code, again.json()["message"]) == (422, "Reference already exists")
    assert http.get("/repos/octo/app/git/ref/heads/claim/x").json()["object"]["sha"] == MAIN_SHA


def test_simultaneous_creates_of_one_ref_give_exactly_one_201(emu: Emulator) -> None:
    contenders = 16
    barrier = threading.Barrier(contenders)
    statuses: list[int] = []
    lock = threading.Lock()

    def claim() -> None:
        with requests.Session() as session:
            barrier.wait()
            answer = session.post(
                f"{emu.api_url}/repos/octo/app/git/refs",
                json={"ref": "refs/heads/claim/race", "sha": MAIN_SHA},
                headers={"Authorization": f"Bearer {emu.token('dev')}"},
                timeout=10,
            )
        with lock:
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=claim) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [422] * (contenders - 1)


def test_create_needs_contents_write(http: Http) -> None:
    answer = _create(http, "refs/heads/claim/y", token="ci")
    assert answer.status_code == 403
    assert answer.headers["X-Accepted-GitHub-Permissions"] == "contents=write"


def test_create_refuses_a_name_without_refs_and_two_slashes(http: Http) -> None:
    for name in ("heads/x", "refs/x"):
        answer = _create(http, name)
        assert (answer.status_code, answer.json()["message"]) == (
            422,
            "Reference name must contain at least three slash-separated components.",
        )


def test_create_refuses_a_name_git_refuses(http: Http) -> None:
    refused = (
        "refs/heads/a..b",
        "refs/heads/a b",
        "refs/heads/x.lock",
        "refs/heads/.hidden",
        "refs/heads/x/",
    )
    for name in refused:
        answer = _create(http, name)
        assert (answer.status_code, answer.json()["message"]) == (422, f"{name} is not a valid ref name.")


def test_create_refuses_a_commit_the_repository_does_not_have(http: Http) -> None:
    answer = _create(http, "refs/heads/claim/z", "9" * 40)
    assert (answer.status_code, answer.json()["message"]) == (422, "Object does not exist")


def test_a_ref_cannot_be_created_inside_or_around_another(http: Http) -> None:
    assert _create(http, "refs/heads/claim/a").status_code == 201
    for name in ("refs/heads/claim/a/b", "refs/heads/claim"):
        answer = _create(http, name)
        assert (answer.status_code, answer.json()["message"]) == (422, "Reference update failed")


def test_a_created_branch_can_be_dispatched_on(http: Http) -> None:
    assert _create(http, "refs/heads/release/1", FEATURE_SHA).status_code == 201
    run_id = http.dispatch_run_id()
    assert http.get(f"/repos/octo/app/actions/runs/{run_id}").status_code == 200
    answer = http.dispatch(ref="release/1", return_run_details=True)
    run = http.get(f"/repos/octo/app/actions/runs/{answer.json()['workflow_run_id']}").json()
    assert (run["head_branch"], run["head_sha"]) == ("release/1", FEATURE_SHA)


def test_update_moves_a_ref_forward_along_the_commits_parents(
    start: Callable[[dict[str, Any]], Emulator], scenario: dict[str, Any]
) -> None:
    scenario["repos"]["octo/app"]["commits"][CHILD_SHA] = {"message": "Next", "parents": [MAIN_SHA]}
    http = Http(start(scenario))
    answer = _send(http, "PATCH", "/repos/octo/app/git/refs/heads/main", {"sha": CHILD_SHA})
    assert (answer.status_code, answer.json()["object"]["sha"]) == (200, CHILD_SHA)
    assert http.get("/repos/octo/app/commits/main").json()["sha"] == CHILD_SHA


def test_update_that_is_not_a_fast_forward_answers_422_unless_forced(http: Http) -> None:
    refused = _send(http, "PATCH", "/repos/octo/app/git/refs/heads/main", {"sha": TAG_SHA})
    assert (refused.status_code, refused.json()["message"]) == (422, "Update is not a fast forward")
    forced = _send(http, "PATCH", "/repos/octo/app/git/refs/heads/main", {"sha": TAG_SHA, "force": True})
    assert (forced.status_code, forced.json()["object"]["sha"]) == (200, TAG_SHA)


def test_update_of_a_ref_that_does_not_exist_answers_422(http: Http) -> None:
    answer = _send(http, "PATCH", "/repos/octo/app/git/refs/heads/nope", {"sha": MAIN_SHA, "force": True})
    assert (answer.status_code, answer.json()["message"]) == (422, "Reference does not exist")


def test_the_path_names_a_ref_without_its_refs_prefix(http: Http) -> None:
    answer = _send(http, "DELETE", "/repos/octo/app/git/refs/refs/heads/feature/x")
    assert (answer.status_code, answer.json()["message"]) == (422, "Reference does not exist")


def test_delete_answers_204_and_the_ref_is_gone(http: Http) -> None:
    assert _create(http, "refs/heads/claim/gone").status_code == 201
    assert _send(http, "DELETE", "/repos/octo/app/git/refs/heads/claim/gone").status_code == 204
    assert http.get("/repos/octo/app/git/ref/heads/claim/gone").status_code == 404
    again = _send(http, "DELETE", "/repos/octo/app/git/refs/heads/claim/gone")
    assert (again.status_code, again.json()["message"]) == (422, "Reference does not exist")
    assert _create(http, "refs/heads/claim/gone").status_code == 201


def test_the_default_branch_cannot_be_deleted(http: Http) -> None:
    assert _send(http, "DELETE", "/repos/octo/app/git/refs/heads/main").status_code == 422
    assert http.get("/repos/octo/app/git/ref/heads/main").status_code == 200
