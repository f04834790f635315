"""Reading plan files (docs/plans.md): what a valid plan becomes, and every problem, on its line."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from wait_and_dispatch.plans.loader import PLAN_ONLY_KEYS, load_plan, schema_text
from wait_and_dispatch.plans.model import DEFAULT_CONCURRENCY, NODE_INPUTS, NodeKind, Plan
from wait_and_dispatch.support.errors import ExitCode, PlanFileError, SourceSpan, UsageError

ROOT = Path(__file__).resolve().parents[2]

SEED_000 = """\
name: Docker images
repository: octo/bot
ref: main
defaults:
  timeout: 30m
nodes:
  test:
    workflow: test.yml
    needs: [ci]
  lint:
    workflow: lint.yml
    needs: [ci]
  ci:
    name: Build CI image
    workflow: build-ci.yml
    needs: [base]
    inputs:
      base_run_id: ${{ needs.base.outputs.run-id }}
  deploy:
    workflow: deploy.yml
    needs: [base]
  base:
    name: Build base image
    workflow: build-base.yml
"""


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Write a plan to plan.yml in a fresh folder; messages then name it `plan.yml`."""
    monkeypatch.chdir(tmp_path)

    def write(text: str) -> str:
        (tmp_path / "plan.yml").write_text(textwrap.dedent(text), encoding="utf-8")
        return "plan.yml"

    return write


def problems_of(path: str, **kwargs: object) -> list[str]:
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, **kwargs)  # type: ignore[arg-type]
    return [str(problem) for problem in caught.value.problems]


def only_problem(path: str, **kwargs: object) -> str:
    problems = problems_of(path, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


# -- a valid plan --------------------------------------------------------------------------------


def test_a_valid_plan_loads_with_needs_before_the_nodes_that_need_them(write: Callable[[str], str]) -> None:
    plan = load_plan(write(SEED_000))

    # Needs first; among nodes that are ready, the one written first.
    assert list(plan.nodes) == ["base", "ci", "test", "lint", "deploy"]
    assert plan.name == "Docker images"
    assert plan.repository == "octo/bot"
    assert plan.nodes["test"].needs == ("ci",)


def test_a_node_holds_the_action_inputs_with_defaults_the_plan_ref_and_its_own_path(
    write: Callable[[str], str],
) -> None:
    ci = load_plan(write(SEED_000)).nodes["ci"]

    assert ci.kind is NodeKind.WORKFLOW
    assert ci.title == "Build CI image"
    assert ci.values == {
        "workflow": "build-ci.yml",
        "ref": "main",
        "timeout": "30m",
        "inputs": {"base_run_id": "${{ needs.base.outputs.run-id }}"},
        "path": "ci",
    }
    assert ci.span == SourceSpan("plan.yml", 13, 3)
    assert ci.condition == ""
    assert ci.group == ""


def test_plan_settings_take_their_documented_defaults(write: Callable[[str], str]) -> None:
    plan = load_plan(write("nodes:\n  a:\n    workflow: a.yml\n"))

    assert plan.name == "plan.yml"
    assert plan.repository is None
    assert plan.concurrency == DEFAULT_CONCURRENCY
    assert plan.fail_fast is False
    assert plan.timeout is None
    assert plan.on is None
    assert plan.environments == ()
    assert plan.nodes["a"].title == "a"


def test_plan_settings_are_read(write: Callable[[str], str]) -> None:
    plan = load_plan(
        write(
            """\
            concurrency: 2
            fail-fast: true
            timeout: 1h30m
            on: push
            nodes:
              a: {workflow: a.yml}
            """
        )
    )

    assert (plan.concurrency, plan.fail_fast, plan.timeout) == (2, True, 5400.0)
    assert plan.on == {"push": None}


def test_the_three_kinds_of_node_are_told_apart_by_their_keys(write: Callable[[str], str]) -> None:
    plan = load_plan(
        write(
            """\
            nodes:
              build: {workflow: build.yml}
              notify: {event-type: notify}
              old: {run-id: 42}
              lint: {checks-regex: '^lint'}
              gather: {needs: build, collect: {from: build}}
            """
        )
    )

    kinds = {name: node.kind for name, node in plan.nodes.items()}
    assert kinds == {
        "build": NodeKind.WORKFLOW,
        "notify": NodeKind.WORKFLOW,
        "old": NodeKind.WORKFLOW,
        "lint": NodeKind.CHECKS,
        "gather": NodeKind.COLLECT,
    }


def test_checks_workflows_names_the_files_that_carry_the_checks(write: Callable[[str], str]) -> None:
    plan = load_plan(
        write(
            """\
            nodes:
              one: {checks: [lint], checks-workflows: ci.yml}
              many: {checks-regex: '^build', checks-workflows: [pr.yaml, ci.yml, pr.yaml]}
              none: {checks: [lint]}
            """
        )
    )

    carried = {name: node.checks_workflows for name, node in plan.nodes.items()}
    assert carried == {"one": ("ci.yml",), "many": ("pr.yaml", "ci.yml"), "none": ()}
    assert "checks-workflows" not in plan.nodes["one"].values  # no action input


def test_yaml_scalars_become_the_text_an_action_input_would_get(write: Callable[[str], str]) -> None:
    nodes = load_plan(
        write(
            """\
            nodes:
              a:
                workflow: a.yml
                allow-forks: false
                timeout: 90
                artifacts: [dist, 2026-01-01]
                inputs: {debug: yes, count: 3, ratio: 1.50, version: 1.10, empty: null}
              b:
                event-type: deploy
                client-payload: {service: {replicas: 2, tags: [a, true]}}
            """
        )
    ).nodes
    node = nodes["a"]

    assert node.values["allow-forks"] == "false"
    assert node.values["timeout"] == "90"
    assert node.values["artifacts"] == ["dist", "2026-01-01"]  # a date stays the text written
    # Inputs are text, kept as written: no YAML 1.1 guess turns 1.10 into 1.1 or yes into true.
    assert node.values["inputs"] == {
        "debug": "yes",
        "count": "3",
        "ratio": "1.50",
        "version": "1.10",
        "empty": "",
    }
    assert nodes["b"].values["client-payload"] == {"service": {"replicas": "2", "tags": ["a", "true"]}}


def test_if_keeps_the_expression_without_its_template_braces(write: Callable[[str], str]) -> None:
    plan = load_plan(
        write(
            """\
            nodes:
              a: {workflow: a.yml}
              b: {workflow: b.yml, needs: a, if: "${{ always() && needs.a.result == 'failure' }}"}
              c: {workflow: c.yml, needs: a, if: failure()}
            """
        )
    )

    assert plan.nodes["b"].condition == "always() && needs.a.result == 'failure'"
    assert plan.nodes["c"].condition == "failure()"
    assert plan.nodes["c"].always


def test_a_plan_given_as_text_uses_the_path_only_in_messages(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yml"

    plan = load_plan(missing, text="nodes:\n  a: {workflow: a.yml}\n")
    problem = only_problem(str(missing), text="nodes:\n  a: {workflow: a.yml, needs: b}\n")

    assert plan.file == str(missing)
    assert problem.startswith(f"{missing}:2:")


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="cannot read the plan") as caught:
        load_plan(tmp_path / "nowhere.yml")

    assert caught.value.exit_code is ExitCode.USAGE
    assert isinstance(caught.value, UsageError)


# -- problems ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, needs: [b]}
            """,
            "plan.yml:2:32: nodes.a.needs: unknown node 'b' (nodes are: a)",
            id="unknown-need",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                needs: a
            """,
            "plan.yml:4:12: nodes.a.needs: a node cannot need itself",
            id="self-need",
        ),
        pytest.param(
            """\
            nodes:
              a:
                name: nothing here
            """,
            "plan.yml:2:3: nodes.a: nothing to run: give workflow, event-type or run-id (a workflow node), "
            "checks or checks-regex (a checks node), or collect (a collect node)",
            id="no-kind",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                checks: [lint]
            """,
            "plan.yml:2:3: nodes.a: a node is one kind: workflow (a workflow node) and checks "
            "(a checks node) cannot be combined",
            id="two-kinds",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml}
              b: {workflow: b.yml}
              c:
                needs: [a]
                collect: {from: [a, b]}
            """,
            "plan.yml:6:25: nodes.c.collect.from: 'b' is not in needs: collect takes artifacts only "
            "from nodes this node needs",
            id="collect-from-not-needed",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                select: {file: m.json, max: dice}
            """,
            "plan.yml:4:5: nodes.a.select: select works only with collect",
            id="select-without-collect",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                checks-workflows: pr.yaml
            """,
            "plan.yml:4:5: nodes.a.checks-workflows: checks-workflows works only with checks or checks-regex",
            id="checks-workflows-without-checks",
        ),
        pytest.param(
            """\
            nodes:
              a:
                checks: [lint]
                checks-workflows: [ci.yml, .github/workflows/pr.yaml]
            """,
            "plan.yml:4:32: nodes.a.checks-workflows: '.github/workflows/pr.yaml' is not a workflow's "
            "file name: write the file in .github/workflows, as workflow: takes it (e.g. pr.yaml)",
            id="checks-workflows-a-path",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                gate: ${{ selected.dice > 0.9 }}
            """,
            "plan.yml:4:5: nodes.a.gate: gate works only with collect",
            id="gate-without-collect",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml}
              b:
                workflow: b.yml
                needs: a
                inputs:
                  id: ${{ needs.a.outputs.run-idd }}
            """,
            "plan.yml:7:11: nodes.b.inputs.id: needs.a.outputs.run-idd: 'run-idd' is not an output "
            "(outputs are: run-id, run-url, run-number, run-attempt, status, conclusion, dispatched, "
            "head-sha, duration, artifacts, download-path, checks, result)",
            id="unknown-output",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml}
              b: {workflow: b.yml, needs: a, ref: "${{ needs.a.status }}"}
            """,
            "plan.yml:3:39: nodes.b.ref: needs.a.status: 'status' is not known "
            "(needs.a has: result, outputs)",
            id="needs-without-outputs",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, ref: "${{ secrets.TOKEN }}"}
            """,
            "plan.yml:2:29: nodes.a.ref: secrets.TOKEN: unknown context 'secrets' "
            "(contexts are: vars, matrix, plan, github, needs)",
            id="unknown-context",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, ref: "${{ github.head_ref }}"}
            """,
            "plan.yml:2:29: nodes.a.ref: github.head_ref: 'head_ref' is not known in a plan "
            "(github has: repository, sha, ref_name, event_name)",
            id="unknown-github-property",
        ),
        pytest.param(
            """\
            vars: {region: eu}
            nodes:
              a: {workflow: a.yml, ref: "${{ vars.zone }}"}
            """,
            "plan.yml:3:29: nodes.a.ref: vars.zone: 'zone' is not in vars (vars: region)",
            id="undefined-var",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, ref: "${{ matrix.os }}"}
            """,
            "plan.yml:2:29: nodes.a.ref: matrix.os: matrix is known only in a node with a matrix",
            id="matrix-outside-a-matrix",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, matrix: {os: [linux]}, ref: "${{ matrix.arch }}"}
            """,
            "plan.yml:2:52: nodes.a.ref: matrix.arch: 'arch' is not a matrix key (keys: os)",
            id="unknown-matrix-key",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, if: "selected.dice > 1"}
            """,
            "plan.yml:2:28: nodes.a.if: selected.dice: selected is known only in gate",
            id="selected-outside-gate",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, ref: "${{ vars.x == }}"}
            """,
            "plan.yml:2:29: nodes.a.ref: expression 'vars.x ==' ends too early",
            id="unparseable-expression",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, ref: "${{ lower('X') }}"}
            """,
            "plan.yml:2:29: nodes.a.ref: unknown function lower() (functions are: contains, startsWith, "
            "endsWith, format, join, toJSON, fromJSON, "
            "and in if: success(), always(), failure(), cancelled())",
            id="unknown-function",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml, ref: "${{ always() }}"}
            """,
            "plan.yml:2:29: nodes.a.ref: always() is a status function: it means something only in if",
            id="status-function-outside-if",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                timeout: 30 minutes
            """,
            "plan.yml:4:14: nodes.a.timeout: timeout '30 minutes' is not a duration "
            "(write it as 90, 90s, 30m or 1h30m)",
            id="bad-duration",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                allowed-conclusions: [success, green]
            """,
            "plan.yml:4:26: nodes.a.allowed-conclusions: unknown conclusion 'green' in allowed conclusions "
            "(use any of success, failure, neutral, cancelled, skipped, timed_out, action_required, stale, "
            "startup_failure, or `any`)",
            id="bad-conclusion",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                dispatch: sometimes
            """,
            "plan.yml:4:15: nodes.a.dispatch: dispatch must be one of if-missing, always, never, not "
            "'sometimes' (if-missing reuses a run for the SHA, always starts a new one, never only waits)",
            id="bad-dispatch-policy",
        ),
        pytest.param(
            """\
            timeout: soon
            nodes:
              a: {workflow: a.yml}
            """,
            "plan.yml:1:10: timeout: timeout 'soon' is not a duration (write it as 90, 90s, 30m or 1h30m)",
            id="bad-plan-timeout",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                wait: maybe
            """,
            "plan.yml:4:11: nodes.a.wait: expected a boolean (true or false) or an expression ${{ }}, "
            "not the text 'maybe'",
            id="wrong-type",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml}
              b:
                needs: a
                collect: {from: a}
                select: {file: m.json, max: dice, min: loss}
            """,
            "plan.yml:6:13: nodes.b.select: give one of 'max' or 'min', not both",
            id="select-max-and-min",
        ),
        pytest.param(
            """\
            nodes:
              2fast: {workflow: a.yml}
            """,
            "plan.yml:2:3: nodes.2fast: '2fast' is not an id: use letters, digits, - and _, "
            "starting with a letter or _",
            id="invalid-id",
        ),
        pytest.param(
            """\
            defaults:
              needs: [a]
            nodes:
              a: {workflow: a.yml}
            """,
            "plan.yml:2:3: defaults.needs: needs cannot be a default: it is about one node, "
            "so set it on each node that needs it",
            id="plan-only-key-in-defaults",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml}
              b: {workflow: b.yml, needs: [a, 3]}
            """,
            "plan.yml:3:35: nodes.b.needs[1]: expected text, not the number 3",
            id="wrong-type-inside-a-list",
        ),
        pytest.param(
            """\
            name: no nodes
            """,
            "plan.yml:1:1: plan: the plan needs 'nodes'",
            id="no-nodes",
        ),
        pytest.param(
            """\
            nodes:
              a:
                workflow: a.yml
                matrix:
                  include: [{os: linux}]
            """,
            "plan.yml:5:17: nodes.a.matrix.include[0]: expected text, a number or a boolean (true or false), "
            "not a mapping",
            id="matrix-value-is-a-mapping",
        ),
        pytest.param(
            """\
            nodes:
              a: {workflow: a.yml
            """,
            "plan.yml:3:1: YAML: while parsing a flow mapping expected ',' or '}', but got '<stream end>'",
            id="yaml-syntax",
        ),
    ],
)
def test_each_problem_is_reported_with_file_line_and_column(
    write: Callable[[str], str], plan: str, expected: str
) -> None:
    assert only_problem(write(plan)) == expected


def test_an_unknown_key_gets_a_did_you_mean(write: Callable[[str], str]) -> None:
    path = write(
        """\
        nodes:
          lint:
            workflow: lint.yml
            timout: 30m
        """
    )

    assert only_problem(path) == "plan.yml:4:5: nodes.lint.timout: unknown key (did you mean 'timeout'?)"


def test_a_duplicate_yaml_key_is_an_error_not_an_overwrite(write: Callable[[str], str]) -> None:
    path = write(
        """\
        nodes:
          a:
            workflow: a.yml
            workflow: b.yml
        """
    )

    assert only_problem(path) == "plan.yml:4:5: nodes.a.workflow: duplicate key (first at line 3)"


def test_keys_from_a_yaml_merge_may_be_overridden(write: Callable[[str], str]) -> None:
    plan = load_plan(
        write(
            """\
            nodes:
              a: &common {workflow: a.yml, timeout: 5m}
              b:
                <<: *common
                workflow: b.yml
            """
        )
    )

    assert plan.nodes["b"].values["workflow"] == "b.yml"
    assert plan.nodes["b"].values["timeout"] == "5m"


def test_a_cycle_is_named_from_the_node_written_first(write: Callable[[str], str]) -> None:
    path = write(
        """\
        nodes:
          base: {workflow: base.yml}
          test: {workflow: test.yml, needs: [base, lint]}
          lint: {workflow: lint.yml, needs: [ci]}
          ci: {workflow: ci.yml, needs: [test]}
        """
    )

    assert only_problem(path) == "plan.yml:3:3: nodes.test: cycle test -> lint -> ci -> test"


def test_needs_holds_only_direct_needs(write: Callable[[str], str]) -> None:
    path = write(
        """\
        nodes:
          base: {workflow: base.yml}
          ci: {workflow: ci.yml, needs: base}
          test:
            workflow: test.yml
            needs: [ci]
            inputs:
              ci: ${{ needs.ci.outputs.run-id }}
              base: ${{ needs.base.outputs.run-id }}
        """
    )

    assert only_problem(path) == (
        "plan.yml:9:13: nodes.test.inputs.base: needs.base.outputs.run-id: 'base' is not a direct need "
        "of this node (its needs: ci); as on GitHub, needs holds only direct needs"
    )


def test_several_problems_are_reported_at_once_sorted_by_line(write: Callable[[str], str]) -> None:
    path = write(
        """\
        vars: {region: eu}
        nodes:
          lint:
            workflow: lint.yml
            timout: 30m
          deploy:
            workflow: deploy.yml
            needs: [bsae]
            dispatch: sometimes
            inputs:
              zone: ${{ vars.zone }}
          check:
            name: no kind
        """
    )

    with pytest.raises(PlanFileError) as caught:
        load_plan(path)

    error = caught.value
    assert [(p.span.line if p.span else 0, p.where) for p in error.problems] == [
        (5, "nodes.lint.timout"),
        (8, "nodes.deploy.needs"),
        (9, "nodes.deploy.dispatch"),
        (11, "nodes.deploy.inputs.zone"),
        (12, "nodes.check"),
    ]
    assert error.message == "plan.yml: 5 problems in the plan"
    assert error.hint == "fix the lines above; docs/plans.md describes the format"
    assert error.details == tuple(str(p) for p in error.problems)


def test_a_problem_in_defaults_names_the_node_it_failed_for(write: Callable[[str], str]) -> None:
    path = write(
        """\
        defaults:
          ref: ${{ needs.base.outputs.head-sha }}
        nodes:
          base: {workflow: base.yml, ref: main}
          ci: {workflow: ci.yml, needs: base}
          lint: {workflow: lint.yml}
        """
    )

    assert only_problem(path) == (
        "plan.yml:2:8: defaults.ref: needs.base.outputs.head-sha: 'base' is not a direct need of this node "
        "(it has no needs); as on GitHub, needs holds only direct needs (in node 'lint')"
    )


# -- environments and variables ------------------------------------------------------------------

LAYERED = """\
vars: {region: eu, tier: small}
defaults:
  timeout: 10m
  inputs: {a: defaults, b: defaults, c: defaults, d: defaults}
environments:
  prod:
    ref: release
    vars: {tier: large}
    concurrency: 3
    defaults:
      inputs: {b: env-defaults, c: env-defaults, d: env-defaults}
    nodes:
      deploy:
        inputs: {d: env-node}
        artifacts: [prod-only]
      smoke:
        workflow: smoke.yml
        needs: deploy
nodes:
  deploy:
    workflow: deploy.yml
    artifacts: [dist, docs]
    inputs: {c: node, d: node, region: "${{ vars.region }}-${{ vars.tier }}"}
"""


def test_environment_overlay_merges_in_the_documented_order(write: Callable[[str], str]) -> None:
    plan = load_plan(write(LAYERED), environment="prod")

    deploy = plan.nodes["deploy"]
    assert deploy.values["inputs"] == {
        "a": "defaults",
        "b": "env-defaults",
        "c": "node",
        "d": "env-node",
        "region": "eu-large",
    }
    assert deploy.values["artifacts"] == ["prod-only"]  # lists are replaced, not merged
    assert deploy.values["ref"] == "release"
    assert deploy.values["timeout"] == "10m"
    assert (plan.environment, plan.concurrency, plan.environments) == ("prod", 3, ("prod",))


def test_an_environment_may_add_nodes(write: Callable[[str], str]) -> None:
    with_prod = load_plan(write(LAYERED), environment="prod")
    without = load_plan("plan.yml")

    assert list(with_prod.nodes) == ["deploy", "smoke"]
    assert with_prod.nodes["smoke"].needs == ("deploy",)
    assert list(without.nodes) == ["deploy"]
    assert without.nodes["deploy"].values["inputs"]["region"] == "eu-small"


def test_variables_override_vars_after_the_environment(write: Callable[[str], str]) -> None:
    plan = load_plan(write(LAYERED), environment="prod", variables={"tier": "huge"})

    assert plan.nodes["deploy"].values["inputs"]["region"] == "eu-huge"
    assert plan.vars == {"region": "eu", "tier": "huge"}


def test_an_environments_triggers_merge_into_the_plans(write: Callable[[str], str]) -> None:
    path = write(
        """\
        on: {workflow_dispatch: null}
        environments:
          prod:
            on: {push: {branches: [main]}}
        nodes:
          a: {workflow: a.yml}
        """
    )

    assert load_plan(path, environment="prod").on == {
        "workflow_dispatch": None,
        "push": {"branches": ["main"]},
    }
    assert load_plan(path).on == {"workflow_dispatch": None}


def test_an_unknown_environment_lists_the_defined_ones(write: Callable[[str], str]) -> None:
    assert only_problem(write(LAYERED), environment="staging") == (
        "plan.yml:5:1: environment: unknown environment 'staging' (environments: prod)"
    )


# -- matrices and templates ----------------------------------------------------------------------

MATRIX = """\
vars: {dataset: brats}
nodes:
  train:
    name: Train ${{ matrix.seed }}
    workflow: train.yml
    matrix: {seed: [1, 2], lr: [0.1]}
    inputs:
      seed: ${{ matrix.seed }}
      data: ${{ vars.dataset }}
  pick:
    needs: [train]
    collect: {from: train, artifacts: metrics-*}
    select: {file: metrics.json, max: dice}
    gate: ${{ selected.dice >= 0.9 && selected.artifact != '' }}
  report:
    workflow: report.yml
    needs: [train, pick]
    inputs:
      first: ${{ needs.train-1-0_1.outputs.run-id }}
"""


def test_a_matrix_node_becomes_one_node_per_combination(write: Callable[[str], str]) -> None:
    plan = load_plan(write(MATRIX))

    assert list(plan.nodes) == ["train-1-0_1", "train-2-0_1", "pick", "report"]
    second = plan.nodes["train-2-0_1"]
    assert second.group == "train"
    assert second.matrix == {"seed": 2, "lr": 0.1}
    assert second.title == "Train 2"
    assert second.values["inputs"] == {"seed": "2", "data": "brats"}
    assert second.values["path"] == "train-2-0_1"


def test_needing_a_matrix_node_needs_every_member(write: Callable[[str], str]) -> None:
    plan = load_plan(write(MATRIX))

    assert plan.nodes["report"].needs == ("train-1-0_1", "train-2-0_1", "pick")
    assert plan.nodes["pick"].collect is not None
    assert plan.nodes["pick"].collect.sources == ("train-1-0_1", "train-2-0_1")


def test_a_matrix_group_in_needs_is_referred_to_by_its_members(write: Callable[[str], str]) -> None:
    path = write(MATRIX.replace("needs.train-1-0_1", "needs.train"))

    assert only_problem(path) == (
        "plan.yml:19:14: nodes.report.inputs.first: needs.train.outputs.run-id: 'train' is a matrix: "
        "name one of its members (train-1-0_1, train-2-0_1)"
    )


def test_a_collect_node_selects_and_gates_on_the_selected_artifact(write: Callable[[str], str]) -> None:
    pick = load_plan(write(MATRIX)).nodes["pick"]

    assert pick.kind is NodeKind.COLLECT
    assert pick.collect is not None
    assert (pick.collect.patterns, pick.collect.path) == (("metrics-*",), "pick")
    assert pick.select is not None
    assert (pick.select.file, pick.select.key, pick.select.highest) == ("metrics.json", "dice", True)
    assert pick.gate == "selected.dice >= 0.9 && selected.artifact != ''"


def test_templates_of_vars_matrix_and_plan_are_rendered_when_loading(write: Callable[[str], str]) -> None:
    node = load_plan(
        write(
            """\
            name: Nightly
            vars: {mode: full}
            environments: {dev: {}}
            nodes:
              a:
                workflow: a.yml
                inputs:
                  title: ${{ plan.name }} on ${{ plan.environment }}
                  full: ${{ vars.mode == 'full' }}
                  joined: ${{ format('{0}-{1}', vars.mode, 'x') }}
                  plain: no template
            """
        ),
        environment="dev",
    ).nodes["a"]

    assert node.values["inputs"] == {
        "title": "Nightly on dev",
        "full": "true",
        "joined": "full-x",
        "plain": "no template",
    }


def test_vars_are_written_into_a_template_that_also_reads_needs(write: Callable[[str], str]) -> None:
    node = load_plan(
        write(
            """\
            vars: {region: eu}
            nodes:
              a: {workflow: a.yml}
              b:
                workflow: b.yml
                needs: a
                ref: ${{ github.ref_name }}
                inputs:
                  mixed: ${{ vars.region }}/${{ needs.a.outputs.run-id }}
            """
        )
    ).nodes["b"]

    assert node.values["ref"] == "${{ github.ref_name }}"
    assert node.values["inputs"] == {"mixed": "eu/${{ needs.a.outputs.run-id }}"}


def test_vars_are_written_into_if_and_the_condition_as_written_is_kept_for_messages(
    write: Callable[[str], str],
) -> None:
    node = load_plan(
        write(
            """\
            vars: {mode: quick}
            nodes:
              a: {workflow: a.yml}
              b: {workflow: b.yml, needs: a, if: "${{ Vars.mode == 'full' && needs.a.result != 'skipped' }}"}
            """
        )
    ).nodes["b"]

    assert node.condition == "'quick' == 'full' && needs.a.result != 'skipped'"
    assert node.written_condition == "Vars.mode == 'full' && needs.a.result != 'skipped'"


def test_a_var_holding_an_expression_is_never_evaluated(write: Callable[[str], str]) -> None:
    from wait_and_dispatch.support.expressions import render

    node = load_plan(
        write(
            """\
            vars: {title: "${{ secrets.DEPLOY_KEY }}"}
            nodes:
              a: {workflow: a.yml, inputs: {title: "${{ vars.title }}"}}
            """
        )
    ).nodes["a"]

    assert "${{ secrets" not in node.values["inputs"]["title"]
    assert render(node.values["inputs"]["title"], {}) == "${{ secrets.DEPLOY_KEY }}"


def test_continue_on_error_may_be_a_static_expression(write: Callable[[str], str]) -> None:
    plan = load_plan(
        write(
            """\
            vars: {mode: demo}
            nodes:
              a: {workflow: a.yml, continue-on-error: "${{ vars.mode == 'demo' }}"}
              b: {workflow: b.yml, continue-on-error: false}
            """
        )
    )

    assert plan.nodes["a"].continue_on_error is True
    assert plan.nodes["b"].continue_on_error is False


# -- the schema ----------------------------------------------------------------------------------


def schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(schema_text())
    return loaded


def test_the_schema_is_valid_draft_2020_12() -> None:
    document = schema()

    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schemas_node_keys_are_the_action_inputs_and_the_plan_only_keys() -> None:
    defs = schema()["$defs"]
    assert isinstance(defs, dict)

    assert set(defs["node"]["properties"]) == {*NODE_INPUTS, *PLAN_ONLY_KEYS}
    assert set(defs["defaults"]["properties"]) == set(NODE_INPUTS)


def test_every_property_in_the_schema_has_a_title_and_a_description() -> None:
    missing: list[str] = []

    def visit(value: object, where: str) -> None:
        if isinstance(value, dict):
            for name, sub in value.get("properties", {}).items():
                if not (sub.get("title") and sub.get("description")):
                    missing.append(f"{where}.{name}")
            for key, sub in value.items():
                visit(sub, f"{where}.{key}")
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                visit(sub, f"{where}[{i}]")

    visit(schema(), "schema")
    assert missing == []


def test_every_object_in_the_schema_refuses_unknown_keys() -> None:
    open_objects: list[str] = []

    def visit(value: object, where: str) -> None:
        if isinstance(value, dict):
            if "properties" in value and value.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, sub in value.items():
                visit(sub, f"{where}.{key}")

    visit(schema(), "schema")
    assert open_objects == []


def docs_examples() -> list[str]:
    text = (ROOT / "docs" / "plans.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    return [block for block in blocks if re.search(r"^nodes:", block, re.MULTILINE)]


def test_the_docs_have_plan_examples() -> None:
    assert docs_examples()


@pytest.mark.parametrize("example", docs_examples())
def test_every_plan_example_in_the_docs_loads(example: str, tmp_path: Path) -> None:
    path = tmp_path / "example.yml"
    path.write_text(example, encoding="utf-8")
    environments = [None, *load_plan(path).environments]

    for environment in environments:
        plan = load_plan(path, environment=environment)
        assert isinstance(plan, Plan)


def test_a_var_the_plan_does_not_have_is_a_problem_with_a_suggestion(write: Callable[[str], str]) -> None:
    path = write(
        """\
        vars: {mode: torch-change}
        nodes:
          a: {workflow: a.yml, if: "${{ vars.mode == 'app-change' }}"}
        """
    )
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, variables={"mdoe": "pull-request"})
    (problem,) = caught.value.problems
    assert problem.message == "--var mdoe: the plan has no var 'mdoe' (did you mean 'mode'?)"


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ("{workflow: a.yml, timeout: '${{ vars.t }}'}", "timeout"),
        ("{workflow: a.yml, poll-interval: 5m}", "poll"),
        ("{workflow: a.yml, poll-interval: 0}", "poll"),
        ("{run-id: abc}", "run-id 'abc' is not a number"),
    ],
)
def test_settings_that_only_fail_once_vars_are_written_in_are_found_at_load(
    write: Callable[[str], str], node: str, message: str
) -> None:
    path = write(f"vars: {{t: 5x}}\nnodes:\n  a: {node}\n")
    with pytest.raises(PlanFileError) as caught:
        load_plan(path)
    (problem,) = caught.value.problems
    assert problem.where == "nodes.a"
    assert message in problem.message
    assert problem.span is not None and problem.span.line == 3


def test_a_run_id_from_a_need_is_checked_only_when_the_node_starts(write: Callable[[str], str]) -> None:
    plan = load_plan(
        write(
            "nodes:\n  a: {workflow: a.yml}\n"
            "  b: {needs: a, run-id: '${{ needs.a.outputs.run-id }}', poll-interval: 1s}\n"
        )
    )
    assert plan.nodes["b"].values["run-id"] == "${{ needs.a.outputs.run-id }}"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (".nan", "is not a duration"),
        (".inf", "is not a duration"),
        ("1e400", "is not a duration"),
        ("0s", "must be more than 0"),
        ("841h", "longer than the 35 days"),
    ],
)
def test_a_plan_timeout_that_is_not_a_finite_positive_duration_is_a_problem_on_its_line(
    write: Callable[[str], str], written: str, problem: str
) -> None:
    (found,) = problems_of(write(f"timeout: {written}\nnodes:\n  a: {{workflow: a.yml}}\n"))
    assert found.startswith("plan.yml:1:10: timeout: ") and problem in found


def test_a_nodes_poll_interval_of_infinity_is_a_problem_on_the_node(write: Callable[[str], str]) -> None:
    found = problems_of(write("nodes:\n  a: {workflow: a.yml, poll-interval: .inf}\n"))
    assert any("poll-interval" in problem and "is not a duration" in problem for problem in found)
