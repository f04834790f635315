"""Create a release's tag and move the tags that follow it: `tag_plan.py 1.2.3 --commit SHA`.

A release `X.Y.Z` gets the tag `vX.Y.Z` on the release commit (the commit whose action.yml pins the
image by digest), and moves `vX.Y` and `vX` there, so `uses: ...@v1` follows the newest 1.x.
A floating tag never moves backwards: releasing 1.3.5 after 1.4.0 moves `v1.3` but leaves `v1` at
1.4.0. A prerelease (`X.Y.Z-rc.N`) gets its own tag and moves nothing.

`vX.Y.Z` may already exist on `--source`: the commit the maintainer tagged to start the release,
which the release commit is built on. It then moves to the release commit; on any other commit it
is a conflict and nothing is changed.

Without `--apply` it only prints the plan. `--apply` sets the tags in the local repository;
`--push REMOTE` then pushes them in one atomic push, each with `--force-with-lease` on the value
the plan saw, so a tag someone else moved in the meantime makes the whole push fail. Exit 0,
1 on a conflict or a failed git command, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from versioning import ReleaseError, Version

__all__ = ["ReleaseError", "TagMove", "TagRef", "Version", "is_latest", "main", "plan"]


@dataclass(frozen=True)
class TagRef:
    """A tag as git has it: its own object (a tag object when annotated) and the commit it names."""

    object: str
    commit: str


@dataclass(frozen=True)
class TagMove:
    """What to do with one tag: name `commit`. `previous` is the tag as it is now (None: new)."""

    tag: str
    commit: str
    previous: TagRef | None
    annotated: bool
    reason: str

    @property
    def changes(self) -> bool:
        return self.previous is None or self.previous.commit != self.commit


def plan(
    version: Version, commit: str, existing: Mapping[str, TagRef], *, source: str | None = None
) -> list[TagMove]:
    """The moves that release `version` at `commit`, given the tags that exist now."""
    moves = [_release_tag(version, commit, existing, source)]
    if version.prerelease:
        return moves
    for floating, line in (
        (f"v{version.major}.{version.minor}", (version.major, version.minor)),
        (f"v{version.major}", (version.major,)),
    ):
        moves.append(_floating_tag(floating, line, version, commit, existing))
    return moves


def _release_tag(
    version: Version, commit: str, existing: Mapping[str, TagRef], source: str | None
) -> TagMove:
    current = existing.get(version.tag)
    if current is None:
        return TagMove(version.tag, commit, None, True, "new")
    if current.commit == commit:
        return TagMove(version.tag, commit, current, True, "already there")
    if source is not None and current.commit == source:
        return TagMove(version.tag, commit, current, True, f"from the tagged source commit {source[:12]}")
    raise ReleaseError(
        f"{version.tag} already names {current.commit[:12]}, not the release's source commit: "
        "a released version is never re-tagged; release a new version instead"
    )


def _floating_tag(
    floating: str, line: tuple[int, ...], version: Version, commit: str, existing: Mapping[str, TagRef]
) -> TagMove:
    current = existing.get(floating)
    if current is None:
        return TagMove(floating, commit, None, False, f"new, at {version.tag}")
    if current.commit == commit:
        return TagMove(floating, commit, current, False, "already there")
    releases = _releases_in_line(existing, line, exclude=version)
    # The version the floating tag stands for: the newest release on its commit, else (a tag set
    # by hand) the newest release of its line.
    on_commit = [found for found, ref in releases.items() if ref.commit == current.commit]
    standing = max(on_commit or list(releases), default=None)
    if standing is not None and standing > version:
        return TagMove(floating, current.commit, current, False, f"stays at {standing.tag}, newer")
    moved_from = standing.tag if standing is not None else current.commit[:12]
    return TagMove(floating, commit, current, False, f"moves from {moved_from} to {version.tag}")


def _releases_in_line(
    existing: Mapping[str, TagRef], line: tuple[int, ...], *, exclude: Version
) -> dict[Version, TagRef]:
    releases: dict[Version, TagRef] = {}
    for tag, ref in existing.items():
        try:
            found = Version.from_tag(tag)
        except ReleaseError:
            continue  # vX, vX.Y and tags that are not releases
        if not found.prerelease and found != exclude and (found.major, found.minor)[: len(line)] == line:
            releases[found] = ref
    return releases


def is_latest(version: Version, existing: Mapping[str, TagRef]) -> bool:
    """Whether the GitHub release of `version` is the repository's latest: a release (not a
    prerelease) no other release tag is newer than. GitHub would otherwise mark each new release
    latest (`make_latest` defaults to true), a fix of an older line included."""
    if version.prerelease:
        return False
    others = _releases_in_line(existing, (), exclude=version)
    return all(other < version for other in others)


# --- git -------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    # git from PATH, as the runner and a maintainer's shell have it.
    result = subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", "-C", str(repo), *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def existing_tags(repo: Path) -> dict[str, TagRef]:
    tags: dict[str, TagRef] = {}
    listing = git(
        repo, "for-each-ref", "--format=%(refname:strip=2) %(objectname) %(*objectname)", "refs/tags"
    )
    for line in listing.splitlines():
        name, obj, *peeled = line.split()
        tags[name] = TagRef(obj, peeled[0] if peeled else obj)
    return tags


def apply(repo: Path, moves: Sequence[TagMove], version: Version) -> None:
    for move in moves:
        if not move.changes:
            continue
        if move.annotated:
            message = f"wait-and-dispatch {version}"
            git(repo, "tag", "--force", "--annotate", "--message", message, move.tag, move.commit)
        else:
            git(repo, "tag", "--force", move.tag, move.commit)


def push(repo: Path, remote: str, moves: Sequence[TagMove]) -> None:
    changed = [move for move in moves if move.changes]
    if not changed:
        return
    leases = [
        f"--force-with-lease=refs/tags/{m.tag}:{m.previous.object if m.previous else ''}" for m in changed
    ]
    refs = [f"refs/tags/{m.tag}:refs/tags/{m.tag}" for m in changed]
    git(repo, "push", "--atomic", "--porcelain", *leases, remote, *refs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tag_plan.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="X.Y.Z or vX.Y.Z")
    parser.add_argument("--commit", required=True, help="the release commit the tags go to")
    parser.add_argument("--source", help="the commit the pushed vX.Y.Z tag names now (it moves)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the git repository (default: .)")
    parser.add_argument("--apply", action="store_true", help="set the tags in the local repository")
    parser.add_argument("--push", metavar="REMOTE", help="with --apply: push the changed tags to REMOTE")
    parser.add_argument(
        "--github-output",
        type=Path,
        help="append `latest=true|false` (is it the newest release?) to this file",
    )
    args = parser.parse_args(argv)
    if args.push and not args.apply:
        parser.error("--push needs --apply")
    try:
        version = Version.parse(args.version.removeprefix("v"))
        commit = git(args.repo, "rev-parse", "--verify", f"{args.commit}^{{commit}}").strip()
        source = None
        if args.source:
            source = git(args.repo, "rev-parse", "--verify", f"{args.source}^{{commit}}").strip()
        existing = existing_tags(args.repo)
        moves = plan(version, commit, existing, source=source)
        for move in moves:
            print(f"{move.tag} -> {move.commit[:12]}: {move.reason}")
        latest = "true" if is_latest(version, existing) else "false"
        print(f"latest={latest}")
        if args.apply:
            apply(args.repo, moves, version)
        if args.push:
            push(args.repo, args.push, moves)
        if args.github_output is not None:
            with args.github_output.open("a", encoding="utf-8") as output:
                output.write(f"latest={latest}\n")
    except ReleaseError as error:
        print(f"tag_plan: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
