"""GitHub's words for run and check states, and the ref names git refuses, shared by the engine
and the emulator.

Sources (docs/github-behaviour.md#statuses-and-conclusions): the `status` filter's enum in the
OpenAPI operation actions/list-workflow-runs-for-repo (statuses and conclusions together), the
check suite `conclusion` enum of checks/list-suites-for-ref (`startup_failure`), checks/list-for-ref
and actions/list-jobs-for-workflow-run (check runs and jobs take fewer conclusions than runs).
The tests keep their own copy in `tests/support/github_facts.py` on purpose: an independent
oracle, not the code under test.
"""

from __future__ import annotations

import re

RUN_STATUSES = ("requested", "queued", "pending", "waiting", "in_progress", "completed")
RUN_CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
)
CHECK_CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required")

# What git refuses in a ref name (git-check-ref-format, which GitHub's "Create a reference"
# applies): `..`, `@{`, control characters, space, `~ ^ : ? * [ \`, a part starting with `.` or
# ending with `.lock`, an empty part, a trailing `/` or `.`.
REFUSED_IN_REF_NAMES = re.compile(r"\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]|//|/\.|\.lock(/|$)|[/.]$")
