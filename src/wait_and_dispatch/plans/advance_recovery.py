"""Recovering a node that an invocation claimed and left with nothing recorded (it died, or lost a
create's answer): its run found by the fixed correlation id, or, once the holder can no longer
act, the node claimed again (the rules are in `plans/advance.py`'s docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wait_and_dispatch.engine import run_discovery
from wait_and_dispatch.engine.github_objects import WorkflowRun
from wait_and_dispatch.plans.advance_nodes import RECOVERY_GRACE, dispatches, runs_inline
from wait_and_dispatch.plans.advance_refs import read_instances
from wait_and_dispatch.plans.model import NodeOutcome
from wait_and_dispatch.plans.node_job import fixed_correlation

if TYPE_CHECKING:
    from wait_and_dispatch.plans.advance_work import InstanceWork


def recover(work: InstanceWork, name: str, *, seen_at: float) -> NodeOutcome | None:
    """A claimed node with nothing recorded, its claim seen at `seen_at`: its run if it was
    dispatched, else (once the holder can no longer act) the node claimed again and started."""
    node = work.plan.nodes[name]
    number = work.instance.claims.get(name, 1)
    work.report.lines.append(f"{name}: claimed with nothing recorded; recovering it")
    if dispatches(node) and (found := _find_dispatched(work, name)) is not None:
        return _adopt(work, name, found)
    if (name, number) not in work.instance.inline:  # else its holder's job is over
        clock = work.a.api.clock
        wait = seen_at + RECOVERY_GRACE - clock.now()
        if wait > 0:
            work.report.lines.append(f"{name}: giving its claim's holder {wait:.0f}s to record it")
            clock.sleep(wait)
        if _recorded_since(work, name, number):
            work.report.lines.append(f"{name}: recorded by another invocation meanwhile")
            return None
        if dispatches(node) and (found := _find_dispatched(work, name)) is not None:
            return _adopt(work, name, found)
    return work.take(node, number + 1)


def _recorded_since(work: InstanceWork, name: str, number: int) -> bool:
    """Read the instance's refs again: has anything been recorded for the node since?"""
    refs = work.a.store.matching(work.prefix)
    work.instance.refs.extend(ref for ref, _ in refs if ref not in work.instance.refs)
    now = read_instances(refs, work.a.key).get(work.instance.id)
    return now is None or (
        name in now.done or name in now.runs or now.claims.get(name, 0) > number or work.held(name, now)
    )


def _find_dispatched(work: InstanceWork, name: str) -> WorkflowRun | None:
    """The run dispatched for the node in this instance, by its fixed correlation id."""
    key = work.context.correlation_key or ""
    return run_discovery.find_by_correlation(
        work.a.api, work.a.repository, fixed_correlation(key, name), work.began()
    )


def _adopt(work: InstanceWork, name: str, run: WorkflowRun) -> NodeOutcome | None:
    """Record the run found for a node whose holder did not."""
    work.create_ref(f"run/{name}/{run.id}")
    work.instance.runs[name] = run.id
    work.report.dispatched[name] = run.id
    if run.completed or runs_inline(work.plan.nodes[name]):  # (a node that does not wait)
        return work.record(name, run.id)
    work.report.lines.append(f"{name}: found its run {run.id}")
    return None
