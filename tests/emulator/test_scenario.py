"""Scenario files: what they may say, and the errors that name a bad key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.conftest import SCENARIO
from tests.support.hostile import alias_bomb
from wait_and_dispatch.emulator import Scenario
from wait_and_dispatch.support.errors import UsageError


def _with(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(SCENARIO)
    change(data)
    return data


def test_demo_scenario_loads() -> None:
    demo = Scenario.demo()
    assert "octo/app" in demo.repos
    assert {t.kind for t in demo.tokens.values()} == {"github_token", "pat"}


def test_unknown_key_is_named_with_its_path() -> None:
    data = _with(lambda d: d["repos"]["octo/app"]["workflows"][0]["timeline"].update(queud=5))
    with pytest.raises(UsageError, match=r"repos\.octo/app\.workflows\[0\]\.timeline: unknown key 'queud'"):
        Scenario.from_dict(data)


def test_bad_conclusion_is_named() -> None:
    data = _with(lambda d: d["repos"]["octo/app"]["workflows"][0].update(conclusion="great"))
    with pytest.raises(UsageError, match=r"workflows\[0\]\.conclusion: 'great' is not one of"):
        Scenario.from_dict(data)


def test_bad_sha_is_named() -> None:
    data = _with(lambda d: d["repos"]["octo/app"]["branches"].update(main="abc"))
    with pytest.raises(UsageError, match=r"branches\.main: expected a 40-hex"):
        Scenario.from_dict(data)


def test_run_of_an_unknown_workflow_is_refused() -> None:
    data = _with(lambda d: d["repos"]["octo/app"]["runs"][0].update(workflow="nope.yml"))
    with pytest.raises(UsageError, match=r"runs\[0\]\.workflow: unknown workflow 'nope.yml'"):
        Scenario.from_dict(data)


def test_bad_expression_in_run_name_is_refused() -> None:
    data = _with(lambda d: d["repos"]["octo/app"]["workflows"][0].update(run_name="x ${{ inputs. }}"))
    with pytest.raises(UsageError, match="run_name"):
        Scenario.from_dict(data)


def test_token_for_an_unknown_repository_is_refused() -> None:
    data = _with(lambda d: d["tokens"]["ci"].update(repos=["octo/nope"]))
    with pytest.raises(UsageError, match=r"tokens\.ci\.repos: unknown repository 'octo/nope'"):
        Scenario.from_dict(data)


def test_yaml_on_key_is_read_as_triggers(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text(
        "repos:\n  o/r:\n    branches: {main: '" + "a" * 40 + "'}\n    workflows:\n"
        "      - path: .github/workflows/x.yml\n        on:\n          repository_dispatch:\n"
        "            types: [go]\n"
    )
    workflow = Scenario.load(path).repos["o/r"].workflows[0]
    assert workflow.triggers == {"repository_dispatch": ("go",)}


def test_json_scenarios_load(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"repos": {"o/r": {"branches": {"main": "' + "a" * 40 + '"}}}}')
    assert list(Scenario.load(path).repos) == ["o/r"]


def test_invalid_yaml_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("repos: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        Scenario.load(path)


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read scenario"):
        Scenario.load(tmp_path / "missing.yml")


def test_fault_times_default_to_one_and_null_means_always() -> None:
    once = Scenario.from_dict({"faults": [{"path": "/x", "status": 502}]}).faults[0]
    always = Scenario.from_dict({"faults": [{"path": "/x", "status": 502, "times": None}]}).faults[0]
    assert (once.times, always.times) == (1, None)


@pytest.mark.timeout(20)  # an alias bomb used to construct 9^9 strings
def test_a_scenario_with_an_alias_bomb_is_refused() -> None:
    with pytest.raises(UsageError, match="once its aliases are expanded"):
        Scenario.from_text("x:\n" + alias_bomb("  "), "bomb.yml")


def test_a_scenario_that_refers_to_itself_is_refused() -> None:
    with pytest.raises(UsageError, match="an alias refers to a node that contains it"):
        Scenario.from_text("repos: &r {octo/app: {x: *r}}\n", "loop.yml")


def _artifact(**fields: Any) -> dict[str, Any]:
    return _with(lambda d: d["repos"]["octo/app"]["workflows"][0].update(artifacts=[fields]))


def test_an_unzipped_artifact_is_described_by_its_file() -> None:
    scenario = Scenario.from_dict(_artifact(name="app.jar", archive=False, content_base64="UEsFBgA="))
    [artifact] = scenario.repos["octo/app"].workflows[0].artifacts
    assert (artifact.archive, artifact.content) == (False, b"PK\x05\x06\x00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "r.html", "archive": False, "files": {"a": "a"}}, "is one file: give `content` or `size`"),
        ({"name": "r.html", "archive": False, "size": 5, "content": "x"}, "`size` cannot be combined"),
        ({"name": "pkg", "content": "x"}, "are for `archive: false` artifacts"),
        ({"name": "pkg", "content_type": "text/html", "files": {"a": "a"}}, "are for `archive: false`"),
        ({"name": "x.bin", "archive": False, "content_base64": "not base64!"}, "content_base64: not base64"),
    ],
)
def test_an_unzipped_artifact_that_says_contradictory_things_is_refused(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("`", ".").replace("(", ".")):
        Scenario.from_dict(_artifact(**fields))


@pytest.mark.parametrize(
    ("fields", "what"),
    [
        ({"name": "../evil.txt", "archive": False, "content": "x"}, "a forward slash"),
        ({"name": "..\\evil.txt", "archive": False, "content": "x"}, "a backslash"),
        ({"name": "C:evil", "files": {"a": "a"}}, "a colon"),
        ({"name": "pkg-${{ inputs.tag }}|x", "files": {"a": "a"}}, "a vertical bar"),
        ({"name": " ", "files": {"a": "a"}}, "must not be empty"),
    ],
)
def test_an_artifact_name_github_refuses_at_upload_is_refused_when_the_scenario_loads(
    fields: dict[str, Any], what: str
) -> None:
    with pytest.raises(UsageError, match=what) as caught:
        Scenario.from_dict(_artifact(**fields))
    assert "artifacts[0].name" in caught.value.message


def test_an_artifact_name_may_use_an_expression_around_the_checked_text() -> None:
    fields = {"name": "pkg-${{ inputs.tag || 'latest' }}.zip", "files": {"a": "a"}}
    [artifact] = Scenario.from_dict(_artifact(**fields)).repos["octo/app"].workflows[0].artifacts
    assert artifact.name == "pkg-${{ inputs.tag || 'latest' }}.zip"
