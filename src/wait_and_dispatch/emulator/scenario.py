"""The scenario: what the emulated GitHub holds when it starts (docs/emulator.md, "Scenario reference").

A scenario is parsed once (scenario_parser.py) into frozen dataclasses (specs.py); every unknown
key, wrong type or dangling reference is a `UsageError` that names the key's path
(`repos.octo/app.workflows[0].timeline.queud`), so a typo in a test's scenario fails loudly
instead of silently changing behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from wait_and_dispatch.emulator.faults import Fault
from wait_and_dispatch.emulator.scenario_parser import read_scenario
from wait_and_dispatch.emulator.scenario_reader import scenario_error
from wait_and_dispatch.emulator.specs import (
    TIMELINE_FIELDS,
    CaseSpec,
    GitHubAppSpec,
    JobSpec,
    Options,
    RepoSpec,
    TimelineSpec,
    TokenSpec,
    WorkflowSpec,
)
from wait_and_dispatch.support import safe_yaml
from wait_and_dispatch.support.errors import UsageError


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario. Build it with `from_dict`, `load` or `demo`."""

    options: Options = field(default_factory=Options)
    tokens: Mapping[str, TokenSpec] = field(default_factory=dict)
    repos: Mapping[str, RepoSpec] = field(default_factory=dict)
    faults: tuple[Fault, ...] = ()
    apps: Mapping[str, GitHubAppSpec] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        parts = read_scenario(data)
        return cls(
            options=parts.options,
            tokens=parts.tokens,
            repos=parts.repos,
            faults=parts.faults,
            apps=parts.apps,
        )

    def at_speed(self, speed: float) -> Scenario:
        """This scenario told `speed` times faster: every span of its story (timelines, job starts
        and durations, the offsets of runs, checks and faults, the delay before a dispatched run
        is listed) divided by `speed`.

        The clock stays the real one, as GitHub's is: timestamps, `Date` and `created` filters
        agree with every client's clock, and a run dispatched a minute ago is a minute old. Only
        the waits are shorter. (Running the clock itself faster made every earlier run look
        newer than a client's "now".) What GitHub fixes, not the story, is kept: signed URLs'
        lifetime, rate-limit windows, token lifetimes, retention in days, `slow` faults' delay.
        """
        if speed == 1:
            return self

        def span(seconds: float) -> float:
            return seconds / speed

        def timeline(spec: TimelineSpec) -> TimelineSpec:
            return TimelineSpec(*(span(getattr(spec, name)) for name in TIMELINE_FIELDS))

        def jobs(specs: tuple[JobSpec, ...]) -> tuple[JobSpec, ...]:
            return tuple(
                replace(
                    job, start=span(job.start), duration=None if job.duration is None else span(job.duration)
                )
                for job in specs
            )

        def case(spec: CaseSpec) -> CaseSpec:
            return replace(
                spec,
                timeline=None if spec.timeline is None else timeline(spec.timeline),
                jobs=None if spec.jobs is None else jobs(spec.jobs),
            )

        def workflow(spec: WorkflowSpec) -> WorkflowSpec:
            return replace(
                spec,
                timeline=timeline(spec.timeline),
                jobs=jobs(spec.jobs),
                cases=tuple(case(c) for c in spec.cases),
            )

        def repo(spec: RepoSpec) -> RepoSpec:
            return replace(
                spec,
                workflows=tuple(workflow(w) for w in spec.workflows),
                runs=tuple(
                    replace(
                        run,
                        created=span(run.created),
                        timeline=None if run.timeline is None else timeline(run.timeline),
                    )
                    for run in spec.runs
                ),
                check_runs=tuple(
                    replace(check, created=span(check.created), timeline=timeline(check.timeline))
                    for check in spec.check_runs
                ),
                check_suites=tuple(
                    replace(suite, created=span(suite.created)) for suite in spec.check_suites
                ),
            )

        return replace(
            self,
            options=replace(
                self.options, dispatch_visibility_delay=span(self.options.dispatch_visibility_delay)
            ),
            repos={name: repo(spec) for name, spec in self.repos.items()},
            faults=tuple(
                replace(
                    fault,
                    since=None if fault.since is None else span(fault.since),
                    until=None if fault.until is None else span(fault.until),
                )
                for fault in self.faults
            ),
        )

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a scenario from a YAML or JSON file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(
                f"cannot read scenario {path}: {error.strerror}",
                hint="check the path of the scenario file (YAML or JSON)",
            ) from error
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "<scenario>") -> Scenario:
        try:
            data = json.loads(text) if source.endswith(".json") else safe_yaml.load(text)
        except (yaml.YAMLError, json.JSONDecodeError) as error:
            raise scenario_error(f"scenario {source} is not valid YAML/JSON: {error}") from error
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise scenario_error(f"scenario {source}: expected a mapping at the top")
        return cls.from_dict(data)

    @classmethod
    def demo(cls) -> Scenario:
        """The scenario shipped with the package (`emulator/scenarios/demo.yml`)."""
        text = resources.files("wait_and_dispatch.emulator").joinpath("scenarios/demo.yml").read_text("utf-8")
        return cls.from_text(text, "demo.yml")
