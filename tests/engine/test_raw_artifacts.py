"""Artifacts as GitHub serves them since upload-artifact v7's `archive: false` (changelog
2026-02-26): zip or one file, decided as download-artifact v8 decides, from the storage host's
headers before the body is read (@actions/artifact `download/download-artifact.ts`).

Through the emulator over real HTTP: it serves an unzipped artifact as GitHub does (named after
its file, the type its extension gives, `rscd`/`rsct` on the signed URL, no `.zip` in the path).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine.test_artifacts import REPO, OctoApp, files_under
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine.artifact_download import download_artifacts
from wait_and_dispatch.engine.artifact_files import disposition_file_name, is_zip
from wait_and_dispatch.engine.requests import ArtifactSelection
from wait_and_dispatch.engine.results import ArtifactKind
from wait_and_dispatch.github_api import GitHubApi, StorageAnswer
from wait_and_dispatch.support.errors import ArtifactDigestMismatchError, ArtifactError, ExitCode

MiB = 1024 * 1024
HTML = "<!doctype html><title>Test report</title><p>41 passed</p>\n"


@pytest.fixture
def raw_app(
    start_emulator: Callable[[dict[str, Any]], Emulator],
    make_api: Callable[..., GitHubApi],
    scenario_dict: dict[str, Any],
) -> OctoApp:
    return OctoApp(start_emulator, make_api, scenario_dict)


def a_jar() -> bytes:
    """A jar is a zip inside: one that download-artifact v8 saves as it is, never unpacks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.writestr("app/Main.class", "not really bytecode")
    return buffer.getvalue()


def blob_requests(emulator: Emulator, since: int = 0) -> list[str]:
    return [r.path for r in emulator.requests[since:] if r.host == "blob"]


def zip_requests(emulator: Emulator, since: int = 0) -> list[str]:
    return [r.path for r in emulator.requests[since:] if r.host == "api" and r.path.endswith("/zip")]


# -- what the emulator serves ----------------------------------------------------------------------


def test_an_unzipped_artifact_is_served_as_github_serves_it(raw_app: OctoApp) -> None:
    _, api, run_id = raw_app.one_run(
        [
            {"name": "report.html", "archive": False, "content": HTML},
            {"name": "app.jar", "archive": False, "size": 1000},
        ]
    )
    listed = api.get(f"{REPO.api_path}/actions/runs/{run_id}/artifacts").data["artifacts"]
    html = next(a for a in listed if a["name"] == "report.html")
    assert html["size_in_bytes"] == len(HTML)
    assert html["digest"] == "sha256:" + hashlib.sha256(HTML.encode()).hexdigest()

    for artifact, content_type in ((html, "text/html"), (listed[1], "application/octet-stream")):
        url = api.artifact_storage_url(artifact["archive_download_url"])
        assert not url.split("?")[0].endswith(".zip")
        blob = api._storage.get(url, timeout=10)
        assert blob.status_code == 200
        assert blob.headers["Content-Type"] == content_type
        assert blob.headers["Content-Disposition"] == f'attachment; filename="{artifact["name"]}"'
        assert "rscd=" in url
        assert "rsct=" in url
        assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == artifact["digest"]


def test_the_signed_headers_of_an_unzipped_artifact_cannot_be_changed(raw_app: OctoApp) -> None:
    _, api, run_id = raw_app.one_run([{"name": "app.jar", "archive": False, "content": "x"}])
    [artifact] = api.get(f"{REPO.api_path}/actions/runs/{run_id}/artifacts").data["artifacts"]
    url = api.artifact_storage_url(artifact["archive_download_url"])

    tampered = url.replace("rsct=application%2Foctet-stream", "rsct=application%2Fzip")

    assert tampered != url
    assert api._storage.get(tampered, timeout=10).status_code == 403


# -- deciding zip or file ----------------------------------------------------------------------------


def answer(content_type: str = "", disposition: str = "", path: str = "/blob/a") -> StorageAnswer:
    return StorageAnswer(f"https://storage.example{path}?sig=x", 10, content_type, disposition)


@pytest.mark.parametrize(
    ("content_type", "path", "zipped"),
    [
        ("application/zip", "/a", True),
        ("application/x-zip-compressed", "/a", True),
        ("Application/Zip-Compressed; charset=binary", "/a", True),
        ("application/octet-stream", "/artifacts/1/name.ZIP", True),
        ("application/octet-stream", "/artifacts/1/app.jar", False),
        ("application/java-archive", "/a", False),
        ("text/html", "/report.html", False),
        ("", "/a", False),
    ],
)
def test_a_blob_is_a_zip_by_its_content_type_or_the_end_of_its_url_path(
    content_type: str, path: str, zipped: bool
) -> None:
    assert is_zip(answer(content_type, path=path)) is zipped


@pytest.mark.parametrize(
    ("disposition", "name"),
    [
        ('attachment; filename="report.html"', "report.html"),
        ("attachment; filename=report.html", "report.html"),
        (
            "attachment; filename=\"__-_-x.txt\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A-%E5%9C%9F-x.txt",
            "报告-土-x.txt",
        ),
        ("attachment; filename*=utf-8''a%20b.txt; filename=\"ab.txt\"", "a b.txt"),
        ('attachment; filename="../../../etc/passwd"', "passwd"),
        ("attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd", "passwd"),
        ('attachment; filename="..\\\\..\\\\evil.exe"', "evil.exe"),
        ('attachment; filename="say \\"hi\\".txt"', 'say "hi".txt'),
        ('attachment; filename=".."', None),
        ("attachment", None),
        ("", None),
    ],
)
def test_the_file_name_comes_from_content_disposition_and_never_leads_out(
    disposition: str, name: str | None
) -> None:
    assert disposition_file_name(disposition) == name


# -- downloading -------------------------------------------------------------------------------------


def test_a_zip_an_html_report_and_a_large_binary_download_in_one_step_as_download_artifact_v8_saves_them(
    raw_app: OctoApp, tmp_path: Path
) -> None:
    emulator, api, run_id = raw_app.one_run(
        [
            {"name": "package", "files": {"pkg/app.txt": "application", "README": "read me"}},
            {"name": "report.html", "archive": False, "content": HTML},
            {"name": "firmware.bin", "archive": False, "size": 5 * MiB},
        ]
    )
    listed = {
        a["name"]: a for a in api.get(f"{REPO.api_path}/actions/runs/{run_id}/artifacts").data["artifacts"]
    }
    firmware = api._storage.get(
        api.artifact_storage_url(listed["firmware.bin"]["archive_download_url"]), timeout=30
    )
    before = len(emulator.requests)

    results = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    # download-artifact v8 with several artifacts: each in <path>/<name>/, a zip unpacked there,
    # one file saved there under its Content-Disposition name.
    assert files_under(tmp_path) == {
        "package/pkg/app.txt": b"application",
        "package/README": b"read me",
        "report.html/report.html": HTML.encode(),
        "firmware.bin/firmware.bin": firmware.content,
    }
    assert len(firmware.content) == 5 * MiB
    by_name = {r.name: r for r in results}
    assert [(r.name, r.kind, r.verified) for r in results] == [
        ("package", ArtifactKind.ZIP, True),
        ("report.html", ArtifactKind.FILE, True),
        ("firmware.bin", ArtifactKind.FILE, True),
    ]
    assert by_name["package"].file is None
    assert by_name["report.html"].file == tmp_path / "report.html" / "report.html"
    assert by_name["firmware.bin"].as_output()["file"] == str(tmp_path / "firmware.bin" / "firmware.bin")
    # The decision costs nothing: one 302 and one storage request per artifact, whatever its kind.
    assert len(zip_requests(emulator, before)) == 3
    assert len(blob_requests(emulator, before)) == 3
    assert api.stats.retries == 0


def test_a_jar_served_raw_is_saved_as_the_jar_never_unpacked(raw_app: OctoApp, tmp_path: Path) -> None:
    jar = a_jar()
    _, api, run_id = raw_app.one_run(
        [{"name": "app.jar", "archive": False, "content_base64": base64.b64encode(jar).decode()}]
    )

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert files_under(tmp_path) == {"app.jar": jar}
    assert result.kind is ArtifactKind.FILE
    assert result.file == tmp_path / "app.jar"
    assert result.verified


def files_served(api: GitHubApi, run_id: int) -> bytes:
    [artifact] = api.get(f"{REPO.api_path}/actions/runs/{run_id}/artifacts").data["artifacts"]
    return bytes(
        api._storage.get(api.artifact_storage_url(artifact["archive_download_url"]), timeout=10).content
    )


def test_skip_decompress_keeps_a_zip_as_name_dot_zip(raw_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = raw_app.one_run([{"name": "package", "files": {"pkg/app.txt": "application"}}])
    served = files_served(api, run_id)

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path, skip_decompress=True))

    assert files_under(tmp_path) == {"package.zip": served}
    assert zipfile.ZipFile(tmp_path / "package.zip").read("pkg/app.txt") == b"application"
    assert (result.kind, result.file, result.verified) == (ArtifactKind.FILE, tmp_path / "package.zip", True)


def test_a_step_asking_for_a_zipped_and_an_unzipped_artifact_keeps_both(
    raw_app: OctoApp, tmp_path: Path
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    _, api, run_id = raw_app.one_run(
        [
            {"name": "dist", "files": {"app.txt": "application"}},
            {"name": "coverage.json", "archive": False, "content": '{"lines": 91.5}'},
            {"name": "other", "files": {"x": "x"}},
        ]
    )

    selection = ArtifactSelection(patterns=("dist", "coverage.json"), path=tmp_path, merge_multiple=True)
    results = download_artifacts(api, REPO, run_id, selection)

    assert files_under(tmp_path) == {
        "keep.txt": b"mine",
        "app.txt": b"application",
        "coverage.json": b'{"lines": 91.5}',
    }
    assert [r.kind for r in results] == [ArtifactKind.ZIP, ArtifactKind.FILE]


def test_an_unknown_type_is_still_one_file_named_from_its_url(raw_app: OctoApp, tmp_path: Path) -> None:
    # cli/cli#13636 reports every unzipped blob as application/octet-stream: still one file.
    _, api, run_id = raw_app.one_run(
        [
            {
                "name": "notes.md",
                "archive": False,
                "content": "# notes",
                "content_type": "application/octet-stream",
            }
        ]
    )

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert files_under(tmp_path) == {"notes.md": b"# notes"}
    assert result.kind is ArtifactKind.FILE


def test_an_unzipped_artifact_whose_bytes_do_not_match_its_digest_places_nothing(
    raw_app: OctoApp, tmp_path: Path
) -> None:
    _, api, run_id = raw_app.one_run(
        [{"name": "report.html", "archive": False, "content": HTML, "digest": "sha256:" + "0" * 64}]
    )

    with pytest.raises(ArtifactDigestMismatchError) as caught:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path / "out"))

    assert caught.value.exit_code is ExitCode.ARTIFACT
    assert not (tmp_path / "out").exists()


def test_an_unzipped_artifact_is_not_reported_as_a_damaged_zip(raw_app: OctoApp, tmp_path: Path) -> None:
    """The failure this replaces: "is not a valid zip: it does not start with a zip entry"."""
    _, api, run_id = raw_app.one_run([{"name": "log.txt", "archive": False, "content": "plain text"}])

    try:
        download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))
    except ArtifactError as error:  # pragma: no cover - the failure being guarded against
        pytest.fail(f"raised {error}")

    assert (tmp_path / "log.txt").read_text() == "plain text"


def test_a_non_ascii_file_name_is_taken_from_filename_star(raw_app: OctoApp, tmp_path: Path) -> None:
    _, api, run_id = raw_app.one_run([{"name": "报告-土-x.txt", "archive": False, "content": "report"}])

    [result] = download_artifacts(api, REPO, run_id, ArtifactSelection(path=tmp_path))

    assert files_under(tmp_path) == {"报告-土-x.txt": b"report"}
    assert result.file == tmp_path / "报告-土-x.txt"
