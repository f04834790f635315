"""Reading the `uses:` of a workflow, action.yml or Markdown file, and holding them to the pin table
(wait_and_dispatch.action_pins): tests/test_action_pins.py for the shipped files, the examples'
tests for the orchestrators `plan --emit-workflow` writes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from wait_and_dispatch import ACTION_REPOSITORY
from wait_and_dispatch.action_pins import PINS, ActionPin

# A `uses:` key at the start of a line (after a list dash), as YAML and the Markdown code blocks
# write it; prose that mentions `uses:` mid-sentence is not one.
_USES = re.compile(r"^[ \t]*(?:-[ \t]+)?uses:[ \t]*(?P<ref>[^\s#]+)(?:[ \t]+#[ \t]*(?P<comment>.*?))?[ \t]*$")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
# Our own action may be shown by its major version tag in README and docs snippets (moved by each
# release; tools/zizmor/snippets.yml says why), or pinned by SHA (the orchestrators).
_OWN_ACTION_TAG = re.compile(r"v\d+")


@dataclass(frozen=True)
class Uses:
    line: int  # 1-based
    ref: str  # what `uses:` says: owner/name[/path]@ref, ./path or docker://image
    comment: str | None  # the text after `#`, if any


def uses_in(text: str) -> Iterator[Uses]:
    for number, line in enumerate(text.splitlines(), start=1):
        match = _USES.match(line)
        if match:
            yield Uses(number, match["ref"].strip("'\""), match["comment"])


def problems(name: str, text: str, *, also: Mapping[str, ActionPin] | None = None) -> tuple[list[str], int]:
    """What disagrees with the pin table in one file, and how many `uses:` were checked.

    `also` are further entries the file may name (docs/MIGRATION.md's peers)."""
    table = {**PINS, **(also or {})}
    found: list[str] = []
    checked = 0
    for uses in uses_in(text):
        where = f"{name}:{uses.line}: uses: {uses.ref}"
        if uses.ref.startswith("./"):
            continue  # a local action: the workflow's own commit
        checked += 1
        if uses.ref.startswith("docker://"):
            if "@sha256:" not in uses.ref:
                found.append(f"{where}: a Docker image by tag, not by digest")
            continue
        action, at, ref = uses.ref.partition("@")
        repository = "/".join(action.split("/")[:2])
        if not at:
            found.append(f"{where}: no @ref at all")
        elif repository == ACTION_REPOSITORY:
            if not (_FULL_SHA.fullmatch(ref) or _OWN_ACTION_TAG.fullmatch(ref)):
                found.append(f"{where}: this action by neither a commit SHA nor its major version tag")
        elif repository not in table:
            found.append(
                f"{where}: {repository} is not in the pin table (src/wait_and_dispatch/action_pins.py); "
                "verify a release of it as docs/action-pins.md says and add it there"
            )
        else:
            pin = table[repository]
            if not _FULL_SHA.fullmatch(ref):
                found.append(f"{where}: not pinned to a commit SHA (the table has {pin.pinned})")
            elif ref != pin.sha or uses.comment != pin.version:
                found.append(f"{where} # {uses.comment}: the table has {pin.pinned}")
    return found, checked
