"""An example's plan run in advance mode, end to end on the emulator: the orchestrator workflow (a
`held` workflow listening to `workflow_run` of every node workflow by name) is dispatched, and for
each of its runs the runner is played (`tests/support/advance_runner.py`): the action's step runs
with `plan:` and `advance: true` and GitHub's job environment, on a fresh machine, and the run ends
by the step's exit code. Two runs that wait at the same moment are played at the same time.
"""

from __future__ import annotations

import copy
import io
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.advance_runner import Invocation, OrchestratorRunner
from wait_and_dispatch.action.main import run_action
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.emulator.log import LoggedRequest
from wait_and_dispatch.engine.github_objects import Repository
from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.plans.advance import CALLBACK_EVENT_TYPE
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import Plan
from wait_and_dispatch.step.catalogue import INPUTS
from wait_and_dispatch.support.clock import ManualClock

TOKEN = "orchestrator"
ORCHESTRATOR = "orchestrator-advance.yml"


def app_scenario(workflows: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """The emulated GitHub of a small advance test: `octo/app`, private, one commit on main, these
    workflows, runs that name themselves (`return_run_details`) and the given options."""
    return {
        "options": {"return_run_details": True, **options},
        "tokens": {},
        "repos": {
            "octo/app": {
                "private": True,
                "default_branch": "main",
                "branches": {"main": "a" * 40},
                "workflows": workflows,
            }
        },
    }


@dataclass
class Advanced:
    """What the orchestrator's runs did."""

    plan: Plan
    emulator: Emulator
    invocations: list[Invocation]
    stdout: Mapping[int, str]  # each run's step output (the job's log)
    callbacks: str = ""  # the path the node runs' callbacks go to, when they send one

    def log(self, invocation: Invocation) -> str:
        return self.stdout[invocation.run_id]

    @property
    def final(self) -> Invocation:
        """The run that saw the plan end: the one whose step wrote the plan's outputs."""
        (final,) = [i for i in self.invocations if "nodes<<" in i.output_file.read_text(encoding="utf-8")]
        return final

    @property
    def outputs(self) -> dict[str, str]:
        """The final run's step outputs (GITHUB_OUTPUT's `name<<delimiter` blocks)."""
        lines = self.final.output_file.read_text(encoding="utf-8").splitlines()
        found: dict[str, str] = {}
        index = 0
        while index < len(lines):
            name, _, delimiter = lines[index].partition("<<")
            end = lines.index(delimiter, index + 1)
            found[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
        return found

    @property
    def nodes(self) -> dict[str, Any]:
        nodes: dict[str, Any] = json.loads(self.outputs["nodes"])
        return nodes

    @property
    def conclusion(self) -> str:
        return self.outputs["conclusion"]

    @property
    def exit_code(self) -> int:
        return self.final.exit_code

    def results(self) -> dict[str, str]:
        return {name: str(node["result"]) for name, node in self.nodes.items()}

    @property
    def of_the_instance(self) -> list[Invocation]:
        """The orchestrator runs that advanced the instance (not those for runs of none: a push's
        run of a node's workflow raises workflow_run too)."""
        return [i for i in self.invocations if "belongs to no instance" not in self.log(i)]

    def dispatch_requests(self) -> list[LoggedRequest]:
        """The accepted dispatches of node workflows (not of the orchestrator)."""
        return [
            r
            for r in self.emulator.writes()
            if r.method == "POST"
            and r.path.endswith("/dispatches")
            and f"/{ORCHESTRATOR}/" not in r.path
            and r.path != self.callbacks
            and r.status in (200, 204)
        ]


class AdvanceHarness:
    """An example's scenario with an advance orchestrator added, and the runner played for it."""

    def __init__(
        self,
        scenario: Mapping[str, Any],
        plan_path: Path,
        workdir: Path,
        patch: Callable[..., object],
        *,
        environment: str | None = None,
        variables: Mapping[str, str] | None = None,
        ref: str | None = None,
        orchestrator_repository: str | None = None,
        schedule: tuple[str, ...] = (),
    ) -> None:
        """`orchestrator_repository`: the orchestrator lives there, not beside the node workflows,
        so no `workflow_run` reaches it: each node run's last job sends the callback instead.
        `schedule`: the orchestrator's crons (`Emulator.fire_schedule` starts its runs)."""
        self.clock = ManualClock()
        # The action's API client waits on the emulator's clock: its pacing of writes and a checks
        # node's waiting move the shared clock rather than sleep.
        # (`patch` is pytest-mock's `mocker.patch` in the tests.)
        patch("wait_and_dispatch.github_api.api.SystemClock", return_value=self.clock)
        self.plan = load_plan(plan_path, environment=environment, variables=variables)
        self.plan_path = plan_path
        self.variables = dict(variables or {})
        (repo_name,) = scenario["repos"]
        self.repo = Repository.parse(repo_name)
        scenario = copy.deepcopy(dict(scenario))
        repo = scenario["repos"][repo_name]
        self.ref = ref or str(repo.get("default_branch", "main"))
        scenario["tokens"][TOKEN] = {
            # The orchestrator's own credentials (an App's, by default): dispatching, and the
            # instances' refs (docs/plans.md, "Advance mode"). A GITHUB_TOKEN's dispatch would
            # raise no workflow_run.
            "secret": "ghs_advance_orchestrator_token_000000000000",
            "kind": "app",
            "repos": "*",
            "permissions": {"actions": "write", "contents": "write", "checks": "read"},
        }
        listened = sorted({str(w["name"]) for w in repo["workflows"]})
        orchestrator: dict[str, Any] = {
            "path": f".github/workflows/{ORCHESTRATOR}",
            "name": f"Orchestrator {self.plan.name} advance",
            "on": {
                "workflow_dispatch": {},
                "workflow_run": {"workflows": listened, "types": ["completed"]},
                "repository_dispatch": {"types": [CALLBACK_EVENT_TYPE]},
                **({"schedule": [{"cron": cron} for cron in schedule]} if schedule else {}),
            },
            "held": True,
        }
        self.home = Repository.parse(orchestrator_repository) if orchestrator_repository else self.repo
        if orchestrator_repository:
            home_sha = "c0ffee" + "0" * 34
            scenario["repos"][orchestrator_repository] = {
                "private": True,
                "default_branch": "main",
                "branches": {"main": home_sha},
                "workflows": [orchestrator],
            }
            self.home_ref = "main"
        else:
            repo["workflows"].append(orchestrator)
            self.home_ref = self.ref
        self.called_back: set[int] = set()
        self.emulator = Emulator(Scenario.from_dict(scenario), clock=self.clock)
        self.emulator.start()
        self.stdout: dict[int, str] = {}
        self.wall: dict[int, float] = {}  # each run's step in real seconds (requests over loopback)
        self._lock = threading.Lock()
        self.runner = OrchestratorRunner(
            self.emulator, self.clock, self.home.full_name, ORCHESTRATOR, self.step, workdir
        )

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

    def step(self, environ: Mapping[str, str]) -> int:
        """The orchestrator's job: the action with the plan in advance mode."""
        inputs = {
            # action.yml's defaults, as the runner passes them for every input the step leaves out
            **{
                item.env_names[0]: item.default
                for item in INPUTS
                if item.default and "${{" not in item.default
            },
            "INPUT_PLAN": str(self.plan_path),
            "INPUT_PLAN-ENVIRONMENT": self.plan.environment or "",
            "INPUT_PLAN-VARS": "".join(f"{name}={value}\n" for name, value in self.variables.items()),
            "INPUT_ADVANCE": "true",
            "INPUT_GITHUB-TOKEN": self.emulator.token(TOKEN),
        }
        out = io.StringIO()
        began = time.perf_counter()
        code = run_action({**environ, **inputs}, stdout=out)
        with self._lock:
            self.wall[int(environ["GITHUB_RUN_ID"])] = time.perf_counter() - began
            self.stdout[int(environ["GITHUB_RUN_ID"])] = out.getvalue()
        return code

    def start(self) -> None:
        """The orchestrator's own start: a workflow_dispatch on the plan's ref."""
        with self.api() as api:
            path = f"{self.home.api_path}/actions/workflows/{ORCHESTRATOR}/dispatches"
            api.post(path, {"ref": self.home_ref})

    def run_with_callbacks(self, *, within: float = 7 * 86400) -> Advanced:
        """As `run`, for an orchestrator in another repository: when a node's run completes, its
        last job sends the callback (repository_dispatch to the orchestrator's repository, the
        run's id in client_payload), as docs/plans.md shows it."""
        self.start()
        deadline = self.clock.now() + within
        while True:
            if self.runner.play_waiting():
                continue
            if self._call_back():
                continue
            wait = self.emulator.seconds_to_next_activity()
            if wait is None:
                played, logs = list(self.runner.played), dict(self.stdout)
                return Advanced(self.plan, self.emulator, played, logs, f"{self.home.api_path}/dispatches")
            assert self.clock.now() + wait <= deadline, "the plan did not end"
            self.clock.advance(wait)

    def _call_back(self) -> bool:
        with self.api() as api:
            runs = api.paginate(
                f"{self.repo.api_path}/actions/runs", {"per_page": 100}, items_key="workflow_runs"
            )
            done = [r["id"] for r in runs if r["status"] == "completed" and r["id"] not in self.called_back]
            for run_id in done:
                self.called_back.add(run_id)
                api.post(
                    f"{self.home.api_path}/dispatches",
                    {"event_type": CALLBACK_EVENT_TYPE, "client_payload": {"run_id": run_id}},
                )
        return bool(done)

    def run(self) -> Advanced:
        """Start the plan and play every orchestrator run until nothing is going on."""
        self.start()
        played = self.runner.run_until_idle()
        return Advanced(self.plan, self.emulator, played, dict(self.stdout))


@pytest.fixture
def harnesses() -> Any:
    made: list[AdvanceHarness] = []
    yield made
    for harness in made:
        harness.close()
