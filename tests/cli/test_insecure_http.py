"""A token over plain http:// to a host that is not this machine: the
command line refuses it unless --insecure-http, the action warns on the run's page. Both edges use
the one check in session/connection.py.

The emulator listens on 127.0.0.1 only; `http://0.0.0.0:PORT` reaches it (Linux connects the
unspecified address to the local host) while not being a loopback name or address, so it stands
for "another machine" here without leaving this one."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edges.test_action import StartStep, fast_scenario, start_step  # noqa: F401 - the fixture
from tests.support.small_plan import write_plan
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="0.0.0.0 reaches the local host on Linux")

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]


def not_loopback(url: str) -> str:
    return url.replace("127.0.0.1", "0.0.0.0")  # noqa: S104 - a URL to connect to, not to listen on


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(Scenario.from_dict(fast_scenario()), clock=SystemClock()) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", not_loopback(emulator.api_url))
        monkeypatch.setenv("GITHUB_TOKEN", emulator.token("dev"))
        monkeypatch.delenv("GH_TOKEN", raising=False)
        yield emulator


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", [["run", *FAST, "--workflow", "build.yml"], ["checks", *FAST]])
def test_the_command_line_refuses_before_sending_anything(emulator: Emulator, command: list[str]) -> None:
    code, out, err = cli(*command)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: the API URL {not_loopback(emulator.api_url)} is plain http:// to 0.0.0.0: "
        "the token would travel in cleartext",
        "hint: use an https:// API URL; pass --insecure-http only if the network to it is yours",
    ]
    assert emulator.requests == []


def test_plan_refuses_too(emulator: Emulator, tmp_path: Path) -> None:
    code, _, err = cli("plan", str(write_plan(tmp_path)))
    assert code == 2 and "is plain http:// to 0.0.0.0" in err
    assert emulator.requests == []


def test_insecure_http_sends_it_anyway_with_a_warning(emulator: Emulator) -> None:
    code, out, err = cli("run", *FAST, "--workflow", "build.yml", "--insecure-http")
    assert code == 0, err
    assert "conclusion: success" in out
    assert err.splitlines()[0].startswith("warning: the API URL http://0.0.0.0:")
    assert emulator.token("dev") not in err


def test_the_action_warns_on_the_runs_page_and_goes_on(start_step: StartStep) -> None:  # noqa: F811
    step = start_step()
    step.env.update(
        {"INPUT_WORKFLOW": "build.yml", "INPUT_API-URL": not_loopback(step.env["GITHUB_API_URL"])}
    )
    step.run()
    assert step.returncode == 0, step.stdout
    warnings = step.commands("warning")
    assert [w.properties.get("title") for w in warnings] == ["Token sent in cleartext"]
    assert "plain http:// to 0.0.0.0" in warnings[0].message
    assert step.outputs["conclusion"] == "success"


def test_the_action_says_nothing_for_the_emulator_on_loopback(start_step: StartStep) -> None:  # noqa: F811
    step = start_step()
    step.env["INPUT_WORKFLOW"] = "build.yml"
    step.run()
    assert step.returncode == 0, step.stdout
    assert step.commands("warning") == []
