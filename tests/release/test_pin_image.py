"""pin_image.py: the release's action.yml runs the prebuilt image by digest; nothing else changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import pin_image
from tests.release.conftest import ROOT, commit_file, git, scratch_repository

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"docker://ghcr.io/wait-and-dispatch/wait-and-dispatch@{DIGEST}"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A scratch repository holding this repository's action.yml and package __init__.py, committed."""
    repo = scratch_repository(tmp_path / "repo")
    init = repo / "src" / "wait_and_dispatch" / "__init__.py"
    init.parent.mkdir(parents=True)
    shutil.copy(ROOT / "src" / "wait_and_dispatch" / "__init__.py", init)
    git(repo, "add", ".")
    commit_file(repo, "action.yml", (ROOT / "action.yml").read_text(encoding="utf-8"), "main's action.yml")
    return repo


def test_the_image_line_becomes_the_ghcr_image_at_the_digest_and_no_other_byte_changes(
    checkout: Path,
) -> None:
    before = (checkout / "action.yml").read_bytes()

    assert pin_image.main(["--digest", DIGEST, "--root", str(checkout)]) == 0

    # git's own accounting: one line out, one line in, in action.yml only.
    assert git(checkout, "diff", "--numstat") == "1\t1\taction.yml"
    changed = [line for line in git(checkout, "diff", "--unified=0").splitlines() if line[:1] in "+-"]
    assert changed[2:] == ["-  image: Dockerfile", f"+  image: {IMAGE}"]
    after = (checkout / "action.yml").read_bytes()
    assert after == before.replace(b"  image: Dockerfile\n", f"  image: {IMAGE}\n".encode())
    assert yaml.safe_load(after)["runs"]["image"] == IMAGE


def test_windows_line_endings_and_a_quoted_value_with_a_comment_are_kept() -> None:
    text = (
        'name: x\r\nruns:\r\n  using: docker\r\n  image: "Dockerfile"  # built on main\r\n'
        "  post-if: cancelled()\r\n"
    )

    pinned = pin_image.pin(text, "ghcr.io/o/n", DIGEST)

    assert pinned == text.replace('"Dockerfile"', f"docker://ghcr.io/o/n@{DIGEST}")


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:" + "0123456789ABCDEF" * 4,  # registries write digests in lowercase
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha512:" + "0" * 128,
        "0" * 64,
        f"ghcr.io/wait-and-dispatch/wait-and-dispatch@{DIGEST}",
        f"{DIGEST}\n",
    ],
)
def test_anything_but_a_sha256_digest_is_refused_and_action_yml_is_untouched(
    checkout: Path, digest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pin_image.main(["--digest", digest, "--root", str(checkout)]) == 1

    assert "is not an image digest" in capsys.readouterr().err
    assert git(checkout, "status", "--porcelain") == ""


def test_an_action_yml_pinned_already_is_refused(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pin_image.main(["--digest", DIGEST, "--root", str(checkout)]) == 0
    pinned = (checkout / "action.yml").read_bytes()

    assert pin_image.main(["--digest", "sha256:" + "f" * 64, "--root", str(checkout)]) == 1

    assert "not Dockerfile: is it pinned already?" in capsys.readouterr().err
    assert (checkout / "action.yml").read_bytes() == pinned


def test_an_image_key_outside_runs_is_not_taken_for_the_runs_image() -> None:
    text = "inputs:\n  x:\n    image: Dockerfile\nruns:\n  using: composite\n"

    with pytest.raises(pin_image.ReleaseError, match="0 `image:` lines under `runs:`"):
        pin_image.pin(text, "ghcr.io/o/n", DIGEST)


def test_the_image_is_named_after_the_action_repository_in_lowercase(tmp_path: Path) -> None:
    init = tmp_path / "src" / "wait_and_dispatch" / "__init__.py"
    init.parent.mkdir(parents=True)
    init.write_text('ACTION_REPOSITORY = "Wait-And-Dispatch/Wait-And-Dispatch"\n', encoding="utf-8")

    assert pin_image.image_name(tmp_path) == "ghcr.io/wait-and-dispatch/wait-and-dispatch"
