"""release.yml holds to the rules a release pipeline must: least privilege, actions pinned by commit,
no persisted credentials, and every decision taken by the tested scripts in tools/release/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

import check_version
from tests.release.conftest import ROOT, write_project

WORKFLOW_PATH = ROOT / ".github" / "workflows" / "release.yml"
WORKFLOW = cast(dict[Any, Any], yaml.safe_load(WORKFLOW_PATH.read_text(encoding="utf-8")))
JOBS = cast(dict[str, dict[str, Any]], WORKFLOW["jobs"])


def steps(job: str | None = None) -> list[dict[str, Any]]:
    names = [job] if job else list(JOBS)
    return [step for name in names for step in JOBS[name]["steps"]]


def test_it_runs_on_release_tags_only() -> None:
    # PyYAML reads the key `on` as True (YAML 1.1 booleans).
    assert WORKFLOW[True] == {"push": {"tags": ["v*.*.*"]}}


def test_the_workflow_grants_nothing_and_each_job_only_what_it_needs() -> None:
    assert WORKFLOW["permissions"] == {}
    granted = {name: job["permissions"] for name, job in JOBS.items()}
    assert granted == {
        "check": {"contents": "read"},
        "build": {"contents": "read"},
        "pypi": {"id-token": "write"},
        "image": {"contents": "read", "packages": "write"},
        "release": {"contents": "write"},
    }


def test_only_the_pypi_job_publishes_and_it_does_so_from_the_pypi_environment() -> None:
    assert JOBS["pypi"]["environment"]["name"] == "pypi"
    publishing = [step for step in steps() if "gh-action-pypi-publish" in step.get("uses", "")]
    assert publishing == [step for step in steps("pypi") if "gh-action-pypi-publish" in step.get("uses", "")]
    assert "with" not in publishing[0]  # no password: trusted publishing


def test_every_action_is_pinned_by_commit_with_its_version_in_a_comment() -> None:
    lines = [line for line in WORKFLOW_PATH.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        assert re.fullmatch(r"\s+(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line


def test_checkouts_do_not_keep_the_token_in_git_config() -> None:
    checkouts = [step for step in steps() if step.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 4
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_the_image_is_built_for_amd64_and_arm64_from_the_wheel_and_pushed() -> None:
    build = next(step for step in steps("image") if "build-push-action" in step.get("uses", ""))
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["build-args"] == "WHEEL=${{ needs.check.outputs.wheel }}"
    assert build["with"]["push"] is True
    assert JOBS["image"]["outputs"]["digest"] == f"${{{{ steps.{build['id']}.outputs.digest }}}}"


def test_the_release_waits_for_pypi_and_the_image() -> None:
    assert set(JOBS["release"]["needs"]) == {"check", "pypi", "image"}


def scripts_called() -> list[str]:
    runs = " ".join(step.get("run", "") for step in steps())
    return re.findall(r"python tools/release/(\w+\.py)", runs)


def test_it_calls_each_release_script_and_each_script_it_calls_exists() -> None:
    scripts = {
        path.name for path in (ROOT / "tools" / "release").glob("*.py") if path.name != "versioning.py"
    }
    assert set(scripts_called()) == scripts


@pytest.mark.parametrize("job", list(JOBS))
def test_what_a_job_reads_from_check_is_what_check_version_writes(job: str, tmp_path: Path) -> None:
    changelog = "## [1.0.0] - 2026-12-01\n\n- First.\n"
    root = write_project(tmp_path, version="1.0.0", changelog=changelog)
    written = set(check_version.check("v1.0.0", root))
    assert set(JOBS["check"]["outputs"]) == written
    text = yaml.safe_dump(JOBS[job])
    assert set(re.findall(r"needs\.check\.outputs\.([\w-]+)", text)) <= written


def test_only_the_actions_own_repository_releases() -> None:
    from versioning import ROOT as TOOLS_ROOT
    from versioning import action_repository

    assert JOBS["check"]["if"] == f"github.repository == '{action_repository(TOOLS_ROOT)}'"
    # Every other job needs check, so a fork's tag runs nothing.
    assert all("check" in job["needs"] for name, job in JOBS.items() if name != "check")
