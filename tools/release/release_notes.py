"""Write a version's CHANGELOG section as its release notes: `release_notes.py 1.2.3 --output notes.md`.

The notes are the section's body, without its `## [X.Y.Z] - date` heading (GitHub shows the
release's title above them) and without the file's link definitions. The section must be dated:
an undated one means the version was not prepared for release. Exit 0, 1 when the section is
missing or empty, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from versioning import ROOT, ReleaseError, Version, changelog_section


def release_notes(version: Version, root: Path) -> str:
    section = changelog_section(root, version)
    if not section.body.strip():
        raise ReleaseError(f"CHANGELOG.md: the section of {version} is empty; say what changed")
    return section.body.rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release_notes.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="X.Y.Z or vX.Y.Z")
    parser.add_argument("--output", type=Path, required=True, help="the notes file to write")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        text = args.version.removeprefix("v")
        notes = release_notes(Version.parse(text), args.root)
    except ReleaseError as error:
        print(f"release_notes: {error}", file=sys.stderr)
        return 1
    args.output.write_text(notes, encoding="utf-8")
    print(f"release_notes: wrote {len(notes.splitlines())} lines to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
