"""Names and paths that stay inside the folder they are joined to: one file or folder name, a zip
entry's path, a link entry's target. Both separators count everywhere: a `\\` is a folder
separator on Windows, so `..\\evil` climbs out there; a drive letter (`C:`) makes a path absolute
there.
"""

from __future__ import annotations

import re

from wait_and_dispatch.support.errors import UnsafeArtifactError

_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


def last_component(name: str) -> str | None:
    """The last path component of `name` (either separator), when it is one safe name."""
    last = _SEPARATORS.split(name.strip())[-1].strip()
    return last if is_one_safe_name(last) else None


def is_one_safe_name(name: str) -> bool:
    """Whether `name` names one file or folder inside the folder it is joined to: not empty, `.`
    or `..`, no separator of either kind, no NUL, no Windows drive."""
    return (
        name not in ("", ".", "..")
        and not _SEPARATORS.search(name)
        and "\0" not in name
        and not _DRIVE.match(name)
    )


def member_parts(name: str, label: str) -> tuple[str, ...]:
    """The path components of a zip entry name, refusing names that would land outside the folder.

    Both separators count: a `\\` is a folder separator on Windows, so `..\\evil` climbs out there.
    """
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise UnsafeArtifactError(f"{label} holds an absolute path {name!r}; refusing it")
    parts = tuple(part for part in _SEPARATORS.split(name) if part not in ("", "."))
    if ".." in parts:
        raise UnsafeArtifactError(f"{label} holds a path that climbs out with '..' ({name!r}); refusing it")
    if any(_DRIVE.match(part) or "\0" in part for part in parts):
        raise UnsafeArtifactError(f"{label} holds a path with a drive letter ({name!r}); refusing it")
    return parts


def check_link(parts: tuple[str, ...], link_target: str, name: str, label: str) -> None:
    """Refuse a link entry whose target, read from where the link sits, leaves the archive."""
    outside = UnsafeArtifactError(
        f"{label} holds a symbolic link {name!r} pointing outside it ({link_target!r}); refusing it"
    )
    if link_target.startswith(("/", "\\")) or _DRIVE.match(link_target) or "\0" in link_target:
        raise outside
    position = list(parts[:-1])
    for part in _SEPARATORS.split(link_target):
        if part in ("", "."):
            continue
        if part == "..":
            if not position:
                raise outside
            position.pop()
        else:
            position.append(part)
