"""tag_plan.py on scratch git repositories: the release tag is created, `vX.Y` and `vX` follow the
newest release of their line, never backwards, and the push is all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import tag_plan
from tests.release.conftest import commit_file, git, scratch_repository


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    return path


@pytest.fixture
def repo(tmp_path: Path, remote: Path) -> Path:
    path = scratch_repository(tmp_path / "work")
    git(path, "remote", "add", "origin", str(remote))
    return path


def commit(repo: Path, label: str) -> str:
    return commit_file(repo, "CHANGELOG.md", f"{label}\n", label)


def tags_at(repo: Path) -> dict[str, str]:
    """Every tag of `repo` (a work tree or a bare remote) and the commit it names."""
    listing = git(
        repo, "for-each-ref", "--format=%(refname:strip=2) %(objectname) %(*objectname)", "refs/tags"
    )
    tags = {}
    for line in listing.splitlines():
        name, obj, *peeled = line.split()
        tags[name] = peeled[0] if peeled else obj
    return tags


def release(repo: Path, version: str, at: str, *extra: str) -> int:
    return tag_plan.main(
        [version, "--commit", at, "--repo", str(repo), "--apply", "--push", "origin", *extra]
    )


def test_the_first_release_creates_its_tag_and_the_minor_and_major_tags(repo: Path, remote: Path) -> None:
    first = commit(repo, "1.0.0")

    assert release(repo, "1.0.0", first) == 0

    assert tags_at(remote) == {"v1.0.0": first, "v1.0": first, "v1": first}
    # The release tag is annotated (it says which release it is); the floating ones are plain.
    assert git(remote, "cat-file", "-t", "v1.0.0") == "tag"
    assert git(remote, "cat-file", "-t", "v1") == "commit"


def test_the_pushed_tag_moves_from_the_source_commit_to_the_release_commit(repo: Path, remote: Path) -> None:
    first = commit(repo, "1.0.0")
    assert release(repo, "1.0.0", first) == 0
    # The maintainer tags main's commit; the workflow builds the release commit on it.
    source = commit(repo, "1.1.0 source")
    git(repo, "tag", "--annotate", "--message", "release 1.1.0", "v1.1.0", source)
    git(repo, "push", "--quiet", "origin", "v1.1.0")
    release_commit = commit(repo, "1.1.0 release: action.yml pins the image")

    assert release(repo, "1.1.0", release_commit, "--source", source) == 0

    assert tags_at(remote) == {
        "v1.0.0": first,
        "v1.0": first,
        "v1.1.0": release_commit,
        "v1.1": release_commit,
        "v1": release_commit,
    }


def test_a_released_tag_on_another_commit_is_a_conflict_and_nothing_moves(
    repo: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = commit(repo, "something else")
    git(repo, "tag", "v1.0.0", elsewhere)
    git(repo, "push", "--quiet", "origin", "v1.0.0")
    release_commit = commit(repo, "1.0.0 release")

    assert release(repo, "1.0.0", release_commit) == 1

    assert "v1.0.0 already names" in capsys.readouterr().err
    assert tags_at(repo) == tags_at(remote) == {"v1.0.0": elsewhere}


def test_a_patch_of_an_older_line_moves_its_minor_tag_but_not_the_major_tag(repo: Path, remote: Path) -> None:
    v100 = commit(repo, "1.0.0")
    assert release(repo, "1.0.0", v100) == 0
    v110 = commit(repo, "1.1.0")
    assert release(repo, "1.1.0", v110) == 0
    git(repo, "checkout", "--quiet", "--detach", v100)
    v101 = commit(repo, "1.0.1, a fix on the 1.0 line")

    assert release(repo, "1.0.1", v101) == 0

    tags = tags_at(remote)
    assert (tags["v1.0.1"], tags["v1.0"]) == (v101, v101)
    assert tags["v1"] == v110  # never backwards: v1 stays at 1.1.0
    assert tags["v1.1"] == v110


def test_a_major_tag_set_by_hand_is_judged_by_the_newest_release_of_its_line(repo: Path) -> None:
    v120 = commit(repo, "1.2.0")
    git(repo, "tag", "v1.2.0", v120)
    hand = commit(repo, "a commit someone pointed v1 at")
    git(repo, "tag", "v1", hand)
    v115 = commit(repo, "1.1.5")

    moves = tag_plan.plan(tag_plan.Version.parse("1.1.5"), v115, tag_plan.existing_tags(repo))

    by_tag = {move.tag: move for move in moves}
    assert by_tag["v1"].commit == hand and not by_tag["v1"].changes
    assert by_tag["v1"].reason == "stays at v1.2.0, newer"


def test_a_prerelease_gets_its_tag_and_moves_nothing(repo: Path, remote: Path) -> None:
    v100 = commit(repo, "1.0.0")
    assert release(repo, "1.0.0", v100) == 0
    rc = commit(repo, "2.0.0-rc.1")

    assert release(repo, "2.0.0-rc.1", rc) == 0

    assert tags_at(remote) == {"v1.0.0": v100, "v1.0": v100, "v1": v100, "v2.0.0-rc.1": rc}


def test_the_release_after_a_prerelease_moves_the_major_tag_for_the_first_time(
    repo: Path, remote: Path
) -> None:
    rc = commit(repo, "2.0.0-rc.1")
    assert release(repo, "2.0.0-rc.1", rc) == 0
    final = commit(repo, "2.0.0")

    assert release(repo, "2.0.0", final) == 0

    assert tags_at(remote) == {"v2.0.0-rc.1": rc, "v2.0.0": final, "v2.0": final, "v2": final}


def test_without_apply_the_plan_is_printed_and_no_tag_is_set(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v100 = commit(repo, "1.0.0")

    assert tag_plan.main(["1.0.0", "--commit", v100, "--repo", str(repo)]) == 0

    short = v100[:12]
    assert capsys.readouterr().out.splitlines() == [
        f"v1.0.0 -> {short}: new",
        f"v1.0 -> {short}: new, at v1.0.0",
        f"v1 -> {short}: new, at v1.0.0",
        "latest=true",
    ]
    assert tags_at(repo) == {}


def test_a_tag_moved_on_the_remote_meanwhile_fails_the_whole_push(
    repo: Path, remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v100 = commit(repo, "1.0.0")
    assert release(repo, "1.0.0", v100) == 0
    # Someone else moves v1 on the remote; this clone has not fetched it.
    other = scratch_repository(tmp_path / "other")
    elsewhere = commit(other, "elsewhere")
    git(other, "push", "--quiet", "--force", str(remote), f"{elsewhere}:refs/tags/v1")
    v110 = commit(repo, "1.1.0")

    assert release(repo, "1.1.0", v110) == 1

    assert "git push" in capsys.readouterr().err
    # Atomic: not even the new v1.1.0 reached the remote.
    assert tags_at(remote) == {"v1.0.0": v100, "v1.0": v100, "v1": elsewhere}


def test_releasing_again_changes_nothing(repo: Path, remote: Path) -> None:
    v100 = commit(repo, "1.0.0")
    assert release(repo, "1.0.0", v100) == 0
    objects = git(remote, "for-each-ref", "--format=%(objectname)", "refs/tags")

    assert release(repo, "1.0.0", v100) == 0

    assert git(remote, "for-each-ref", "--format=%(objectname)", "refs/tags") == objects


@pytest.mark.parametrize(
    ("version", "latest"),
    [("1.2.0", True), ("2.0.0", True), ("1.1.0", True), ("1.0.1", False), ("2.0.0-rc.1", False)],
)
def test_only_the_newest_release_becomes_the_latest_github_release(
    repo: Path, tmp_path: Path, version: str, latest: bool
) -> None:
    head = commit(repo, "history")
    for tag in ("v1.0.0", "v1.1.0", "v1.1", "v1"):
        git(repo, "tag", tag, head)
    output = tmp_path / "github_output"

    assert (
        tag_plan.main([version, "--commit", head, "--repo", str(repo), "--github-output", str(output)]) == 0
    )

    assert output.read_text(encoding="utf-8") == f"latest={'true' if latest else 'false'}\n"
