"""How advance mode treats a node: whether it runs in the invocation that makes it ready or as a
run whose completion is an event, whether running it dispatches, how long an inline node may take,
and how long a claim's holder has to act (the rules are in `plans/advance.py`'s docstring)."""

from __future__ import annotations

from wait_and_dispatch.engine.inputs import parse_duration
from wait_and_dispatch.plans.model import NodeKind, PlanNode, plan_text
from wait_and_dispatch.step.catalogue import find_input
from wait_and_dispatch.support.errors import UsageError

# A claim's holder sends its dispatch, or writes its `inline` ref, within this many seconds of
# claiming, or leaves the claim for good and claims again.
CLAIM_WINDOW = 30.0
# How long after seeing a claim with nothing recorded a recoverer waits before it claims the node
# again: the holder's window, the few seconds its dispatch's reads take before the POST (more
# under retries), and the seconds a new run takes to be listed (apache/airflow#71305).
RECOVERY_GRACE = 120.0
_DEFAULT_TIMEOUT = find_input("timeout").default


def runs_inline(node: PlanNode) -> bool:
    """True for a node that runs in the invocation that makes it ready rather than as a run whose
    completion is an event: `collect`, `checks`, a named run, a run that is never dispatched
    (found when something else starts it) and a node that does not wait."""
    if node.kind is not NodeKind.WORKFLOW:
        return True
    values = node.values
    return bool(
        plan_text(values.get("run-id")).strip()
        or plan_text(values.get("dispatch")).strip() == "never"
        or plan_text(values.get("wait")).strip() == "false"
    )


def dispatches(node: PlanNode) -> bool:
    """Whether running the node dispatches a run (it may have, in a job that died)."""
    values = node.values
    return node.kind is NodeKind.WORKFLOW and not (
        plan_text(values.get("run-id")).strip() or plan_text(values.get("dispatch")).strip() == "never"
    )


def inline_timeout(node: PlanNode) -> float:
    """How long an inline node may take: its `timeout` (the action's default when it has none, or
    one that is an expression)."""
    text = plan_text(node.values.get("timeout")).strip()
    try:
        return parse_duration(text or _DEFAULT_TIMEOUT, what="timeout")
    except UsageError:
        return parse_duration(_DEFAULT_TIMEOUT, what="timeout")
