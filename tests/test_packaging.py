"""The package as PyPI gets it: built once, checked as PyPI checks it, installed where nothing else is.

`python -m build` makes the sdist and the wheel from a copy of the source tree (the build writes
egg-info and build/ next to the sources, which must not touch the tree the other tests run from),
exactly as the release workflow does; `twine check --strict` is the check PyPI's upload runs on
the metadata and the README. The wheel is then installed into a fresh virtual environment, with
the dependency versions CI tests and no test or lint tools, and `wait-and-dispatch demo` runs
there: the package works without this repository around it.

It takes about a minute (an isolated build fetches setuptools; the fresh environment installs
the dependencies from the package index), so it is marked `packaging` (`-m "not packaging"`
leaves it out while developing); CI's suite runs it.
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest
import yaml

from wait_and_dispatch import __version__

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

# What a copy of the source tree leaves out: what running, testing and linting left behind.
_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache"
)


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    out = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Built(sdist, wheel)


def test_the_artifacts_have_the_package_version_in_their_names(built: Built) -> None:
    assert built.sdist.name == f"wait_and_dispatch-{__version__}.tar.gz"
    # The name the release workflow hands the image build (tools/release/check_version.py).
    assert built.wheel.name == f"wait_and_dispatch-{__version__}-py3-none-any.whl"


def test_twine_check_strict_passes_for_the_sdist_and_the_wheel(built: Built) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built.sdist), str(built.wheel)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def sdist_members(built: Built) -> list[str]:
    with tarfile.open(built.sdist) as archive:
        prefix = f"wait_and_dispatch-{__version__}/"
        names = [member.name for member in archive.getmembers() if member.isfile()]
    assert all(name.startswith(prefix) for name in names)
    return [name.removeprefix(prefix) for name in names]


def test_the_sdist_holds_the_sources_licence_readme_changelog_and_package_data(built: Built) -> None:
    members = set(sdist_members(built))
    package = "src/wait_and_dispatch"
    needed = {
        "PKG-INFO",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        f"{package}/py.typed",
        f"{package}/plans/plan.schema.json",
        f"{package}/step/result.schema.json",
        f"{package}/emulator/scenarios/demo.yml",
        f"{package}/cli/main.py",
    }
    assert needed <= members
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / package).rglob("*.py")}
    assert sources <= members


def test_the_sdist_holds_nothing_but_the_package_and_its_packaging_files(built: Built) -> None:
    top_level = {
        "PKG-INFO",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "setup.cfg",
        "MANIFEST.in",
    }
    for member in sdist_members(built):
        assert member in top_level or member.startswith(
            ("src/wait_and_dispatch/", "src/wait_and_dispatch.egg-info/")
        ), f"the sdist should not hold {member}"
        assert "__pycache__" not in member and not member.endswith(".pyc"), member


def wheel_metadata(built: Built) -> tuple[list[str], Message]:
    with zipfile.ZipFile(built.wheel) as archive:
        names = archive.namelist()
        info = f"wait_and_dispatch-{__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode("utf-8")
    return names, email.parser.Parser(policy=email.policy.compat32).parsestr(metadata)


def test_the_wheel_holds_the_package_its_data_and_the_licence_and_no_tests(built: Built) -> None:
    names, _ = wheel_metadata(built)
    info = f"wait_and_dispatch-{__version__}.dist-info"
    assert {
        "wait_and_dispatch/py.typed",
        "wait_and_dispatch/plans/plan.schema.json",
        "wait_and_dispatch/step/result.schema.json",
        "wait_and_dispatch/emulator/scenarios/demo.yml",
        f"{info}/licenses/LICENSE",
        f"{info}/entry_points.txt",
    } <= set(names)
    assert all(name.startswith(("wait_and_dispatch/", f"{info}/")) for name in names), names


def test_the_metadata_says_licence_python_versions_and_absolute_project_urls(built: Built) -> None:
    _, metadata = wheel_metadata(built)
    # License-Expression and License-File are metadata 2.4 (PEP 639).
    assert tuple(int(part) for part in metadata["Metadata-Version"].split(".")) >= (2, 4)
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Requires-Python"] == ">=3.11"
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues", "Source"}
    assert all(
        url.startswith("https://github.com/wait-and-dispatch/wait-and-dispatch") for url in urls.values()
    )
    classifiers = metadata.get_all("Classifier") or []
    assert {"Typing :: Typed", "Operating System :: OS Independent", "Development Status :: 4 - Beta"} <= set(
        classifiers
    )
    assert metadata["Description-Content-Type"] == "text/markdown"


def test_the_supported_pythons_are_each_a_classifier() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    classifiers = set(pyproject["classifiers"])
    assert pyproject["requires-python"] == ">=3.11"
    for minor in (11, 12, 13, 14, 15):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers


def test_ci_tests_every_python_the_classifiers_name_and_no_other() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    named = {
        c.rsplit(" :: ", 1)[1]
        for c in pyproject["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    assert set(ci["jobs"]["test"]["strategy"]["matrix"]["python"]) == named


def test_the_build_backend_is_capped_below_its_next_major() -> None:
    # A new major of the backend can change the metadata it writes (a Metadata-Version the
    # publisher's twine does not read yet fails the upload): pyproject.toml says why the cap is where it is.
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"][
        "requires"
    ]
    assert len(requires) == 1
    assert re.fullmatch(r"setuptools>=\d+,<\d+", requires[0])


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the wheel and its dependencies; its scripts directory."""
    home = tmp_path_factory.mktemp("fresh-venv")
    venv.EnvBuilder(with_pip=True).create(home)
    scripts = home / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / ("python.exe" if os.name == "nt" else "python")
    subprocess.run(
        [
            str(python),
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--constraint", str(ROOT / "constraints.txt")),
            str(built.wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return scripts


def run_installed(scripts: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    program = scripts / ("wait-and-dispatch.exe" if os.name == "nt" else "wait-and-dispatch")
    # Nothing from this checkout or this interpreter's environment may leak into the fresh one.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "GITHUB_", "GH_"))
    }
    return subprocess.run(
        [str(program), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_installed_wheel_runs_the_demo_in_an_environment_without_dev_tools(
    installed: Path, tmp_path: Path
) -> None:
    result = run_installed(installed, "demo", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "sha256 verified" in result.stdout
    python = installed / ("python.exe" if os.name == "nt" else "python")
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.lower()
    assert f"wait-and-dispatch=={__version__}" in listed
    for tool in ("pytest", "ruff", "mypy", "build", "twine"):
        assert f"\n{tool}==" not in f"\n{listed}", f"{tool} is in the fresh environment"


def test_the_installed_wheel_reports_its_version(installed: Path, tmp_path: Path) -> None:
    result = run_installed(installed, "--version", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout
