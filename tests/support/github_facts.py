"""What GitHub says a workflow run can be, written down once for the tests, independently of the
emulator's own lists (so a conclusion the emulator forgets fails a test rather than vanishing).

Source: GitHub's REST description (OpenAPI). The `status` query parameter of the operation
actions/list-workflow-runs-for-repo lists statuses and conclusions together, all but
`startup_failure`, which is in the `conclusion` enum of a check suite (operation
checks/list-suites-for-ref): a workflow run's conclusion is its check suite's. tests/test_github_facts.py
checks these lists against the copy of that description in tests/data/github-openapi/.
"""

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
