"""One conversion from YAML and JSON values to input text, and what each of its callers does with
a list or a mapping: a plan takes them (lines, JSON), a workflow input and a scenario refuse them."""

from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.conftest import SCENARIO
from wait_and_dispatch.emulator import Scenario
from wait_and_dispatch.engine.inputs import parse_inputs
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.support.errors import UsageError
from wait_and_dispatch.support.input_text import StructuredValueError, input_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        ("as written ", "as written "),
        ("", ""),
        (0, "0"),
        (3, "3"),
        (1.5, "1.5"),
        (3.0, "3.0"),
        (datetime.date(2026, 12, 7), "2026-12-07"),
    ],
)
def test_a_scalar_is_its_text_with_yaml_booleans_and_null_as_empty(value: object, text: str) -> None:
    assert input_text(value) == text
    assert input_text(value, lists_and_mappings=True) == text


@pytest.mark.parametrize(
    ("value", "text"), [(3.0, "3"), (-2.0, "-2"), (1.5, "1.5"), (3, "3"), (True, "true")]
)
def test_yaml_numbers_writes_a_whole_number_without_its_fraction(value: object, text: str) -> None:
    assert input_text(value, yaml_numbers=True) == text


@pytest.mark.parametrize("value", [["a"], ("a",), {"a": 1}, []])
def test_a_list_or_a_mapping_is_refused_unless_asked_for(value: object) -> None:
    with pytest.raises(StructuredValueError) as caught:
        input_text(value)
    assert caught.value.value is value
    assert isinstance(caught.value, TypeError)


def test_lists_are_one_item_a_line_and_mappings_json_when_asked_for() -> None:
    assert input_text(["dist-*", True, None, 3.0], lists_and_mappings=True) == "dist-*\ntrue\n\n3.0"
    assert input_text(["a", 3.0], lists_and_mappings=True, yaml_numbers=True) == "a\n3"
    assert input_text([], lists_and_mappings=True) == ""
    mapping: dict[str, Any] = {"env": "prod", "n": 2, "flag": False, "list": [1]}
    assert json.loads(input_text(mapping, lists_and_mappings=True)) == mapping


# -- the callers ----------------------------------------------------------------------------------


def test_a_workflow_input_that_is_a_list_or_a_mapping_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError) as caught:
        parse_inputs('{"targets": ["a", "b"]}')
    assert (
        caught.value.message == "input 'targets' is a list; workflow inputs are strings, booleans or numbers"
    )
    assert "fromJSON()" in caught.value.hint
    with pytest.raises(UsageError, match="input 'config' is a dict"):
        parse_inputs("config:\n  a: 1\n")


def test_workflow_inputs_are_sent_as_text_with_json_numbers_as_written() -> None:
    assert parse_inputs('{"dry_run": true, "none": null, "n": 1.50, "big": 1e400}') == {
        "dry_run": "true",
        "none": "",
        "n": "1.50",
        "big": "1e400",
    }


def test_a_plans_values_are_input_text_with_yaml_numbers(tmp_path: Path) -> None:
    (tmp_path / "plan.yml").write_text(
        "nodes:\n"
        "  build:\n"
        "    workflow: build.yml\n"
        "    matrix: {python: [3.0, 3.12]}\n"
        "    timeout: 60.0\n"
        "    inputs: {python: '${{ matrix.python }}', flag: true}\n",
        encoding="utf-8",
    )
    plan = load_plan(str(tmp_path / "plan.yml"))
    assert sorted(plan.nodes) == ["build-3", "build-3_12"]
    node = plan.nodes["build-3"]
    assert node.values["timeout"] == "60"
    assert node.values["inputs"] == {"python": "3", "flag": "true"}


def _scenario_with(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(SCENARIO)
    change(data)
    return data


def test_a_scenarios_run_input_is_text_and_a_list_there_is_refused_with_its_path() -> None:
    run = {"inputs": {"flag": True, "none": None, "count": 3}}
    data = _scenario_with(lambda d: d["repos"]["octo/app"]["runs"][0].update(run))
    spec = Scenario.from_dict(data).repos["octo/app"].runs[0]
    assert spec.inputs == {"flag": "true", "none": "", "count": "3"}
    data = _scenario_with(lambda d: d["repos"]["octo/app"]["runs"][0].update(inputs={"targets": ["a"]}))
    with pytest.raises(
        UsageError, match=r"runs\[0\]\.inputs\.targets: expected text, a number or a boolean, got list"
    ):
        Scenario.from_dict(data)


def test_a_scenarios_input_default_that_is_a_mapping_is_refused_with_its_path() -> None:
    def change(data: dict[str, Any]) -> None:
        data["repos"]["octo/app"]["workflows"][0]["inputs"]["dry_run"]["default"] = {"a": 1}

    with pytest.raises(
        UsageError, match=r"inputs\.dry_run\.default: expected text, a number or a boolean, got dict"
    ):
        Scenario.from_dict(_scenario_with(change))
