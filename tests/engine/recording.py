"""An Engine that keeps every progress event, for tests to read."""

from __future__ import annotations

from wait_and_dispatch.engine.facade import Engine
from wait_and_dispatch.engine.progress import ProgressEvent
from wait_and_dispatch.github_api import GitHubApi


class RecordingEngine(Engine):
    def __init__(self, api: GitHubApi) -> None:
        self.events: list[ProgressEvent] = []
        super().__init__(api, self.events.append)

    def messages(self) -> list[str]:
        return [event.message for event in self.events]
