"""What the command-line tests share: an emulator in real time that the commands find through
the environment, as they would find GitHub."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock


@contextlib.contextmanager
def serve_to_the_cli(monkeypatch: pytest.MonkeyPatch, scenario: dict[str, Any]) -> Iterator[Emulator]:
    """The emulator on loopback, with GITHUB_API_URL and GITHUB_TOKEN (its `dev` token) pointing the
    command line at it, and nothing else in the environment naming a token or a repository."""
    with Emulator(Scenario.from_dict(scenario), clock=SystemClock()) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
        monkeypatch.delenv("GH_TOKEN", raising=False)
        monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
        yield emulator
