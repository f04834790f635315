"""What the release scripts share: release versions, the package's `__version__`, the CHANGELOG.

Standard library only: the release workflow runs these scripts with a bare Python, before anything
is installed. A release is tagged `vX.Y.Z` (semantic versioning), or `vX.Y.Z-alpha.N`, `-beta.N`,
`-rc.N` for a prerelease; the package's version is the same number in PEP 440 spelling
(`X.Y.Z`, `X.Y.ZaN`, `X.Y.ZbN`, `X.Y.ZrcN`), so PyPI and the tag always agree.
"""

from __future__ import annotations

import ast
import datetime
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_INIT = Path("src/wait_and_dispatch/__init__.py")
CHANGELOG = Path("CHANGELOG.md")

_PRERELEASES = {"alpha": "a", "beta": "b", "rc": "rc"}
_CORE = r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
_SEMVER = re.compile(_CORE + r"(?:-(?P<pre>alpha|beta|rc)\.(?P<number>0|[1-9]\d*))?")
_PEP440 = re.compile(_CORE + r"(?:(?P<pre>a|b|rc)(?P<number>0|[1-9]\d*))?")
_HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>.+?))?\s*$")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]: \S+\s*$")


class ReleaseError(Exception):
    """A release step cannot go on; the message says why and what to change (exit 1)."""


@dataclass(frozen=True, order=True)
class Version:
    """A release version. Ordered as semantic versioning orders them: 1.2.0-rc.1 < 1.2.0."""

    major: int
    minor: int
    patch: int
    # (0, 0, n) alpha, (0, 1, n) beta, (0, 2, n) rc; (1, 0, 0) for a release, so it sorts last.
    pre_key: tuple[int, int, int] = (1, 0, 0)

    @classmethod
    def parse(cls, text: str) -> Version:
        """`1.2.3` or `1.2.3-rc.1` (a CHANGELOG heading, a tag without its `v`)."""
        match = _SEMVER.fullmatch(text)
        if match is None:
            raise ReleaseError(
                f"{text!r} is not a release version: X.Y.Z, or X.Y.Z-alpha.N, -beta.N, -rc.N for a prerelease"
            )
        return cls._from_match(match)

    @classmethod
    def from_tag(cls, tag: str) -> Version:
        if not tag.startswith("v"):
            raise ReleaseError(f"{tag!r} is not a release tag: release tags are vX.Y.Z")
        return cls.parse(tag[1:])

    @classmethod
    def from_python(cls, text: str) -> Version:
        """The PEP 440 spelling `__version__` uses: `1.2.3`, `1.2.3rc1`."""
        match = _PEP440.fullmatch(text)
        if match is None:
            raise ReleaseError(f"__version__ {text!r} is not X.Y.Z or X.Y.Z(a|b|rc)N")
        return cls._from_match(match)

    @classmethod
    def _from_match(cls, match: re.Match[str]) -> Version:
        major, minor, patch = (int(match[name]) for name in ("major", "minor", "patch"))
        if match["pre"] is None:
            return cls(major, minor, patch)
        rank = list(_PRERELEASES).index(_pre_name(match["pre"]))
        return cls(major, minor, patch, (0, rank, int(match["number"])))

    @property
    def prerelease(self) -> bool:
        return self.pre_key[0] == 0

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        if not self.prerelease:
            return core
        return f"{core}-{list(_PRERELEASES)[self.pre_key[1]]}.{self.pre_key[2]}"

    @property
    def tag(self) -> str:
        return f"v{self}"

    @property
    def python(self) -> str:
        if not self.prerelease:
            return str(self)
        suffix = list(_PRERELEASES.values())[self.pre_key[1]]
        return f"{self.major}.{self.minor}.{self.patch}{suffix}{self.pre_key[2]}"


def _pre_name(spelling: str) -> str:
    return next(name for name, short in _PRERELEASES.items() if spelling in {name, short})


def package_version(root: Path) -> str:
    """`__version__` as written in the package, read without importing it (no dependencies here)."""
    return _module_constant(root / PACKAGE_INIT, "__version__")


def action_repository(root: Path) -> str:
    """`ACTION_REPOSITORY`, the action's owner/name: the one place the name is written."""
    return _module_constant(root / PACKAGE_INIT, "ACTION_REPOSITORY")


def _module_constant(path: Path, name: str) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
            raise ReleaseError(f"{path}: {name} is not a string literal")
    raise ReleaseError(f"{path} does not set {name}")


@dataclass(frozen=True)
class ChangelogSection:
    """One `## [name] - date` section: name is a version or `Unreleased`; body without its heading."""

    name: str
    date: str | None
    body: str

    @property
    def released_on(self) -> datetime.date | None:
        """The section's date if it is an ISO date (YYYY-MM-DD), else None (e.g. `Unreleased`)."""
        if self.date is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.date):
            return None
        try:
            return datetime.date.fromisoformat(self.date)
        except ValueError:
            return None


def changelog_sections(text: str) -> list[ChangelogSection]:
    """The `## [...]` sections in file order. Link definitions (`[1.0.0]: https://...`) at the end
    of the file belong to no section."""
    sections: list[ChangelogSection] = []
    heading: re.Match[str] | None = None
    lines: list[str] = []

    def close() -> None:
        if heading is not None:
            while lines and (not lines[-1].strip() or _LINK_DEFINITION.match(lines[-1])):
                lines.pop()
            while lines and not lines[0].strip():
                lines.pop(0)
            sections.append(ChangelogSection(heading["name"], heading["date"], "\n".join(lines)))

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match is not None:
            close()
            heading, lines = match, []
        elif line.startswith("## "):
            raise ReleaseError(f"CHANGELOG heading {line!r} is not `## [X.Y.Z] - YYYY-MM-DD`")
        elif heading is not None:
            lines.append(line)
    close()
    return sections


def version_sections(text: str) -> list[tuple[Version, ChangelogSection]]:
    """The sections that name a version (not `Unreleased`), newest first as written."""
    return [
        (Version.parse(section.name), section)
        for section in changelog_sections(text)
        if section.name.lower() != "unreleased"
    ]


def changelog_section(root: Path, version: Version) -> ChangelogSection:
    """The dated section of `version`, or ReleaseError saying what is missing."""
    text = (root / CHANGELOG).read_text(encoding="utf-8")
    for found, section in version_sections(text):
        if found == version:
            if section.released_on is None:
                raise ReleaseError(
                    f"CHANGELOG.md: the section of {version} is dated {section.date!r}; "
                    "date it `YYYY-MM-DD` in the commit you tag"
                )
            return section
    raise ReleaseError(f"CHANGELOG.md has no `## [{version}] - YYYY-MM-DD` section")
