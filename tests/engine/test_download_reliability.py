"""Downloads that never hang, never leave partial data, and say clearly what went wrong.

Storage misbehaviour comes from the emulator's blob-host faults (`trickle`, `stall`,
`content_encoding`, `redirect`), over real HTTP. On the shared manual clock a trickle takes no
real time; the two tests that need a real socket timeout run on the system clock for about two
seconds and are marked `slow`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.test_artifacts import REPO, OctoApp, files_under
from wait_and_dispatch.emulator import Emulator, Fault, Scenario
from wait_and_dispatch.engine.artifact_download import download_artifacts
from wait_and_dispatch.engine.artifact_staging import STALE_STAGING_AFTER, remove_stale_staging
from wait_and_dispatch.engine.requests import ArtifactSelection
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.support.clock import SystemClock
from wait_and_dispatch.support.errors import ArtifactError, DeadlineExceededError, ExitCode

MiB = 1024 * 1024
SLACK = 5.0  # the promise: a download ends by its deadline + 5 s


@pytest.fixture
def app(
    start_emulator: Callable[[dict[str, Any]], Emulator],
    make_api: Callable[..., GitHubApi],
    scenario_dict: dict[str, Any],
) -> OctoApp:
    return OctoApp(start_emulator, make_api, scenario_dict)


def nothing_left(folder: Path) -> bool:
    return not folder.exists() or not any(folder.rglob("*"))


def blob_requests(emulator: Emulator) -> int:
    return len([r for r in emulator.requests if r.host == "blob"])


# -- the deadline bounds every byte ------------------------------------------------------------------


def test_storage_that_trickles_ends_by_the_deadline(app: OctoApp, tmp_path: Path) -> None:
    emulator, api, run_id = app.one_run([{"name": "big", "size": 2 * MiB}])
    # 4 KiB every 0.5 s: 2 MiB would take 256 s.
    emulator.inject(Fault(host="blob", path="*", kind="trickle", after_bytes=4096, delay=0.5, times=None))
    start = api.clock.now()

    with pytest.raises(DeadlineExceededError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"), deadline=start + 10)

    assert api.clock.now() - start <= 10 + SLACK
    assert caught.value.exit_code is ExitCode.TIMEOUT
    assert "artifact 'big'" in caught.value.message and "deadline" in caught.value.message
    assert nothing_left(tmp_path / "out")


@pytest.fixture
def real_time_app(scenario_dict: dict[str, Any]) -> Iterator[tuple[Emulator, GitHubApi, int]]:
    scenario_dict["repos"]["octo/app"]["workflows"][0]["id"] = 1001
    scenario_dict["repos"]["octo/app"]["runs"] = [
        {
            "workflow": "build.yml",
            "event": "push",
            "head_sha": "a" * 40,
            "head_branch": "main",
            "created": -600,
            "timeline": {"queued": 0, "duration": 300},
            "conclusion": "success",
            "artifacts": [{"name": "big", "size": MiB}],
        }
    ]
    with Emulator(Scenario.from_dict(scenario_dict), clock=SystemClock()) as emulator:
        api = GitHubApi(
            base_url=emulator.api_url, token=emulator.token("dev"), clock=SystemClock(), policy=RetryPolicy()
        )
        with api:
            [run] = api.get(f"{REPO.api_path}/actions/runs").data["workflow_runs"]
            yield emulator, api, int(run["id"])


@pytest.mark.slow
def test_a_real_trickle_ends_by_the_deadline_not_the_end_of_the_artifact(
    real_time_app: tuple[Emulator, GitHubApi, int], tmp_path: Path
) -> None:
    emulator, api, run_id = real_time_app
    emulator.inject(Fault(host="blob", path="*", kind="trickle", after_bytes=4096, delay=0.5, times=None))
    started = time.monotonic()

    with pytest.raises(DeadlineExceededError):
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path), deadline=time.time() + 1.5)

    assert time.monotonic() - started < 1.5 + 1.5  # about 128 s without the bound
    assert nothing_left(tmp_path)


@pytest.mark.slow
def test_storage_that_stalls_after_1_kb_ends_by_the_deadline_not_the_read_timeout(
    real_time_app: tuple[Emulator, GitHubApi, int], tmp_path: Path
) -> None:
    emulator, api, run_id = real_time_app
    emulator.inject(Fault(host="blob", path="*", kind="stall", after_bytes=1024, delay=8, times=None))
    started = time.monotonic()

    with pytest.raises(DeadlineExceededError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path), deadline=time.time() + 1.5)

    assert time.monotonic() - started < 1.5 + 1.5  # 30 s of read timeout per try without the bound
    assert "1,024" in caught.value.message
    assert nothing_left(tmp_path)


# -- what storage answers ----------------------------------------------------------------------------


def test_storage_behind_a_compressing_proxy_downloads_whole_and_verified(
    app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = app.one_run([{"name": "package", "files": {"app.txt": "hello " * 50}}])
    fault = emulator.inject(Fault(host="blob", path="*", kind="content_encoding", times=None))

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert fault.fired == 1
    assert files_under(tmp_path) == {"app.txt": b"hello " * 50}
    assert result.verified


def test_an_encoding_that_cannot_be_decoded_is_refused_at_once_saying_so(
    app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = app.one_run([{"name": "package", "files": {"app.txt": "hello"}}])
    emulator.inject(Fault(host="blob", path="*", kind="content_encoding", message="compress", times=None))

    with pytest.raises(ArtifactError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert caught.value.exit_code is ExitCode.ARTIFACT
    assert "'compress'" in caught.value.message and "Content-Encoding" in caught.value.message
    assert "proxy" in caught.value.hint
    assert blob_requests(emulator) == 1  # not retried: another try gets the same encoding
    assert nothing_left(tmp_path / "out")


def test_storage_answering_302_is_reported_as_a_redirect_not_an_expired_url(
    app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = app.one_run([{"name": "package", "files": {"app.txt": "hello"}}])
    emulator.inject(Fault(host="blob", path="*", kind="redirect", times=None))

    with pytest.raises(ArtifactError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert caught.value.exit_code is ExitCode.ARTIFACT
    assert "302" in caught.value.message and "redirect to proxy.invalid" in caught.value.message
    assert "expired" not in caught.value.hint and "proxy" in caught.value.hint
    assert nothing_left(tmp_path / "out")


# -- names too long for the file system --------------------------------------------------------------


LONG = "n" * 260


@pytest.mark.parametrize(
    "artifacts",
    [
        [{"name": LONG, "files": {"a.txt": "a"}}, {"name": "b", "files": {"b.txt": "b"}}],  # a folder each
        [{"name": LONG + ".txt", "archive": False, "content": "a"}],  # one file, named after it
    ],
    ids=["folder", "file"],
)
def test_an_artifact_name_of_260_characters_is_a_clear_artifact_error(
    app: OctoApp, tmp_path: Path, artifacts: list[dict[str, Any]]
) -> None:
    _, api, run_id = app.one_run(artifacts)

    with pytest.raises(ArtifactError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert caught.value.exit_code is ExitCode.ARTIFACT
    assert "\n" not in caught.value.message and len(caught.value.message) < 300
    assert "255 bytes" in caught.value.hint
    assert nothing_left(tmp_path / "out")


# -- staging left by a killed process ----------------------------------------------------------------


def test_stale_staging_folders_of_killed_runs_are_removed_and_nothing_else(
    app: OctoApp, tmp_path: Path
) -> None:
    old = time.time() - STALE_STAGING_AFTER - 60
    stale = tmp_path / ".wait-and-dispatch-staging-k1ll3d_x"
    (stale / "0").mkdir(parents=True)
    (stale / "0" / "partial.bin").write_bytes(b"half")
    for path in (stale / "0" / "partial.bin", stale / "0", stale):
        os.utime(path, (old, old))
    recent = tmp_path / ".wait-and-dispatch-staging-st1llg0n"  # another download, still going
    recent.mkdir()
    lookalike = tmp_path / ".wait-and-dispatch-staging-notours-at-all"
    lookalike.mkdir()
    os.utime(lookalike, (old, old))
    _, api, run_id = app.one_run([{"name": "package", "files": {"app.txt": "hello"}}])

    download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert not stale.exists()
    assert recent.is_dir() and lookalike.is_dir()
    assert (tmp_path / "app.txt").read_text() == "hello"


def test_stale_staging_folders_of_the_previous_release_are_removed_too(tmp_path: Path) -> None:
    old = time.time() - STALE_STAGING_AFTER - 60
    previous = tmp_path / ".wait-and-dispatch-a1b2_c3d"  # `.wait-and-dispatch-` and mkdtemp's suffix
    (previous / "tree").mkdir(parents=True)
    (previous / "tree" / "partial.bin").write_bytes(b"half")
    recent = tmp_path / ".wait-and-dispatch-st1llg0n"  # an old release's download, still going
    recent.mkdir()
    others = [tmp_path / ".wait-and-dispatch-settings", tmp_path / ".wait-and-dispatch-cache-dir"]
    for folder in others:  # not what that release left in its staging, or not its name: not ours
        (folder / "config.yml").mkdir(parents=True)
        os.utime(folder / "config.yml", (old, old))
    for path in (previous / "tree" / "partial.bin", previous / "tree", previous, *others):
        os.utime(path, (old, old))

    assert remove_stale_staging(tmp_path) == [previous]
    assert not previous.exists() and recent.is_dir() and all(folder.is_dir() for folder in others)


def test_a_staging_folder_still_written_to_is_not_stale(tmp_path: Path) -> None:
    old = time.time() - STALE_STAGING_AFTER - 60
    busy = tmp_path / ".wait-and-dispatch-staging-busybusy"
    (busy / "0").mkdir(parents=True)
    (busy / "0" / "growing.bin").write_bytes(b"still arriving")  # written just now
    os.utime(busy / "0", (old, old))
    os.utime(busy, (old, old))

    assert remove_stale_staging(tmp_path) == []
    assert busy.is_dir()
