"""What GitHub says a workflow run can be, written down once for the tests, independently of the
emulator's own lists (so a conclusion the emulator forgets fails a test rather than vanishing).

Source: ../shared/GITHUB-FACTS.md "Finding runs"; the `status` filter's enum in the OpenAPI
operation actions/list-workflow-runs-for-repo, which lists statuses and conclusions together.
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
