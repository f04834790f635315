"""The action's own release on the emulator: `plan --emit-workflow` pins the generated `uses:` to
the commit of the tag `v<__version__>` of `ACTION_REPOSITORY`, looked up through the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from wait_and_dispatch import ACTION_REPOSITORY, __version__
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock

RELEASE_SHA = "5a1e7c0d3b2f4e6a8c9d0b1e2f3a4b5c6d7e8f90"
RELEASE_TAG = f"v{__version__}"
PINNED_USES = f"{ACTION_REPOSITORY}@{RELEASE_SHA} # {RELEASE_TAG}"


def release_scenario(*, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A public repository for the action, as on github.com: its release tag and nothing else."""
    return {
        "repos": {
            ACTION_REPOSITORY: {
                "private": False,
                "default_branch": "main",
                "branches": {"main": RELEASE_SHA},
                "tags": {RELEASE_TAG: RELEASE_SHA} if tags is None else tags,
            }
        }
    }


@contextmanager
def serving_the_release(
    monkeypatch: pytest.MonkeyPatch, *, tags: dict[str, str] | None = None
) -> Iterator[Emulator]:
    """The emulator as GITHUB_API_URL, without a token (the action's repository is public)."""
    with Emulator(Scenario.from_dict(release_scenario(tags=tags)), clock=SystemClock()) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        for name in ("GITHUB_TOKEN", "GH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield emulator
