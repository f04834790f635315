"""A test runner that plays GitHub's runner for advance mode: for every orchestrator run (the start,
then one per completed run, as `workflow_run` starts them) it runs the advance step with the
environment a job gets (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`, ...), on a fresh "machine" (a
fresh API client: nothing is carried from one invocation to the next but what GitHub holds).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.emulator.log import LoggedRequest
from wait_and_dispatch.engine.model import Repository
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.plans.executor import PlanContext
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeOutcome, Plan, PlanResult
from wait_and_dispatch.session.advance import read_event
from wait_and_dispatch.session.plan_step import PlanReport, PlanSettings, run_plan_job
from wait_and_dispatch.support.clock import ManualClock

TOKEN = "orchestrator"
# How far the harness moves time between looks for completed runs.
STEP = 15.0


@dataclass
class Invocation:
    """One orchestrator run: its event, what it did, and the API units it cost."""

    event: str
    report: PlanReport
    requests: int
    counted: int  # requests that count against the rate limit (not 304s)


@dataclass
class Advanced:
    """A plan run to its end in advance mode."""

    plan: Plan
    emulator: Emulator
    invocations: list[Invocation] = field(default_factory=list)

    @property
    def result(self) -> PlanResult:
        ended = [i.report.result for i in self.invocations if i.report.result is not None]
        assert len(ended) == 1, f"the plan ended {len(ended)} times"
        result = ended[0]
        assert result is not None
        return result

    @property
    def final(self) -> Invocation:
        (final,) = [i for i in self.invocations if i.report.result is not None]
        return final

    @property
    def of_the_instance(self) -> list[Invocation]:
        """The orchestrator runs that advanced the instance (not those for runs of none: a push's
        run of a node's workflow raises workflow_run too)."""
        return [i for i in self.invocations if any(r.instance for r in i.report.advanced)]

    def outcome(self, node: str) -> NodeOutcome:
        return self.result.outcomes[node]

    def results(self) -> dict[str, str]:
        return {name: o.result.value for name, o in self.result.outcomes.items()}

    def dispatch_requests(self) -> list[LoggedRequest]:
        return [
            r
            for r in self.emulator.writes()
            if r.method == "POST" and r.path.endswith("/dispatches") and r.status in (200, 204)
        ]


class AdvanceHarness:
    """An example's scenario on the emulator, and its plan advanced event by event."""

    def __init__(
        self,
        scenario: Mapping[str, Any],
        plan_path: Path,
        workdir: Path,
        *,
        environment: str | None = None,
        variables: Mapping[str, str] | None = None,
        ref: str | None = None,
    ) -> None:
        self.clock = ManualClock()
        scenario = copy.deepcopy(dict(scenario))
        # The orchestrator's token: dispatching, and the instances' refs (docs/plans.md, "Advance mode").
        scenario["tokens"][TOKEN] = {
            "secret": "ghs_advance_orchestrator_token_000000000000",
            "kind": "pat",
            "repos": "*",
            "permissions": {"actions": "write", "contents": "write", "checks": "read"},
            "actor": "octocat",
        }
        self.emulator = Emulator(Scenario.from_dict(scenario), clock=self.clock)
        self.emulator.start()
        self.plan = load_plan(plan_path, environment=environment, variables=variables)
        (repo_name,) = scenario["repos"]
        self.repo = Repository.parse(repo_name)
        repo = scenario["repos"][repo_name]
        self.ref = ref or str(repo.get("default_branch", "main"))
        self.sha = str(repo["branches"][self.ref])
        self.default_branch = str(repo.get("default_branch", "main"))
        self.default_sha = str(repo["branches"][self.default_branch])
        self.workdir = workdir
        self.orchestrator_runs = iter(range(9_000_001, 9_999_999))
        self._lock = threading.Lock()
        self.delivered: set[int] = set()
        self.advanced = Advanced(self.plan, self.emulator)

    def close(self) -> None:
        self.emulator.stop()

    def api(self) -> GitHubApi:
        return GitHubApi(
            base_url=self.emulator.api_url,
            token=self.emulator.token(TOKEN),
            clock=self.clock,
            policy=RetryPolicy(),
            timeout=10,
        )

    def invoke(self, event_name: str, payload: Mapping[str, Any], *, sha: str, ref: str) -> Invocation:
        """One orchestrator run's advance step, as the runner starts it."""
        with self._lock:
            run_id = next(self.orchestrator_runs)
        path = self.workdir / f"event-{run_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload), encoding="utf-8")
        environ = {
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_REPOSITORY": self.repo.full_name,
            "GITHUB_SHA": sha,
            "GITHUB_REF": f"refs/heads/{ref}",
            "GITHUB_RUN_ID": str(run_id),
        }
        settings = PlanSettings(
            path=Path(self.plan.file),
            environment=self.plan.environment,
            variables={},
            node=None,
            needs=None,
            repository=self.repo.full_name,
            dry_run=False,
            summary=False,
            advance=True,
            event=read_event(environ, self.plan),
        )
        context = PlanContext(
            repository=self.repo, sha=None, ref_name=None, workdir=self.workdir / f"job-{run_id}"
        )
        with self.api() as api:
            report = run_plan_job(api, self.plan, settings, context, on_event=lambda event: None)
            stats = api.stats.snapshot()
        invocation = Invocation(event_name, report, stats.requests, stats.units_spent)
        with self._lock:
            self.advanced.invocations.append(invocation)
        return invocation

    def start(self) -> Invocation:
        return self.invoke("workflow_dispatch", {"inputs": {}}, sha=self.sha, ref=self.ref)

    def completed_runs(self) -> Iterator[dict[str, Any]]:
        """Runs that completed and whose event was not delivered yet, oldest first."""
        with self.api() as api:
            runs = list(
                api.paginate(
                    f"{self.repo.api_path}/actions/runs", {"per_page": 100}, items_key="workflow_runs"
                )
            )
        for run in sorted(runs, key=lambda r: r["id"]):
            if run["status"] == "completed" and run["id"] not in self.delivered:
                yield run

    def deliver(self, run: Mapping[str, Any]) -> Invocation:
        """GitHub's workflow_run event for a completed run (the payload's fields as GitHub's)."""
        with self._lock:
            self.delivered.add(int(run["id"]))
        payload = {"action": "completed", "workflow_run": dict(run), "workflow": {"name": run["name"]}}
        # A workflow_run job runs on the default branch's head (GitHub docs, "Events that trigger
        # workflows", workflow_run).
        return self.invoke("workflow_run", payload, sha=self.default_sha, ref=self.default_branch)

    def run(self, *, limit: float = 6 * 3600) -> Advanced:
        """Start the plan and deliver every completion until the plan ends (or `limit` seconds)."""
        self.start()
        spent = 0.0
        while not any(i.report.result is not None for i in self.advanced.invocations):
            assert spent < limit, "the plan did not end"
            for run in list(self.completed_runs()):
                if self.deliver(run).report.result is not None:
                    break
            self.clock.advance(STEP)
            spent += STEP
        return self.advanced
