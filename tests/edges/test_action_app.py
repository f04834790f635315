"""The action acting as a GitHub App: with only `app-id` and `app-private-key` it dispatches in
another account's repository through an installation token it minted for that repository,
masked, and revoked when the step ends, whether it succeeded, failed or was cancelled.

Run as the runner runs it (a subprocess given only the environment), against the emulator.
"""

from __future__ import annotations

import copy
import itertools
import signal
import subprocess
import time
from typing import Any

from tests.edges import test_action
from tests.edges.test_action import ENTRYPOINT, StartStep, Step, fast_scenario
from tests.support.github_app import APP_ID, app_keys, with_app
from wait_and_dispatch.emulator.faults import Fault

start_step = test_action.start_step  # the fixture, shared with the other action tests

DEPLOY_REPO = "octo-deploy/deploy"


def cross_repo_scenario(**workflow: Any) -> dict[str, Any]:
    """octo/app calls into octo-deploy/deploy, where only the App is installed."""
    scenario = fast_scenario(**workflow)
    deploy = copy.deepcopy(scenario["repos"]["octo/app"])
    scenario["repos"][DEPLOY_REPO] = deploy
    return with_app(scenario, "octo-deploy", repos=[DEPLOY_REPO])


def app_step(start_step: StartStep, **workflow: Any) -> Step:
    step = start_step(cross_repo_scenario(**workflow))
    step.env.update(
        {
            # The runner still passes github-token's default: the job's token, which cannot reach
            # the other account. The App's token must be what the step uses.
            "INPUT_GITHUB-TOKEN": step.emulator.token("ci"),
            "INPUT_APP-ID": str(APP_ID),
            "INPUT_APP-PRIVATE-KEY": app_keys().private_pem,
            "INPUT_REPOSITORY": DEPLOY_REPO,
            "INPUT_WORKFLOW": "build.yml",
            "INPUT_REF": "main",
        }
    )
    return step


def test_an_app_step_dispatches_in_another_repository_and_revokes_its_token(start_step: StartStep) -> None:
    step = app_step(start_step).run()
    assert step.returncode == 0, step.stdout
    assert step.outputs["conclusion"] == "success"
    dispatches = [w for w in step.emulator.writes() if w.path.endswith("/dispatches")]
    assert len(dispatches) == 1 and dispatches[0].path.startswith(f"/repos/{DEPLOY_REPO}/actions/workflows/")
    assert dispatches[0].token_name is not None and dispatches[0].token_name.startswith("installation-")
    # Scoped to the one repository the step touches, and revoked at the end.
    mint = next(w for w in step.emulator.writes() if w.path.endswith("/access_tokens"))
    assert mint.body == {"repositories": ["deploy"]}
    assert step.emulator.state.revoked_tokens == [dispatches[0].token_name]
    assert not [t for t in step.emulator.state.tokens.values() if t.installation_id is not None]
    assert step.emulator.writes()[-1].path == "/installation/token"


def test_the_minted_token_is_masked_before_anything_prints_it(start_step: StartStep) -> None:
    step = app_step(start_step)
    step.env["ACTIONS_STEP_DEBUG"] = "true"
    step.run()
    masks = [c.message for c in step.commands("add-mask")]
    minted = [m for m in masks if m.startswith("ghs_") and m != step.emulator.token("ci")]
    assert len(minted) == 1
    first_mask = step.stdout.index(minted[0])
    assert step.stdout.count(minted[0]) == 1 and step.stdout[:first_mask].endswith("::add-mask ::")


def test_the_token_is_revoked_when_the_run_fails(start_step: StartStep) -> None:
    step = app_step(start_step, conclusion="failure").run()
    assert step.returncode == 1, step.stdout
    assert len(step.emulator.state.revoked_tokens) == 1


def test_the_token_is_revoked_when_the_step_is_cancelled(start_step: StartStep) -> None:
    step = app_step(start_step, timeline={"queued": 1, "duration": 600})
    step.env["INPUT_CANCEL-ON-CANCEL"] = "true"
    process = subprocess.Popen(
        ENTRYPOINT, env=step.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 30
    while not [w for w in step.emulator.writes() if w.path.endswith("/dispatches") and w.status == 200]:
        assert time.monotonic() < deadline, "the step never dispatched"
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 130, stdout
    paths = [w.path for w in step.emulator.writes()]
    assert any(p.endswith("/cancel") for p in paths), paths
    assert paths[-1] == "/installation/token"
    assert len(step.emulator.state.revoked_tokens) == 1


def test_an_app_not_installed_on_the_repository_fails_with_a_hint(start_step: StartStep) -> None:
    step = app_step(start_step)
    step.env["INPUT_REPOSITORY"] = "octo/app"  # the App is installed on octo-deploy only
    step.run()
    assert step.returncode == 4, step.stdout
    errors = step.commands("error")
    assert errors and "is not installed on octo/app" in errors[0].message
    assert "app-installation-owner" in errors[0].message  # the hint, in the annotation


def test_half_of_the_app_credentials_is_a_usage_error(start_step: StartStep) -> None:
    step = app_step(start_step)
    del step.env["INPUT_APP-PRIVATE-KEY"]
    step.run()
    assert step.returncode == 2, step.stdout
    assert "app-id was given without app-private-key" in step.stdout
    assert not [w for w in step.emulator.requests if w.path.startswith("/app")]


def test_a_private_key_given_as_app_id_is_never_printed(start_step: StartStep) -> None:
    # The two secrets swapped in `with:`: the refusal must not quote the key it was given.
    step = app_step(start_step)
    step.env["INPUT_APP-ID"], step.env["INPUT_APP-PRIVATE-KEY"] = app_keys().private_pem, str(APP_ID)
    step.run()
    assert step.returncode == 2, step.stdout
    assert "app-id is neither a GitHub App id nor a client id" in step.stdout
    key_lines = [line for line in app_keys().private_pem.splitlines() if "-----" not in line]
    for channel in (step.stdout, step.summary):
        assert not [line for line in key_lines if line in channel.replace("\\n", "\n")]


def test_the_private_key_is_masked_line_by_line_before_anything_is_read(start_step: StartStep) -> None:
    step = app_step(start_step).run()
    assert step.returncode == 0, step.stdout
    masks = {c.message for c in step.commands("add-mask")}
    key_lines = [line for line in app_keys().private_pem.splitlines() if "-----" not in line]
    assert set(key_lines) <= masks
    # Masked first of all: the step's output opens with the masks, the key's lines among them.
    leading = list(itertools.takewhile(lambda line: line.startswith("::add-mask"), step.stdout.splitlines()))
    assert set(key_lines) <= {line.partition("::add-mask ::")[2] for line in leading}


def test_the_runners_sigterm_after_its_sigint_does_not_stop_the_revoke(start_step: StartStep) -> None:
    # The runner cancels a step with SIGINT, then SIGTERM 7.5 s later. The revoke's first
    # answer is a 502, so the SIGTERM lands while it waits to try again: it must not kill the step.
    step = app_step(start_step, timeline={"queued": 1, "duration": 600})
    step.emulator.inject(Fault(path="/installation/token", method="DELETE", status=502))
    process = subprocess.Popen(
        ENTRYPOINT, env=step.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 30
    while not [w for w in step.emulator.writes() if w.path.endswith("/dispatches") and w.status == 200]:
        assert time.monotonic() < deadline, "the step never dispatched"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    while not [r for r in step.emulator.requests if r.path == "/installation/token"]:
        assert time.monotonic() < deadline, "the step never revoked its token"
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 130, stdout
    assert len(step.emulator.state.revoked_tokens) == 1, stdout
