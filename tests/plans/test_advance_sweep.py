"""The sweep of advance mode (plans/advance_deadlines.py): its cron, its event told from the plan's
own `on.schedule`, and the trigger `plan --emit-workflow --advance --advance-sweep` writes."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.plans.test_emit import read_back
from tests.support.actionlint import ROOT, actionlint_command
from tests.support.zizmor import zizmor
from wait_and_dispatch.cli import main as cli
from wait_and_dispatch.cli.parser import build_parser, command_parser
from wait_and_dispatch.plans.advance_deadlines import sweep_cron
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.session.advance import read_event
from wait_and_dispatch.support.errors import UsageError

PLAN = """\
name: Nightly
repository: octo/app
on:
  workflow_dispatch:
  schedule:
    - cron: "30 2 * * *"
nodes:
  build:
    workflow: build.yml
"""
ACTION_REF = "wait-and-dispatch/wait-and-dispatch@" + "0" * 40


def schedule_event(tmp_path: Path, cron: str) -> dict[str, str]:
    """A job of a run started by `schedule`, its payload as GitHub writes it (`github.event.schedule`)."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"schedule": cron}), encoding="utf-8")
    return {
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": "777",
    }


def plan_file(tmp_path: Path, text: str = PLAN) -> Path:
    path = tmp_path / "plan.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_plans_own_schedule_still_starts_an_instance(tmp_path: Path) -> None:
    event = read_event(schedule_event(tmp_path, "30 2 * * *"), load_plan(plan_file(tmp_path)))
    assert event.starts
    assert not event.sweep


def test_a_schedule_of_another_cron_is_the_sweep_and_starts_nothing(tmp_path: Path) -> None:
    event = read_event(schedule_event(tmp_path, sweep_cron("15m")), load_plan(plan_file(tmp_path)))
    assert event.sweep
    assert not event.starts


def test_a_schedule_of_a_plan_with_no_schedule_is_the_sweep(tmp_path: Path) -> None:
    plan = load_plan(plan_file(tmp_path, PLAN.replace('  schedule:\n    - cron: "30 2 * * *"\n', "")))
    assert read_event(schedule_event(tmp_path, "0 3 * * *"), plan).sweep


@pytest.mark.parametrize(
    ("every", "cron"),
    [("15m", "7,22,37,52 * * * *"), ("30m", "7,37 * * * *"), ("1h", "7 * * * *"), ("6h", "7 */6 * * *")],
)
def test_the_sweeps_cron_repeats_every_period_away_from_the_top_of_the_hour(every: str, cron: str) -> None:
    assert sweep_cron(every) == cron


def test_the_sweeps_cron_is_none_of_the_plans_own() -> None:
    assert sweep_cron("1h", ["7 * * * *"]) == "8 * * * *"


@pytest.mark.parametrize("every", ["1m", "7m", "90m", "soon"])
def test_a_sweep_period_that_github_cannot_schedule_is_a_usage_error(every: str) -> None:
    with pytest.raises(UsageError, match="a schedule runs every 5 minutes at the most"):
        sweep_cron(every)


def accepted(every: str) -> bool:
    try:
        return bool(sweep_cron(every))
    except UsageError:
        return False


def test_the_help_and_the_docs_name_exactly_the_sweep_periods_that_make_a_cron() -> None:
    (option,) = [
        a for a in command_parser(build_parser(), "plan")._actions if "--advance-sweep" in a.option_strings
    ]
    assert option.help is not None
    periods = [f"{m}m" for m in range(1, 60)] + [f"{h}h" for h in range(1, 25)]
    expected = [every for every in periods if accepted(every)]
    assert re.findall(r"\b(\d+[mh])\b", option.help) == expected
    docs = (ROOT / "docs" / "plans.md").read_text(encoding="utf-8")
    said = docs[docs.index("adds a `schedule:` trigger") :].split(":", 2)[1]
    assert re.findall(r"\b(\d+[mh])\b", said) == expected


def emit(tmp_path: Path, *options: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    workflows = tmp_path / "workflows"
    workflows.mkdir(exist_ok=True)
    # The node's workflow, whose name the advance orchestrator listens to for its completions.
    (workflows / "build.yml").write_text(
        "name: Build\non: {workflow_dispatch: {inputs: {distinct_id: {type: string}}}}\n"
        "run-name: Build [${{ inputs.distinct_id }}]\n"
        "jobs: {build: {runs-on: ubuntu-latest, steps: [{run: make}]}}\n",
        encoding="utf-8",
    )
    argv = ["plan", str(plan_file(tmp_path)), "--emit-workflow", "--output-dir", str(tmp_path / "out")]
    argv += ["--workflows-dir", str(workflows), "--action-ref", ACTION_REF, *options]
    code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_advance_orchestrator_with_a_sweep_keeps_the_plans_schedule_and_adds_its_own(
    tmp_path: Path,
) -> None:
    code, _, err = emit(tmp_path, "--advance", "--advance-sweep", "15m")
    assert code == 0, err
    written = read_back((tmp_path / "out" / "orchestrator-advance.yml").read_text(encoding="utf-8"))
    assert written["on"]["schedule"] == [{"cron": "30 2 * * *"}, {"cron": "7,22,37,52 * * * *"}]


def test_the_sweep_without_advance_mode_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = emit(tmp_path, "--advance-sweep", "15m")
    assert code == 2
    assert "--advance-sweep is a trigger of the advance orchestrator" in err


def test_the_advance_orchestrator_with_a_sweep_passes_actionlint_and_zizmor(tmp_path: Path) -> None:
    code, _, err = emit(tmp_path, "--advance", "--advance-sweep", "5m")
    assert code == 0, err
    path = str(tmp_path / "out" / "orchestrator-advance.yml")
    linted = subprocess.run(
        [*actionlint_command(), path], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
    audited = zizmor(path)
    assert audited.returncode == 0, audited.stdout + audited.stderr
