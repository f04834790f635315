"""Reading a workflow file for what matters to dispatching it: triggers, inputs, run-name.

The file is untrusted: anything it cannot say clearly makes the definition unknown (None), and
the dispatcher then lets GitHub judge, as it did before it read workflow files.
"""

from __future__ import annotations

import base64
import time

import pytest

from wait_and_dispatch.engine.check_matching import CheckMatcher
from wait_and_dispatch.engine.requests import CheckSelection
from wait_and_dispatch.engine.workflow_file import (
    MAX_WORKFLOW_FILE_BYTES,
    JobNames,
    WorkflowDefinition,
    decode_contents,
    parse_workflow,
    parse_workflow_jobs,
)

PATH = ".github/workflows/deploy.yml"


def parse(text: str) -> WorkflowDefinition:
    definition = parse_workflow(PATH, text)
    assert definition is not None
    return definition


@pytest.mark.parametrize(
    "on",
    [
        "on: workflow_dispatch",
        "on: [push, workflow_dispatch]",
        "on:\n  workflow_dispatch:\n  push:",
        '"on":\n  workflow_dispatch: {}',
    ],
)
def test_every_way_of_writing_the_trigger_is_understood(on: str) -> None:
    # A bare `on:` is read as the string, as GitHub reads it (YAML 1.2 booleans are only true/false).
    assert parse(f"name: Deploy\n{on}\njobs: {{}}\n").dispatchable


def test_a_workflow_without_the_trigger_is_not_dispatchable() -> None:
    assert not parse("on: [push, pull_request]\n").dispatchable


def test_inputs_keep_their_type_requirement_default_and_options() -> None:
    definition = parse(
        """
on:
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        options: [dev, prod]
        default: dev
      dry_run:
        type: boolean
        default: false
      target:
        required: true
"""
    )
    assert definition.describe_inputs() == (
        "environment (choice of dev, prod; default dev), dry_run (default false), target (required)"
    )
    assert definition.problems({"target": "x"}) == []
    assert definition.problems({}) == ["Required input 'target' not provided"]
    assert definition.problems({"target": "x", "environment": "qa"}) == [
        "Provided value 'qa' for input 'environment' not in the list of allowed values"
    ]
    assert definition.problems({"target": "x", "colour": "blue", "size": "l"}) == [
        'Unexpected inputs provided: ["colour", "size"]'
    ]


@pytest.mark.parametrize(
    ("run_name", "shown"),
    [
        ("Deploy [${{ inputs.distinct_id }}]", True),
        ("${{ github.event.inputs.distinct_id }}", True),
        ("${{ format('{0} {1}', github.workflow, inputs.distinct_id) }}", True),
        ("${{ inputs['distinct_id'] }}", True),
        ("Deploy ${{ inputs.distinct_id_extra }}", False),
        ("Deploy distinct_id", False),
        (None, False),
    ],
)
def test_run_name_shows_the_correlation_input_only_through_an_expression(
    run_name: str | None, shown: bool
) -> None:
    header = f"run-name: {run_name!r}\n" if run_name is not None else ""
    definition = parse(header + "on:\n  workflow_dispatch:\n    inputs:\n      distinct_id: {}\n")
    assert definition.declares("distinct_id")
    assert definition.shows_in_run_name("distinct_id") is shown


@pytest.mark.parametrize(
    "text",
    [
        "not: [valid",
        "- a list\n- not a mapping\n",
        "name: no triggers\n",
        "on: {workflow_dispatch: {inputs: {x: 3}}}",
    ],
)
def test_a_file_that_cannot_be_understood_is_unknown_rather_than_guessed(text: str) -> None:
    assert parse_workflow(PATH, text) is None


def test_yaml_aliases_cannot_make_reading_the_file_grow() -> None:
    # A "billion laughs" document: aliases share one object, and only a few keys are looked at.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    text = "\n".join(lines) + "\non:\n  workflow_dispatch:\n    inputs: {x: {}}\n"
    start = time.perf_counter()
    definition = parse(text)
    assert list(definition.inputs) == ["x"]
    assert time.perf_counter() - start < 5, "read without expanding the aliases"


@pytest.mark.parametrize("where", ["default: *a8", "type: *a8", "options: *a8", "options: [dev, *a8]"])
def test_an_alias_bomb_in_an_input_makes_the_file_unknown_without_expanding_it(where: str) -> None:
    # `str()` of the shared list would expand every alias: 10**9 items.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    text = "\n".join(lines) + f"\non:\n  workflow_dispatch:\n    inputs:\n      x:\n        {where}\n"
    assert parse_workflow(PATH, text) is None


def test_yes_and_no_are_words_as_github_reads_them_not_yaml_1_1_booleans() -> None:
    # GitHub's parser takes only true/false as booleans (YAML 1.2); `yes` is a choice to allow.
    definition = parse(
        """
on:
  workflow_dispatch:
    inputs:
      confirm:
        type: choice
        options: [yes, no, on, off, True]
        default: no
"""
    )
    assert definition.inputs["confirm"].options == ("yes", "no", "on", "off", "true")
    assert definition.inputs["confirm"].default == "no"
    assert definition.problems({"confirm": "yes"}) == []


def test_contents_answers_are_decoded_only_when_they_carry_base64_content() -> None:
    encoded = base64.b64encode(b"on: workflow_dispatch\n").decode()
    wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
    assert (
        decode_contents({"type": "file", "encoding": "base64", "content": wrapped})
        == "on: workflow_dispatch\n"
    )
    # Files over 1 MB come with `encoding: none` and no content; a directory is a list.
    assert decode_contents({"type": "file", "encoding": "none", "content": ""}) is None
    assert decode_contents([{"type": "file"}]) is None
    big = base64.b64encode(b"#" * (MAX_WORKFLOW_FILE_BYTES + 1)).decode()
    assert decode_contents({"type": "file", "encoding": "base64", "content": big}) is None


# -- the check names a workflow's jobs can report (for a checks wait) ---------------------------

JOBS = """
on: push
jobs:
  changed-files:
    runs-on: ubuntu-latest
  status:
    name: backend-status-check
    runs-on: ubuntu-latest
  vllm:
    name: vllm (${{ matrix.arch }}, cuda${{ matrix.cuda }})
    strategy:
      matrix: {arch: [amd64, arm64], cuda: ["12.9", "13.0"]}
  operator:
    strategy:
      matrix: {arch: [amd64, arm64]}
  deploy:
    uses: ./.github/workflows/deploy.yml
"""


def jobs_by_id() -> dict[str, JobNames]:
    jobs = parse_workflow_jobs(JOBS)
    assert jobs is not None
    return {job.job_id: job for job in jobs}


def test_a_job_reports_its_name_or_else_its_id() -> None:
    jobs = jobs_by_id()
    assert jobs["changed-files"].literal == "changed-files"
    assert jobs["status"].literal == "backend-status-check"


@pytest.mark.parametrize(
    ("job_id", "name", "may_be"),
    [
        ("vllm", "vllm (amd64, cuda12.9)", True),  # an expression in the name stands for any text
        ("vllm", "sglang (amd64, cuda12.9)", False),
        ("operator", "operator (arm64)", True),  # a matrix job without one gets its values appended
        ("operator", "operator", True),
        ("operator", "operator-e2e", False),
        ("deploy", "deploy / smoke-test", True),  # a reusable workflow's jobs: `caller / called`
        ("deploy", "deploy", False),
    ],
)
def test_a_job_with_many_possible_names_is_a_pattern(job_id: str, name: str, may_be: bool) -> None:
    job = jobs_by_id()[job_id]
    assert job.literal is None
    assert job.may_be(name) is may_be


@pytest.mark.parametrize(
    ("selection", "could"),
    [
        (CheckSelection(regex=r"^(vllm|sglang|trtllm|operator) \("), {"vllm", "operator", "deploy"}),
        (CheckSelection(names=("backend-status-check",)), {"status"}),
        (CheckSelection(names=("operator (amd64)",)), {"operator"}),
        (CheckSelection(ignore=("changed-files",)), {"status", "vllm", "operator", "deploy"}),
    ],
)
def test_which_jobs_may_report_a_check_a_selection_waits_for(
    selection: CheckSelection, could: set[str]
) -> None:
    matcher = CheckMatcher.from_selection(selection)
    assert {job_id for job_id, job in jobs_by_id().items() if matcher.may_match(job)} == could


@pytest.mark.parametrize(
    "text", ["on: push", "jobs: [a, b]", "jobs:\n  a: [1]", "{{{", "jobs:\n  a:\n    name: [x]"]
)
def test_a_file_whose_jobs_cannot_be_read_is_unknown(text: str) -> None:
    assert parse_workflow_jobs(text) is None
