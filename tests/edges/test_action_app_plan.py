"""The action running a plan as a GitHub App: one installation token, minted for the plan's one
repository (a plan node cannot name another), used for every node and revoked at the end."""

from __future__ import annotations

from tests.edges.test_action import StartStep, start_step  # noqa: F401 - start_step is a fixture
from tests.support.github_app import APP_ID, app_keys, with_app
from tests.support.small_plan import small_scenario, write_plan


def test_a_plan_step_mints_one_token_scoped_to_the_plans_repository(start_step: StartStep) -> None:  # noqa: F811
    step = start_step(with_app(small_scenario(), "octo", repos=["octo/app"]))
    step.env.update(
        {
            "INPUT_GITHUB-TOKEN": "",
            "INPUT_APP-ID": str(APP_ID),
            "INPUT_APP-PRIVATE-KEY": app_keys().private_pem,
            "INPUT_PLAN": str(write_plan(step.folder)),
            "GITHUB_REF_NAME": "main",
        }
    )
    step.env.pop("INPUT_PATH")
    step.run()
    assert step.returncode == 0, step.stdout
    (mint,) = [w for w in step.emulator.writes() if w.path.endswith("/access_tokens")]
    assert mint.body == {"repositories": ["app"]}
    dispatches = [w for w in step.emulator.writes() if w.path.endswith("/dispatches")]
    assert len(dispatches) == 3, [w.path for w in dispatches]
    assert {w.token_name for w in dispatches} == set(step.emulator.state.revoked_tokens)
