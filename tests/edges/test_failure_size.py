"""The failure digest stays within GitHub's limits on outputs whatever the downstream logs hold:
each log line cut to a width, each digest's texts to a budget shared among its jobs, a plan's to
one shared among its failed nodes, and `--json` says what was left out."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.edges.test_failure_shown import failed_run
from tests.support.failure_digests import annotation, digest, failed_job
from tests.support.small_plan import write_plan
from wait_and_dispatch.engine.failures import (
    MAX_JOBS_READ,
    MAX_LOG_LINE_CHARS,
    MAX_LOG_LINES,
    MAX_MESSAGE_CHARS,
    OUTPUT_BUDGET,
    PLAN_OUTPUT_BUDGET,
    FailedJob,
    FailedStep,
)
from wait_and_dispatch.engine.log_tail import JobStep, failed_step_tail
from wait_and_dispatch.plans.loader import load_plan
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, PlanResult
from wait_and_dispatch.session.plan_step import plan_outputs
from wait_and_dispatch.step import results
from wait_and_dispatch.step.run import run_outputs

VALIDATOR = jsonschema.Draft202012Validator(json.loads(results.schema_text()))
# GitHub sizes outputs as UTF-16: 1 MB per job, so about half a million ASCII characters.
JOB_OUTPUTS_LIMIT = 1_000_000 // 2
PYTEST_FAILS = (
    JobStep(1, "Set up job", "completed", "success"),
    JobStep(2, "Run pytest", "completed", "failure"),
)


def worst_job(number: int) -> FailedJob:
    """A failed job with everything as large as GitHub lets it be: 100 annotations of 64 KB and a
    tail of 100 lines of 1,000 characters (with their markers)."""
    return failed_job(
        name=f"test ({number})",
        id=7000 + number,
        failed_steps=(FailedStep(4, "Run pytest"),),
        annotations=tuple(annotation("E" * 65_536, start_line=line) for line in range(1, 101)),
        log_tail=failed_step_tail(
            "##[group]Run pytest\n"
            + ("x" * 50_000 + "\n") * 150
            + "##[error]Process completed with exit code 1.\n",
            PYTEST_FAILS,
        ),
    )


def test_a_huge_log_line_is_cut_to_its_width_with_a_marker() -> None:
    log = (
        "##[group]Run pytest\n"
        + "y" * 300_000
        + "\nFAILED tests/test_api.py::test_get\n##[error]Process completed with exit code 1.\n"
    )

    tail = failed_step_tail(log, PYTEST_FAILS).split("\n")

    assert tail[1] == "y" * MAX_LOG_LINE_CHARS + f" [... {300_000 - MAX_LOG_LINE_CHARS} more characters cut]"
    assert tail[-2:] == ["FAILED tests/test_api.py::test_get", "Error: Process completed with exit code 1."]


def test_a_digest_of_many_huge_jobs_stays_within_its_budget_and_says_what_it_left_out() -> None:
    jobs = tuple(worst_job(n) for n in range(MAX_JOBS_READ)) + tuple(
        failed_job(name=f"lint ({n})", id=8000 + n, read=False, annotations=(), log_tail="")
        for n in range(20)
    )
    document = results.run_result("run", failed_run(digest(*jobs)))

    VALIDATOR.validate(document)
    failure = document["failure"]
    assert len(results.dumps(failure)) < OUTPUT_BUDGET * 1.3  # the texts, and the fields around them
    first = failure["jobs"][0]
    assert first["annotations"][0]["message"].endswith(
        f"[... {65_536 - MAX_MESSAGE_CHARS} more characters cut]"
    )
    assert first["annotations_omitted"] == 100 - len(first["annotations"]) > 0
    assert first["log_tail_truncated"] is True
    tail = first["log_tail"].split("\n")
    assert 0 < len(tail) < MAX_LOG_LINES and tail[-1] == "Error: Process completed with exit code 1."
    assert [job["read"] for job in failure["jobs"]].count(False) == 20
    # The error line and the summary still have it all: the budget is the outputs' alone.
    assert len(jobs[0].annotations) == 100


def test_a_small_digest_is_kept_whole() -> None:
    document = results.run_result("run", failed_run(digest()))
    job = document["failure"]["jobs"][0]
    assert job["annotations_omitted"] == 0 and job["log_tail_truncated"] is False
    assert job["log_tail"] == failed_job().log_tail


def test_the_first_error_is_kept_even_after_many_large_warnings() -> None:
    warnings = tuple(annotation("W" * 4_000, annotation_level="warning", start_line=n) for n in range(100))
    job = failed_job(annotations=(*warnings, annotation("AssertionError: expected 200, got 500")))
    shown = job.as_output(budget=20_000)["annotations"]
    assert shown[-1]["message"] == "AssertionError: expected 200, got 500"
    assert len(shown) < 101


def test_the_action_outputs_of_a_huge_failure_fit_githubs_limit() -> None:
    outputs = run_outputs(failed_run(digest(*(worst_job(n) for n in range(MAX_JOBS_READ)))))
    assert sum(len(value) for value in outputs.values()) < JOB_OUTPUTS_LIMIT


def test_a_plans_failed_nodes_share_one_budget_in_its_outputs(tmp_path: Path) -> None:
    plan = load_plan(str(write_plan(tmp_path)))
    huge = failed_run(digest(*(worst_job(n) for n in range(MAX_JOBS_READ))))
    outcomes = {
        name: NodeOutcome(
            name, NodeResult.FAILURE, run_outputs(huge), reason="run failed", failure=huge.failure
        )
        for name in plan.nodes
    }
    result = PlanResult(plan, outcomes, NodeResult.FAILURE, started=0.0, finished=10.0)

    outputs = plan_outputs(result)

    assert sum(len(value) for value in outputs.values()) < JOB_OUTPUTS_LIMIT
    nodes = json.loads(outputs["nodes"])
    for name in plan.nodes:
        failure = json.loads(nodes[name]["outputs"]["result"])["failure"]
        assert len(json.dumps(failure)) < PLAN_OUTPUT_BUDGET // len(plan.nodes) * 1.5
        assert failure["jobs"][0]["log_tail_truncated"] is True
        assert failure["jobs"][0]["log_tail"].endswith("Error: Process completed with exit code 1.")
