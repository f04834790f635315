"""A plan that fans out to `width` nodes and joins them, with a scenario whose node runs complete
one after another: what shows that an advance event's cost does not grow with the plan
(tests/examples/test_advance_cost.py, benchmarks/advance_billing.py)."""

from __future__ import annotations

from typing import Any

from tests.examples.advance_harness import app_scenario


def fan_plan(width: int) -> str:
    members = "".join(f"  w{i}:\n    workflow: w{i}.yml\n    needs: [first]\n" for i in range(width))
    needs = ", ".join(f"w{i}" for i in range(width))
    join = f"  join:\n    workflow: join.yml\n    needs: [{needs}]\n"
    # All of them at once (the plan's default concurrency is 8).
    return f"name: fan\nconcurrency: {width}\nnodes:\n  first:\n    workflow: first.yml\n{members}{join}"


def fan_scenario(width: int) -> dict[str, Any]:
    """Each w<i> runs a minute longer than the one before, so each completion is its own event."""

    def workflow(name: str, duration: int) -> dict[str, Any]:
        return {
            "path": f".github/workflows/{name}.yml",
            "name": name,
            "on": ["workflow_dispatch"],
            "run_name": f"{name} [${{{{ inputs.distinct_id }}}}]",
            "inputs": {"distinct_id": {"type": "string"}},
            "timeline": {"queued": 5, "duration": duration},
            "conclusion": "success",
        }

    nodes = [workflow(f"w{i}", 120 + 60 * i) for i in range(width)]
    return app_scenario([workflow("first", 60), *nodes, workflow("join", 60)])
