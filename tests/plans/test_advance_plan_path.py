"""Where advance mode reads the plan at an instance's commit: its path from the root of the
checkout it is in (session/advance.py, `repository_path`), whatever the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from wait_and_dispatch.plans.advance_guards import PlanElsewhere
from wait_and_dispatch.session.advance import repository_path


def test_a_path_in_the_workspace_is_read_from_its_root(tmp_path: Path) -> None:
    plan = tmp_path / "ws" / ".github" / "pipeline.yml"
    assert repository_path(plan, str(tmp_path / "ws")) == ".github/pipeline.yml"


def test_a_relative_path_from_a_folder_of_the_checkout_is_read_from_the_git_top_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "ci").mkdir()
    monkeypatch.chdir(tmp_path / "repo" / "ci")
    assert repository_path(Path("pipeline.yml"), "") == "ci/pipeline.yml"


def test_a_path_outside_the_workspace_and_any_checkout_says_what_to_do(tmp_path: Path) -> None:
    plan = tmp_path / "elsewhere" / "plan.yml"
    with pytest.raises(PlanElsewhere) as raised:
        repository_path(plan, str(tmp_path / "ws"))
    assert str(raised.value) == (
        f"the plan file {plan} cannot be read: it is outside the checkout {tmp_path / 'ws'} (give the "
        "plan as a path inside the orchestrator's checkout)"
    )
