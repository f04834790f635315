"""Advance mode's state in git refs: the instances of a plan as the refs of the orchestrator's
repository hold them (plans/advance.py says what each ref means), and the store they are read
from and written to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from wait_and_dispatch.engine import git_refs
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi
from wait_and_dispatch.plans.model import NodeResult, Plan

REF_ROOT = "wait-and-dispatch"


class RefStore(Protocol):
    """Git refs of one repository, named without `refs/`."""

    def matching(self, prefix: str) -> list[tuple[str, str]]:
        """Every ref whose name starts with `prefix`, with the object it points to."""

    def create(self, name: str, sha: str) -> git_refs.Claim:
        """Create the ref: CREATED; it exists already (GitHub's 422): ALREADY_EXISTS; the answer
        was lost and the ref is there: UNCERTAIN (`git_refs.claim_ref`)."""

    def delete(self, name: str) -> None:
        """Delete the ref (one that is gone already is no error)."""


class GitRefStore:
    """`RefStore` over a repository's git refs (`engine.git_refs`)."""

    def __init__(self, api: GitHubApi, repository: Repository) -> None:
        self.api = api
        self.repository = repository

    def matching(self, prefix: str) -> list[tuple[str, str]]:
        found = git_refs.matching_refs(self.api, self.repository, f"refs/{prefix}")
        return [(ref.name.removeprefix("refs/"), ref.sha) for ref in found]

    def create(self, name: str, sha: str) -> git_refs.Claim:
        return git_refs.claim_ref(self.api, self.repository, f"refs/{name}", sha)

    def delete(self, name: str) -> None:
        git_refs.delete_ref(self.api, self.repository, f"refs/{name}")


def plan_key(plan: Plan) -> str:
    """The plan's name in refs: its name and environment, so that two plans (or one plan's two
    environments) driven from one repository keep their instances apart."""
    text = f"{plan.name}\0{plan.environment or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Instance:
    """One instance of a plan as its refs show it."""

    id: str
    sha: str  # the commit it started on: the plan's, and github.sha
    event_name: str
    ref_name: str
    claims: dict[str, int] = field(default_factory=dict)  # node -> its last claim's number
    # (node, claim) -> when the holder's job is over at the latest, and its run (0: not known)
    inline: dict[tuple[str, int], tuple[float, int]] = field(default_factory=dict)
    # (node, claim) -> the commit whose checks a checks node waits on events for, and the workflow
    # files whose runs carry them (advance_checks.py)
    checks: dict[tuple[str, int], tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    done: dict[str, NodeResult] = field(default_factory=dict)
    found: set[str] = field(default_factory=set)  # nodes whose run was found, not dispatched
    refs: list[str] = field(default_factory=list)  # every live ref of the instance

    def checks_of(self, name: str) -> tuple[str, tuple[str, ...]] | None:
        """The commit whose checks the node waits on events for under its last claim, and the
        files whose runs carry them (None: it does not wait on events)."""
        return self.checks.get((name, self.claims.get(name, 1)))


def live_prefix(key: str) -> str:
    return f"{REF_ROOT}/live/{key}/"


def instance_prefix(key: str, instance: str) -> str:
    return f"{live_prefix(key)}{instance}/"


def ended_ref(key: str, instance: str) -> str:
    return f"{REF_ROOT}/ended/{key}/{instance}"


def read_instances(refs: Iterable[tuple[str, str]], key: str) -> dict[str, Instance]:
    """The live instances of a plan from its refs. A ref that does not parse is not ours (or is
    a half-made instance without its start ref) and is left out."""
    prefix = live_prefix(key)
    parts_by_instance: dict[str, list[tuple[list[str], str, str]]] = {}
    for name, sha in refs:
        if not name.startswith(prefix):
            continue
        instance, _, rest = name[len(prefix) :].partition("/")
        parts_by_instance.setdefault(instance, []).append((rest.split("/"), sha, name))
    found: dict[str, Instance] = {}
    for instance, entries in parts_by_instance.items():
        start = next((e for e in entries if e[0][0] == "start" and len(e[0]) >= 3), None)
        if start is None:
            continue
        parts, sha, _ = start
        item = Instance(instance, sha, parts[1], "/".join(parts[2:]), refs=[e[2] for e in entries])
        for parts, _, _ in entries:
            if len(parts) == 2 and (number := _claim_number(parts[0])):
                item.claims[parts[1]] = max(number, item.claims.get(parts[1], 0))
            elif (
                parts[0] == "inline"
                and len(parts) == 5
                and all(p.isascii() and p.isdigit() for p in parts[2:])
            ):
                item.inline[(parts[1], int(parts[2]))] = (float(parts[3]), int(parts[4]))
            elif parts[0] == "checks" and len(parts) == 5 and parts[2].isascii() and parts[2].isdigit():
                item.checks[(parts[1], int(parts[2]))] = (parts[3], tuple(parts[4].split(",")))
            elif (
                parts[0] in ("run", "found") and len(parts) == 3 and parts[2].isascii() and parts[2].isdigit()
            ):
                item.runs[parts[1]] = int(parts[2])
                if parts[0] == "found":
                    item.found.add(parts[1])
            elif parts[0] == "done" and len(parts) == 3 and parts[2] in NodeResult.__members__.values():
                item.done[parts[1]] = NodeResult(parts[2])
        found[instance] = item
    return found


def _claim_number(part: str) -> int:
    """1 for `claim`, n for `claim-<n>`, else 0."""
    if part == "claim":
        return 1
    number = part.removeprefix("claim-")
    return int(number) if number != part and number.isascii() and number.isdigit() and int(number) >= 2 else 0
