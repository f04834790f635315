"""Point the release's action.yml at the prebuilt image: `pin_image.py --digest sha256:<64 hex>`.

On `main`, action.yml says `image: Dockerfile`, so `uses: ./` and forks build the image from the
source tree. The commit a release tag points to says
`image: docker://ghcr.io/wait-and-dispatch/wait-and-dispatch@sha256:<digest>` instead, so a job
pulls the image the release workflow built and builds nothing ("Metadata syntax for GitHub
Actions", runs.image: `docker://` images from a registry). A digest, not a tag: what a user's
`@v1.2.3` runs can never change under them.

Only that one line changes; every other byte of the file (comments, quoting, line endings) stays
as it is. Exit 0, 1 when the digest or action.yml is not as expected, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from versioning import ROOT, ReleaseError, action_repository

__all__ = ["DIGEST", "ReleaseError", "image_name", "main", "pin"]

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_IMAGE_LINE = re.compile(r"^(?P<key>[ \t]+image:[ \t]*)(?P<value>\S.*?)(?P<tail>[ \t]*(?:#.*)?)$")
_SOURCE_IMAGES = {"Dockerfile", "'Dockerfile'", '"Dockerfile"'}


def image_name(root: Path) -> str:
    """The GHCR repository of the action's image: ghcr.io/<owner>/<name> (GHCR names are lowercase)."""
    return f"ghcr.io/{action_repository(root).lower()}"


def pin(action_yml: str, image: str, digest: str) -> str:
    """action.yml's text with `runs.image: Dockerfile` replaced by `docker://image@digest`."""
    if DIGEST.fullmatch(digest) is None:
        raise ReleaseError(f"{digest!r} is not an image digest: sha256: and 64 lowercase hex digits")
    lines = action_yml.splitlines(keepends=True)
    in_runs = False
    found: list[int] = []
    for number, line in enumerate(lines):
        content = line.rstrip("\r\n")
        if content and not content[0].isspace() and not content.startswith("#"):
            in_runs = content.split("#", 1)[0].rstrip() == "runs:"
        match = _IMAGE_LINE.match(content)
        if in_runs and match is not None:
            found.append(number)
    if len(found) != 1:
        raise ReleaseError(f"action.yml has {len(found)} `image:` lines under `runs:`, expected one")
    number = found[0]
    content = lines[number].rstrip("\r\n")
    ending = lines[number][len(content) :]
    match = _IMAGE_LINE.match(content)
    assert match is not None
    if match["value"] not in _SOURCE_IMAGES:
        raise ReleaseError(
            f"action.yml's runs.image is {match['value']!r}, not Dockerfile: is it pinned already?"
        )
    lines[number] = f"{match['key']}docker://{image}@{digest}{match['tail']}{ending}"
    return "".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pin_image.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--digest", required=True, help="the pushed image's digest, sha256:<64 hex>")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    parser.add_argument("--image", help="the image's repository (default: ghcr.io/ + ACTION_REPOSITORY)")
    args = parser.parse_args(argv)
    path = args.root / "action.yml"
    try:
        image = args.image or image_name(args.root)
        # newline="" keeps \r\n where the file has it: the rewrite changes one line and nothing else.
        with path.open(encoding="utf-8", newline="") as source:
            text = source.read()
        pinned = pin(text, image, args.digest)
    except ReleaseError as error:
        print(f"pin_image: {error}", file=sys.stderr)
        return 1
    with path.open("w", encoding="utf-8", newline="") as target:
        target.write(pinned)
    print(f"pin_image: action.yml runs docker://{image}@{args.digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
