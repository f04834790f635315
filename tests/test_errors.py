"""README: "Every error is one line saying what went wrong, followed by a `hint:` line saying how
to fix it". Every error class has a hint of its own, no raise site takes it away, and the cases
that once had none or a wrong one say what to do."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import wait_and_dispatch.support.errors as errors
from tests.cli.test_job_commands import FAST, cli
from tests.conftest import BASE_SCENARIO
from wait_and_dispatch.emulator import Emulator, Scenario
from wait_and_dispatch.support.clock import SystemClock

SOURCE = Path(errors.__file__).parent
ERROR_CLASSES = [
    cls
    for cls in vars(errors).values()
    if inspect.isclass(cls) and issubclass(cls, errors.WaitAndDispatchError)
]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_class_has_a_hint(cls: type[errors.WaitAndDispatchError]) -> None:
    error = cls("something went wrong")
    assert error.hint.strip(), f"{cls.__name__} has no hint"


def _error_calls() -> Iterator[tuple[str, ast.Call]]:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name in names:
                    yield f"{path.relative_to(SOURCE)}:{node.lineno}", node


def test_no_error_is_raised_with_an_empty_hint() -> None:
    emptied = [
        where
        for where, call in _error_calls()
        for keyword in call.keywords
        if keyword.arg == "hint" and isinstance(keyword.value, ast.Constant) and not keyword.value.value
    ]
    assert emptied == []


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(Scenario.from_dict(BASE_SCENARIO), clock=SystemClock()) as emulator:
        monkeypatch.setenv("GITHUB_API_URL", emulator.api_url)
        for variable in ("GITHUB_TOKEN", "GH_TOKEN"):
            monkeypatch.delenv(variable, raising=False)
        # The machine's own GitHub CLI, if it has one, must not lend its login.
        monkeypatch.setattr("wait_and_dispatch.session.connection.token_from_gh", lambda host: None)
        yield emulator


def test_no_token_at_all_says_no_token_was_found_not_to_check_the_names(no_token: Emulator) -> None:
    code, _, err = cli("run", *FAST, "--workflow", "build.yml")  # octo/app is private: 404
    assert code == 4
    hint = next(line for line in err.splitlines() if line.startswith("hint: "))
    assert "no token was found" in hint and "GITHUB_TOKEN" in hint


def test_a_token_that_is_set_keeps_the_not_found_hint(
    no_token: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", no_token.token("dev"))
    code, _, err = cli("run", *FAST, "--repo", "octo/missing", "--workflow", "build.yml")
    assert code == 4
    hint = next(line for line in err.splitlines() if line.startswith("hint: "))
    assert "no token" not in hint and "check the repository" in hint
