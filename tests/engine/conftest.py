"""Engine fixtures: an `Engine` over a real HTTP client to the emulator, with recorded progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi

if TYPE_CHECKING:
    from tests.engine.recording import RecordingEngine

APP = Repository("octo", "app")

MakeEngine = Callable[..., "RecordingEngine"]


@pytest.fixture
def make_engine(make_api: Callable[..., GitHubApi]) -> MakeEngine:
    # Imported here so that test modules that do not use the engine facade load on their own.
    from tests.engine.recording import RecordingEngine

    def make(emulator: Emulator, token: str = "dev", **options: Any) -> RecordingEngine:
        return RecordingEngine(make_api(emulator, token, **options))

    return make
