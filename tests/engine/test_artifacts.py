"""Artifacts of a run: listing, selection, download, verification and safe unpacking.

Integration tests drive the emulator over real HTTP: the API host answers the listing and the
302, the storage host serves the zip and refuses the token, as GitHub's do
(docs/github-behaviour.md#artifacts). Runs are declared complete in the scenario, so no time needs to pass.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FEATURE_SHA, MAIN_SHA
from wait_and_dispatch.emulator import Emulator, Fault
from wait_and_dispatch.engine.artifact_download import download_artifacts
from wait_and_dispatch.engine.artifact_selection import (
    latest_successful_run,
    list_artifacts,
    select_artifacts,
)
from wait_and_dispatch.engine.github_objects import Artifact, Repository, WorkflowRun
from wait_and_dispatch.engine.progress import ProgressEvent, ProgressKind
from wait_and_dispatch.engine.requests import ArtifactSelection
from wait_and_dispatch.engine.unzip import StreamingUnzip, unpack_file
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import (
    ArtifactDigestMismatchError,
    ArtifactError,
    ArtifactExpiredError,
    ArtifactNotFoundError,
    ExitCode,
    ForkArtifactRefusedError,
    RunNotFoundError,
    UnsafeArtifactError,
)

StartEmulator = Callable[[dict[str, Any]], Emulator]
MakeApi = Callable[..., GitHubApi]

REPO = Repository("octo", "app")
RUNS = "/repos/octo/app/actions/runs"
WORKFLOW_ID = 1001
MiB = 1024 * 1024


class OctoApp:
    """A scenario with one completed push run on main whose artifacts the test chose."""

    def __init__(
        self, start_emulator: StartEmulator, make_api: MakeApi, scenario_dict: dict[str, Any]
    ) -> None:
        self._start = start_emulator
        self._make_api = make_api
        self.scenario = scenario_dict
        self.scenario["repos"]["octo/app"]["workflows"][0]["id"] = WORKFLOW_ID

    def run(self, **fields: Any) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": MAIN_SHA,
            "head_branch": "main",
            "created": -600,
            "timeline": {"queued": 0, "duration": 300},
            "conclusion": "success",
        }
        spec.update(fields)
        return spec

    def start(self, *runs: dict[str, Any]) -> tuple[Emulator, GitHubApi]:
        self.scenario["repos"]["octo/app"]["runs"] = list(runs)
        emulator = self._start(self.scenario)
        return emulator, self._make_api(emulator)

    def one_run(self, artifacts: list[dict[str, Any]], **fields: Any) -> tuple[Emulator, GitHubApi, int]:
        emulator, api = self.start(self.run(artifacts=artifacts, **fields))
        runs = api.get(RUNS).data["workflow_runs"]
        assert len(runs) == 1
        return emulator, api, int(runs[0]["id"])


@pytest.fixture
def octo_app(start_emulator: StartEmulator, make_api: MakeApi, scenario_dict: dict[str, Any]) -> OctoApp:
    return OctoApp(start_emulator, make_api, scenario_dict)


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` by relative path (hidden ones too), with its content."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()
    }


def artifact(id: int, name: str, run_id: int = 7) -> Artifact:
    return Artifact(
        id=id,
        name=name,
        size=10,
        digest=None,
        expired=False,
        archive_download_url="",
        run_id=run_id,
        repository_id=1,
        head_repository_id=1,
        head_sha=None,
        head_branch=None,
    )


# -- listing ---------------------------------------------------------------------------------------


def test_lists_every_page_of_a_run_with_250_artifacts(octo_app: OctoApp) -> None:
    emulator, api, run_id = octo_app.one_run(
        [{"name": f"shard-{i:03}", "files": {"a.txt": "a"}} for i in range(250)]
    )

    listed = list_artifacts(api, REPO, run_id)

    assert [a.name for a in listed] == [f"shard-{i:03}" for i in range(250)]
    assert len({a.id for a in listed}) == 250
    pages = [r for r in emulator.requests if r.host == "api" and r.path.endswith("/artifacts")]
    assert len(pages) == 3  # 100 + 100 + 50, following GitHub's Link header


# -- selecting -------------------------------------------------------------------------------------


def test_selects_exact_names_and_globs_in_pattern_order_without_duplicates() -> None:
    available = [artifact(1, "dist-linux"), artifact(2, "dist-mac"), artifact(3, "docs"), artifact(4, "logs")]

    chosen = select_artifacts(available, ["docs", "dist-*", "dist-mac"])

    assert [a.name for a in chosen] == ["docs", "dist-linux", "dist-mac"]


def test_no_patterns_select_every_artifact() -> None:
    available = [artifact(1, "a"), artifact(2, "b")]
    assert select_artifacts(available, []) == available


def test_an_exact_name_with_glob_characters_matches_itself() -> None:
    available = [artifact(1, "build[linux]"), artifact(2, "buildl")]
    assert [a.id for a in select_artifacts(available, ["build[linux]"])] == [1, 2]
    assert [a.id for a in select_artifacts(available, ["build[[]linux]"])] == [1]


def test_the_newest_of_artifacts_sharing_a_name_is_taken() -> None:
    # A re-run attempt uploads again under the same name (download-artifact lists `latest: true`).
    available = [artifact(10, "package"), artifact(11, "logs"), artifact(12, "package")]
    assert [a.id for a in select_artifacts(available, [])] == [12, 11]


def test_a_missing_name_is_an_error_listing_the_names_the_run_has(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "package", "files": {"a": "a"}}, {"name": "logs", "files": {"b": "b"}}]
    )
    selection = ArtifactSelection(patterns=("package", "pkg-*"), path=tmp_path / "out")

    with pytest.raises(ArtifactNotFoundError) as caught:
        download_artifacts(api, REPO, run_id, selection)

    assert str(caught.value) == f"no artifact matching 'pkg-*' in run {run_id}; it has package, logs"
    assert "glob" in caught.value.hint
    assert not (tmp_path / "out").exists()


def test_the_not_found_message_stays_short_for_hundreds_of_artifacts() -> None:
    available = [artifact(i, f"shard-{i:03}") for i in range(300)]

    with pytest.raises(ArtifactNotFoundError) as caught:
        select_artifacts(available, ["nope"])

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("no artifact matching 'nope' in run 7; it has shard-000, shard-001,")
    assert message.endswith("shard-019 and 280 more")


# -- layout, as actions/download-artifact lays it out ------------------------------------------------


def test_one_artifact_unpacks_straight_into_the_destination(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"bin/app": "app", "README": "hi"}}])
    out = tmp_path / "out"

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=out))

    assert files_under(out) == {"bin/app": b"app", "README": b"hi"}
    assert result.path == out
    assert result.name == "package"


def test_several_artifacts_unpack_into_a_folder_each(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "linux", "files": {"app": "elf"}}, {"name": "mac", "files": {"app": "mach-o"}}]
    )
    out = tmp_path / "out"

    results = download_artifacts(api, REPO, run_id, ArtifactSelection(path=out))

    assert files_under(out) == {"linux/app": b"elf", "mac/app": b"mach-o"}
    assert [r.path for r in results] == [out / "linux", out / "mac"]


def test_merge_multiple_unpacks_all_into_the_destination_later_ones_overwriting(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    _, api, run_id = octo_app.one_run(
        [
            {"name": "linux", "files": {"app": "elf", "linux.txt": "l"}},
            {"name": "mac", "files": {"app": "mach-o", "mac.txt": "m"}},
        ]
    )
    out = tmp_path / "out"
    selection = ArtifactSelection(patterns=("linux", "mac"), path=out, merge_multiple=True)

    results = download_artifacts(api, REPO, run_id, selection)

    assert files_under(out) == {"app": b"mach-o", "linux.txt": b"l", "mac.txt": b"m"}
    assert [r.path for r in results] == [out, out]


def test_files_already_in_the_destination_are_replaced_and_others_kept(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"app.txt": "new", "sub/b.txt": "b"}}])
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "app.txt").write_text("old")
    (out / "sub" / "mine.txt").write_text("mine")

    download_artifacts(api, REPO, run_id, ArtifactSelection(path=out))

    assert files_under(out) == {"app.txt": b"new", "sub/b.txt": b"b", "sub/mine.txt": b"mine"}


def test_a_link_in_the_destination_is_replaced_not_written_through(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"app.txt": "new"}}])
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "app.txt").symlink_to(outside)

    download_artifacts(api, REPO, run_id, ArtifactSelection(path=out))

    assert not (out / "app.txt").is_symlink()
    assert (out / "app.txt").read_text() == "new"
    assert outside.read_text() == "precious"


def test_a_destination_folder_linking_outside_is_not_written_through(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"sub/app.txt": "new"}}])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(UnsafeArtifactError, match="is a link leading outside"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=out))

    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["sub"]


def test_a_run_without_artifacts_downloads_nothing_when_none_are_named(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    _, api, run_id = octo_app.one_run([])
    assert download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out")) == ()
    assert not (tmp_path / "out").exists()


# -- digests -----------------------------------------------------------------------------------------


def test_the_sha256_digest_is_verified(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"app.txt": "app"}}])
    listed = list_artifacts(api, REPO, run_id)

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert result.verified
    assert result.digest == listed[0].digest
    assert result.size == listed[0].size


def test_a_digest_mismatch_raises_and_creates_nothing(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "package", "files": {"app.txt": "app"}, "digest": "sha256:" + "0" * 64}]
    )
    out = tmp_path / "deep" / "out"

    with pytest.raises(ArtifactDigestMismatchError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=out))

    message = str(caught.value)
    assert message.startswith(
        f"artifact 'package' of run {run_id} failed its sha256 check: expected 000000000000, got "
    )
    assert list(tmp_path.iterdir()) == []  # not even the destination folders, nor a temp folder


def test_a_digest_mismatch_leaves_an_existing_destination_as_it_was(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    _, api, run_id = octo_app.one_run(
        [
            {"name": "good", "files": {"good.txt": "g"}},
            {"name": "bad", "files": {"bad.txt": "b"}, "digest": "sha256:" + "0" * 64},
        ]
    )
    (tmp_path / "keep.txt").write_text("keep")

    with pytest.raises(ArtifactDigestMismatchError, match="'bad'"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    # All or nothing: the good artifact, downloaded first, was not moved in either.
    assert files_under(tmp_path) == {"keep.txt": b"keep"}
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_an_artifact_without_a_digest_downloads_unverified(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "v3", "files": {"a.txt": "a"}, "digest": None}])

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert not result.verified
    assert result.digest is None
    assert files_under(tmp_path) == {"a.txt": b"a"}


# -- unpacking safely --------------------------------------------------------------------------------


def test_an_entry_climbing_out_with_dotdot_is_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "crafted", "entries": [{"name": "../evil.txt", "content": "x"}]}]
    )

    with pytest.raises(UnsafeArtifactError, match=r"climbs out with '\.\.' \('\.\./evil\.txt'\)"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert list(tmp_path.iterdir()) == []


def test_an_entry_climbing_out_with_backslashes_is_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    # `\` separates folders on Windows: `..\evil.txt` climbs out there.
    _, api, run_id = octo_app.one_run(
        [{"name": "crafted", "entries": [{"name": "a\\..\\..\\evil.txt", "content": "x"}]}]
    )

    with pytest.raises(UnsafeArtifactError, match="climbs out"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert list(tmp_path.iterdir()) == []


def test_an_absolute_entry_is_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    target = tmp_path / "absolute.txt"
    _, api, run_id = octo_app.one_run(
        [{"name": "crafted", "entries": [{"name": str(target), "content": "x"}]}]
    )

    with pytest.raises(UnsafeArtifactError, match="absolute path"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert list(tmp_path.iterdir()) == []


def test_a_drive_letter_entry_is_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "crafted", "entries": [{"name": "C:/Windows/evil.dll", "content": "x"}]}]
    )

    with pytest.raises(UnsafeArtifactError, match="absolute path"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))


def test_a_symlink_to_etc_passwd_is_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "crafted", "entries": [{"name": "passwd", "symlink": "/etc/passwd"}]}]
    )

    with pytest.raises(UnsafeArtifactError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert str(caught.value) == (
        f"artifact 'crafted' of run {run_id} holds a symbolic link 'passwd' pointing outside it "
        "('/etc/passwd'); refusing it"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_climbing_out_of_the_artifact_is_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "crafted", "entries": [{"name": "docs/up", "symlink": "../../secret"}]}]
    )

    with pytest.raises(UnsafeArtifactError, match="pointing outside"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))


def test_a_symlink_inside_the_artifact_is_written_as_a_plain_file_holding_its_target(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    # What download-artifact does too (unzip-stream writes every entry as a file): no link is made.
    _, api, run_id = octo_app.one_run(
        [
            {
                "name": "docs",
                "entries": [
                    {"name": "docs/readme.txt", "content": "hello"},
                    {"name": "docs/latest", "symlink": "readme.txt"},
                ],
            }
        ]
    )

    download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert not (tmp_path / "docs" / "latest").is_symlink()
    assert files_under(tmp_path) == {"docs/readme.txt": b"hello", "docs/latest": b"readme.txt"}


def test_an_archive_unpacking_to_far_more_than_its_size_is_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    # The emulator stores files uncompressed, so its zip is as big as its content: a ratio below
    # 1 makes 2 MiB of zeros "too big" while staying above the 1 MiB floor.
    _, api, run_id = octo_app.one_run([{"name": "zeros", "files": {"zeros.txt": "0" * (2 * MiB)}}])
    selection = ArtifactSelection(path=tmp_path / "out", max_expansion_ratio=0.25)

    with pytest.raises(UnsafeArtifactError, match="refusing it as a zip bomb") as caught:
        download_artifacts(api, REPO, run_id, selection)

    assert f"artifact 'zeros' of run {run_id} declares 2,097,152 unpacked bytes" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def deflated_zip(path: Path, files: dict[str, bytes]) -> Path:
    """A zip compressed as upload-artifact compresses (deflate), which the emulator does not do."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_a_deflated_zip_bomb_is_refused_at_the_default_ratio(tmp_path: Path) -> None:
    bomb = deflated_zip(tmp_path / "bomb.zip", {"zeros.bin": bytes(64 * MiB)})
    assert bomb.stat().st_size < 100_000

    with pytest.raises(UnsafeArtifactError, match="zip bomb"):
        unpack_file(bomb, tmp_path / "out", label="artifact 'bomb' of run 1", max_ratio=200.0)

    assert not (tmp_path / "out").exists()


def test_a_tiny_zip_of_highly_compressible_text_passes_under_the_floor(tmp_path: Path) -> None:
    text = b"INFO step passed\n" * 30_000  # about 500 KiB that deflate to about 1 KiB: over 200:1
    small = deflated_zip(tmp_path / "logs.zip", {"log.txt": text})
    assert small.stat().st_size * 200 < len(text)

    unpack_file(small, tmp_path / "out", label="artifact 'logs' of run 1", max_ratio=200.0)

    assert (tmp_path / "out" / "log.txt").read_bytes() == text


def test_a_zip_whose_headers_understate_sizes_is_refused_after_no_more_than_they_state(
    tmp_path: Path,
) -> None:
    archive = deflated_zip(tmp_path / "liar.zip", {"zeros.bin": bytes(4 * MiB)})
    # Claim 1,000 bytes in both headers, so the size check passes: no more than that is unpacked.
    data = archive.read_bytes()
    real = (4 * MiB).to_bytes(4, "little")
    assert data.count(real) == 2
    archive.write_bytes(data.replace(real, (1000).to_bytes(4, "little")))

    with pytest.raises(
        UnsafeArtifactError, match=r"holds more data in 'zeros\.bin' than its header declares"
    ):
        unpack_file(archive, tmp_path / "out", label="artifact 'liar' of run 1", max_ratio=200.0)

    assert (tmp_path / "out" / "zeros.bin").stat().st_size <= 1000


def test_a_corrupted_entry_fails_its_crc_check(tmp_path: Path) -> None:
    archive = tmp_path / "flipped.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as package:
        package.writestr("notes.txt", b"release notes " * 100)
    archive.write_bytes(archive.read_bytes().replace(b"release", b"RELEASE", 1))

    with pytest.raises(
        ArtifactError, match=r"is not a valid zip: Bad CRC-32 for file 'notes\.txt'"
    ) as caught:
        unpack_file(archive, tmp_path / "out", label="artifact 'flipped' of run 1", max_ratio=200.0)

    assert caught.value.hint


class _Unseekable(io.RawIOBase):
    """A write-only stream, so zipfile writes data descriptors as upload-artifact's archiver does."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += chunk
        return len(chunk)


def streamed_zip(path: Path, files: dict[str, bytes], compression: int) -> Path:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", compression) as archive:
        for name, content in files.items():
            with archive.open(name, "w") as entry:
                entry.write(content)
    path.write_bytes(bytes(sink.data))
    return path


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"]
)
def test_entries_with_data_descriptors_unpack_as_upload_artifact_writes_them(
    tmp_path: Path, compression: int
) -> None:
    # A stored entry's end is found by its descriptor: a file holding the descriptor's signature
    # (PK\7\8) must not end early.
    files = {"dist/app.bin": b"head PK\x07\x08 tail" * 5000, "README": b"read me", "empty": b""}
    archive = streamed_zip(tmp_path / "streamed.zip", files, compression)
    assert all(info.flag_bits & 0x8 for info in zipfile.ZipFile(archive).infolist())

    unpack_file(archive, tmp_path / "out", label="artifact 'streamed' of run 1", max_ratio=200.0)

    assert files_under(tmp_path / "out") == files


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"]
)
@pytest.mark.parametrize("size", [1, 3, 7, 4096])
def test_a_zip_arriving_in_chunks_of_any_size_unpacks_the_same(
    tmp_path: Path, size: int, compression: int
) -> None:
    # Headers, descriptors and their signatures split across chunks wherever the network cuts.
    files = {"a.bin": b"x PK\x07\x08 y" * 300, "b/c.txt": b"see", "d.txt": b""}
    data = streamed_zip(tmp_path / "streamed.zip", files, compression).read_bytes()
    unzipper = StreamingUnzip(tmp_path / "out", "artifact 'chunks' of run 1", len(data), 200.0, tmp_path)

    with unzipper:
        for start in range(0, len(data), size):
            unzipper.write(data[start : start + size])
    unzipper.finish()

    assert files_under(tmp_path / "out") == files


def test_a_central_directory_naming_other_files_than_the_entries_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "two-faced.zip"
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("harmless.txt", b"hello")
    data = archive.read_bytes()
    central = data.index(b"PK\x01\x02")
    archive.write_bytes(data[:central] + data[central:].replace(b"harmless.txt", b"evil-run.sh!"))

    with pytest.raises(UnsafeArtifactError, match="central directory that does not match its entries"):
        unpack_file(archive, tmp_path / "out", label="artifact 'two-faced' of run 1", max_ratio=200.0)


def test_a_zip_without_its_end_is_reported_truncated(tmp_path: Path) -> None:
    archive = deflated_zip(tmp_path / "whole.zip", {"a.txt": b"a" * 10_000})
    archive.write_bytes(archive.read_bytes()[:60])

    with pytest.raises(ArtifactError, match=r"is truncated: it ends inside 'a\.txt'") as caught:
        unpack_file(archive, tmp_path / "out", label="artifact 'cut' of run 1", max_ratio=200.0)

    assert caught.value.hint


# -- expiry ------------------------------------------------------------------------------------------


def test_an_expired_artifact_is_refused_before_any_download(octo_app: OctoApp, tmp_path: Path) -> None:
    emulator, api, run_id = octo_app.one_run([{"name": "old", "files": {"a.txt": "a"}, "expired": True}])

    with pytest.raises(ArtifactExpiredError, match=f"artifact 'old' of run {run_id} has expired") as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert "retention-days" in caught.value.hint
    assert not [r for r in emulator.requests if r.path.endswith("/zip") or r.host == "blob"]


def test_an_artifact_gone_between_listing_and_download_is_reported_expired(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = octo_app.one_run([{"name": "package", "files": {"a.txt": "a"}}])
    emulator.inject(Fault(host="api", path="*/zip", status=410))

    with pytest.raises(ArtifactExpiredError, match="410"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert list(tmp_path.iterdir()) == []


# -- transport ---------------------------------------------------------------------------------------


def test_a_stream_cut_mid_download_is_retried_and_the_result_is_correct(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = octo_app.one_run([{"name": "package", "size": 300_000}])
    emulator.inject(Fault(host="blob", path="*", kind="cut_stream", after_bytes=1000))

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert result.verified
    assert (tmp_path / "package.bin").stat().st_size == 300_000
    assert len([r for r in emulator.requests if r.host == "blob"]) == 2


def test_a_stream_cut_on_every_attempt_says_how_many_bytes_arrived_and_is_an_artifact_error(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = octo_app.one_run([{"name": "package", "size": 300_000}])
    emulator.inject(Fault(host="blob", path="*", kind="cut_stream", after_bytes=100_000, times=None))

    with pytest.raises(ArtifactError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert f"artifact 'package' of run {run_id}" in str(caught.value)
    assert "cut after 100000 bytes" in str(caught.value)
    assert caught.value.exit_code is ExitCode.ARTIFACT
    assert caught.value.hint
    assert len([r for r in emulator.requests if r.host == "blob"]) > 1  # it was retried first
    assert not (tmp_path / "out").exists()


def test_a_stream_cut_on_every_attempt_within_a_deadline_is_still_an_artifact_error(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = octo_app.one_run([{"name": "package", "size": 300_000}])
    emulator.inject(Fault(host="blob", path="*", kind="cut_stream", after_bytes=100_000, times=None))
    deadline = api.clock.now() + 3600

    with pytest.raises(ArtifactError, match="cut after 100000 bytes") as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"), deadline=deadline)

    assert caught.value.exit_code is ExitCode.ARTIFACT
    assert api.clock.now() < deadline  # a few tries, not an hour of them


def test_an_unpacking_error_names_the_destination_never_the_staging_folder(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    # `report` is a file, then `report/summary.txt` needs it to be a folder.
    _, api, run_id = octo_app.one_run(
        [{"name": "clash", "files": {"report": "a file", "report/summary.txt": "in a folder"}}]
    )

    with pytest.raises(ArtifactError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    message = str(caught.value)
    assert ".wait-and-dispatch-" not in message and "/tree" not in message
    assert "'report/summary.txt'" in message
    assert caught.value.hint
    assert not (tmp_path / "out").exists()


def test_a_destination_that_is_a_file_is_an_error_with_a_hint(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"a.txt": "a"}}])
    (tmp_path / "out").write_text("not a folder")

    with pytest.raises(ArtifactError, match="is not a folder") as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert caught.value.hint


def test_a_folder_in_the_way_of_an_artifact_file_is_an_error_with_a_hint(
    octo_app: OctoApp, tmp_path: Path
) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"a.txt": "a"}}])
    (tmp_path / "a.txt").mkdir()

    with pytest.raises(ArtifactError, match="is a folder where the artifact has a file") as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert ".wait-and-dispatch-" not in str(caught.value)
    assert caught.value.hint
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_an_archive_that_is_not_a_zip_is_an_error_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"<html>not a zip</html>" * 100)

    with pytest.raises(ArtifactError, match="is not a valid zip") as caught:
        unpack_file(
            tmp_path / "junk.zip", tmp_path / "out", label="artifact 'junk' of run 1", max_ratio=200.0
        )

    assert caught.value.hint


def test_no_request_to_the_storage_host_carries_the_token(octo_app: OctoApp, tmp_path: Path) -> None:
    emulator, api, run_id = octo_app.one_run(
        [{"name": "a", "files": {"a": "a"}}, {"name": "b", "files": {"b": "b"}}]
    )

    download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    blob = [r for r in emulator.requests if r.host == "blob"]
    assert len(blob) == 2
    assert all(r.status == 200 for r in blob)
    assert all("authorization" not in {name.lower() for name in r.headers} for r in blob)


def test_a_large_artifact_downloads_verified_in_constant_memory(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "big", "size": 40 * MiB}])
    list_artifacts(api, REPO, run_id)  # the emulator builds its zip on first use: not ours to count

    tracemalloc.start()
    try:
        [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.verified
    assert (tmp_path / "big.bin").stat().st_size == 40 * MiB
    # About 10 MiB whatever the size (1 MiB chunks, copied a few times by requests and zipfile,
    # plus the emulator serving it in this process): far below the artifact's 40 MiB.
    assert peak < 16 * MiB


# -- forks -------------------------------------------------------------------------------------------


def test_artifacts_of_a_fork_run_are_refused(octo_app: OctoApp, tmp_path: Path) -> None:
    emulator, api, run_id = octo_app.one_run(
        [{"name": "package", "files": {"a": "a"}}], head_repository="evil/app"
    )

    with pytest.raises(ForkArtifactRefusedError, match=f"artifact 'package' of run {run_id} was uploaded by"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert not [r for r in emulator.requests if r.host == "blob"]
    assert list(tmp_path.iterdir()) == []


def test_the_refusal_names_the_fork_when_the_run_is_given(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"a": "a"}}], head_repository="evil/app")
    run = WorkflowRun.from_api(api.get(f"{RUNS}/{run_id}").data)

    with pytest.raises(ForkArtifactRefusedError, match=r"from a fork \(evil/app\)"):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path), run=run)


def test_artifacts_of_a_fork_run_are_downloaded_with_allow_forks(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run([{"name": "package", "files": {"a": "a"}}], head_repository="evil/app")

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path, allow_forks=True))

    assert result.verified
    assert files_under(tmp_path) == {"a": b"a"}


# -- progress ----------------------------------------------------------------------------------------


def test_progress_is_one_line_at_the_start_and_one_per_artifact(octo_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = octo_app.one_run(
        [{"name": "linux", "files": {"a": "a"}}, {"name": "v3", "files": {"b": "b"}, "digest": None}]
    )
    events: list[ProgressEvent] = []

    results = download_artifacts(
        api, REPO, run_id, ArtifactSelection(path=tmp_path), on_progress=events.append
    )

    lines = [e for e in events if e.kind is not ProgressKind.DOWNLOAD]  # bytes, for a progress bar
    assert {e.kind for e in lines} == {ProgressKind.ARTIFACT}
    assert {e.subject for e in lines} == {f"run {run_id}"}
    assert [e.message for e in lines] == [
        f"downloading 2 artifacts ({sum(r.size for r in results):,} bytes) from run {run_id} -> {tmp_path}",
        f"artifact linux: {results[0].size:,} bytes, sha256 verified -> {tmp_path / 'linux'}",
        f"artifact v3: {results[1].size:,} bytes, no sha256 digest to verify (upload-artifact v3) -> "
        f"{tmp_path / 'v3'}",
    ]


def test_a_download_reports_its_bytes_thinned_to_ten_events_a_second_and_always_the_last(
    octo_app: OctoApp, tmp_path: Path, clock: ManualClock
) -> None:
    _, api, run_id = octo_app.one_run([{"name": "big", "size": 5 * MiB}])
    events: list[ProgressEvent] = []

    def seen(event: ProgressEvent) -> None:
        events.append(event)
        if len(events) == 2:  # the first DOWNLOAD event: the next is due 0.1 s later
            clock.advance(0.5)

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path), on_progress=seen)

    downloads = [e for e in events if e.kind is ProgressKind.DOWNLOAD]
    assert {e.subject for e in downloads} == {f"artifact 'big' of run {run_id}"}
    assert {e.total_bytes for e in downloads} == {result.size}
    done = [e.done_bytes or 0 for e in downloads]
    assert done == sorted(done) and done[-1] == result.size
    # The storage host streams it in several reads; the API's clock stood still but for one step
    # of 0.5 s: the first read, the one after that step, and the last.
    assert len(downloads) == 3, done
    assert events[0].kind is ProgressKind.ARTIFACT and events[-1].kind is ProgressKind.ARTIFACT


# -- the latest successful run -------------------------------------------------------------------------


def test_latest_successful_run_is_the_newest_success_on_the_branch(octo_app: OctoApp) -> None:
    _, api = octo_app.start(
        octo_app.run(created=-5000, display_title="old success"),
        octo_app.run(created=-4000, display_title="newest success"),
        octo_app.run(created=-3000, display_title="newer failure", conclusion="failure"),
        octo_app.run(
            created=-2000, display_title="other branch", head_branch="feature/x", head_sha=FEATURE_SHA
        ),
        octo_app.run(created=-100, display_title="still running", timeline={"queued": 0, "duration": 3000}),
    )

    run = latest_successful_run(api, REPO, WORKFLOW_ID, "main")

    assert run.display_title == "newest success"
    assert run.conclusion == "success"


def test_latest_successful_run_passes_over_runs_from_forks(octo_app: OctoApp) -> None:
    # A fork's pull request from its own `main` has head_branch "main" too (GHSA-5xr6-xhww-33m4).
    _, api = octo_app.start(
        octo_app.run(created=-5000, display_title="ours"),
        octo_app.run(created=-1000, display_title="fork", head_repository="evil/app"),
    )

    assert latest_successful_run(api, REPO, WORKFLOW_ID, "main").display_title == "ours"


def test_latest_successful_run_without_one_says_which_workflow_and_branch(octo_app: OctoApp) -> None:
    _, api = octo_app.start(
        octo_app.run(created=-5000, conclusion="failure"),
        octo_app.run(created=-1000, head_repository="evil/app"),
    )

    with pytest.raises(RunNotFoundError) as caught:
        latest_successful_run(api, REPO, WORKFLOW_ID, "main")

    assert str(caught.value) == (
        f"no successful run of workflow {WORKFLOW_ID} on branch 'main' in octo/app (1 from forks passed over)"
    )
    assert "branch" in caught.value.hint
