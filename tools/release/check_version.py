"""Check that a release tag may be released: `python tools/release/check_version.py vX.Y.Z`.

The tag must be a release version (vX.Y.Z, or vX.Y.Z-rc.N for a prerelease), equal the package's
`__version__` (so PyPI's version and the action's tag are one number), and have a dated section in
CHANGELOG.md (it becomes the release notes). Prints the release's facts the later jobs use
(`version=`, `python-version=`, `prerelease=`, `wheel=` the wheel `python -m build` makes, and
`image=` the GHCR repository named after ACTION_REPOSITORY) as `key=value` lines, and appends
them to the file `--github-output` names (the release workflow passes $GITHUB_OUTPUT).
Exit 0 when the tag may be released, 1 when not, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pin_image import image_name
from versioning import ROOT, ReleaseError, Version, changelog_section, package_version


def check(tag: str, root: Path) -> dict[str, str]:
    """The release's facts for the workflow's later jobs, or ReleaseError."""
    version = Version.from_tag(tag)
    declared = package_version(root)
    if Version.from_python(declared) != version or declared != version.python:
        raise ReleaseError(
            f"tag {tag} is version {version.python} in Python's spelling, but __version__ is {declared!r}; "
            f"set __version__ = {version.python!r} in src/wait_and_dispatch/__init__.py and tag that commit"
        )
    changelog_section(root, version)
    return {
        "version": str(version),
        "python-version": version.python,
        "prerelease": "true" if version.prerelease else "false",
        # The project name normalized as wheel file names spell it; pure Python, any platform.
        "wheel": f"wait_and_dispatch-{version.python}-py3-none-any.whl",
        "image": image_name(root),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check_version.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("tag", help="the pushed tag, e.g. v1.2.3")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    parser.add_argument("--github-output", type=Path, help="append the outputs to this file")
    args = parser.parse_args(argv)
    try:
        facts = check(args.tag, args.root)
    except ReleaseError as error:
        print(f"check_version: {error}", file=sys.stderr)
        return 1
    lines = "".join(f"{key}={value}\n" for key, value in facts.items())
    sys.stdout.write(lines)
    if args.github_output is not None:
        with args.github_output.open("a", encoding="utf-8") as output:
            output.write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
