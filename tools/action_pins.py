"""Hold every `uses:` the project ships to the pin table (src/wait_and_dispatch/support/action_pins.py).

    python3 tools/action_pins.py          # rewrite each shipped `uses:` of a table action to its pin
    python3 tools/action_pins.py --check  # list what disagrees with the table; exit 1 if anything

The shipped files are the action metadata, .github/workflows/, the examples, the README and the
Markdown beside it, and docs/; docs/MIGRATION.md may also name the peers (`PEERS`) its "before"
workflows show. A `uses:` passes when it names a table action at the table's commit SHA with the
table's release as the comment (`owner/name@<sha> # vX.Y.Z`); a local action (`./...`) always
passes; this action itself may be written with its major version tag (`@v1`, the README's and
docs' snippets: tools/zizmor/snippets.yml says why) or a SHA (the orchestrators); a Docker image
needs a digest. Refreshing a pin: docs/action-pins.md. tests/test_action_pins.py runs the check.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wait_and_dispatch import ACTION_REPOSITORY  # noqa: E402
from wait_and_dispatch.support.action_pins import PEERS, PINS, ActionPin  # noqa: E402

MIGRATION = "docs/MIGRATION.md"

# A `uses:` key at the start of a line (after a list dash), as YAML and the Markdown code blocks
# write it; prose that mentions `uses:` mid-sentence is not one.
_USES = re.compile(
    # The version comment, then any tool's own comment (`# zizmor: ignore[...]`), which is not part of it.
    r"^(?P<key>[ \t]*(?:-[ \t]+)?uses:[ \t]*)(?P<ref>[^\s#]+)"
    r"(?:[ \t]+#[ \t]*(?P<comment>.*?))?(?P<tool>[ \t]+#[ \t]*zizmor:.*)?[ \t]*$",
    re.MULTILINE,
)
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_MAJOR_TAG = re.compile(r"v\d+")


@dataclass(frozen=True)
class Uses:
    line: int  # 1-based
    ref: str  # what `uses:` says: owner/name[/path]@ref, ./path or docker://image
    comment: str | None  # the text after `#`, if any


def shipped_files() -> list[str]:
    """Every file that holds a `uses:` a user or CI runs, copies or reads, from the root."""
    patterns = (".github/workflows/*.y*ml", "examples/**/*.y*ml", "examples/**/*.md", "docs/**/*.md", "*.md")
    found = ["action.yml", "composite/action.yml"]
    for pattern in patterns:
        found += [path.relative_to(ROOT).as_posix() for path in sorted(ROOT.glob(pattern))]
    return found


def table_for(name: str) -> Mapping[str, ActionPin]:
    return {**PINS, **PEERS} if name == MIGRATION else PINS


def uses_in(text: str) -> Iterator[Uses]:
    for match in _USES.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield Uses(line, match["ref"].strip("'\""), match["comment"])


def _repository(ref: str) -> str:
    return "/".join(ref.partition("@")[0].split("/")[:2])


def problems(name: str, text: str, table: Mapping[str, ActionPin] = PINS) -> tuple[list[str], int]:
    """What disagrees with the table in one file, and how many `uses:` were checked."""
    found: list[str] = []
    checked = 0
    for uses in uses_in(text):
        if uses.ref.startswith("./"):
            continue  # a local action: the workflow's own commit
        checked += 1
        where = f"{name}:{uses.line}: uses: {uses.ref}"
        if uses.ref.startswith("docker://"):
            if "@sha256:" not in uses.ref:
                found.append(f"{where}: a Docker image by tag, not by digest")
            continue
        repository, at, ref = _repository(uses.ref), "@" in uses.ref, uses.ref.rpartition("@")[2]
        if not at:
            found.append(f"{where}: no @ref at all")
        elif repository == ACTION_REPOSITORY:
            if not (_FULL_SHA.fullmatch(ref) or _MAJOR_TAG.fullmatch(ref)):
                found.append(f"{where}: this action by neither a commit SHA nor its major version tag")
        elif repository not in table:
            found.append(
                f"{where}: {repository} is not in the pin table"
                " (src/wait_and_dispatch/support/action_pins.py); "
                "verify a release of it as docs/action-pins.md says, and add it there"
            )
        else:
            pin = table[repository]
            if not _FULL_SHA.fullmatch(ref):
                found.append(f"{where}: not pinned to a commit SHA (the table has {pin.pinned})")
            elif ref != pin.sha or uses.comment != pin.version:
                found.append(f"{where} # {uses.comment}: the table has {pin.pinned}")
    return found, checked


def rewrite(text: str, table: Mapping[str, ActionPin] = PINS) -> str:
    """The text with each `uses:` of a table action (at any ref) written as the table's pin."""

    def pinned(match: re.Match[str]) -> str:
        ref = match["ref"].strip("'\"")
        pin = table.get(_repository(ref))
        if pin is None or "@" not in ref or ref.startswith(("./", "docker://")):
            return match[0]
        path = ref.partition("@")[0]  # owner/name, or owner/name/sub/path
        return f"{match['key']}{path}@{pin.sha} # {pin.version}{match['tool'] or ''}"

    return _USES.sub(pinned, text)


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for name in shipped_files():
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        if check:
            found, _ = problems(name, text, table_for(name))
            for line in found:
                print(line)
            status = max(status, 1 if found else 0)
            continue
        written = rewrite(text, table_for(name))
        if written != text:
            path.write_text(written, encoding="utf-8")
            print(f"rewrote {name}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
