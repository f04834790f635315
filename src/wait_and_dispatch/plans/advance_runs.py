"""The runs of an instance's nodes as one advance invocation reads them: a few by id, or many in
one list, so that an event's reads of runs stay a small constant whatever the number of nodes.

An invocation reads runs to rebuild the state (has the run of a node still going completed?) and
to read a node's outcome (its needs' outputs; every node's for the plan's result at the end). One
by one that is a request per node. GitHub lists a repository's runs with each one's status and
conclusion, the same object "Get a workflow run" answers (OpenAPI `actions/list-workflow-runs-for-repo`
and `actions/get-workflow-run`), so from `LIST_FROM` runs on, one page of the runs dispatched
since the instance began stands for all of them. A run that page does not show (a run created
seconds ago may not be listed yet: docs/github-behaviour.md#finding-the-run; or one of more than
`PAGE` runs since) is read by its id, as before.

A completed run read here is not read again in this invocation: the node job that records it
is given it (`Engine`'s `known_runs`). A run that is still going is read again whenever asked
(conditionally: free while it has not changed).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from wait_and_dispatch.engine import workflow_runs
from wait_and_dispatch.engine.github_objects import Repository, WorkflowRun
from wait_and_dispatch.github_api import GitHubApi

# From this many runs to read on, one list (with the instance's first run, for when it began)
# costs less than a request per run.
LIST_FROM = 4
# The runs one list reads: one page (GitHub's most per page).
PAGE = 100


class RunBook:
    """The runs of one instance's nodes in `repository`, as this invocation has read them.
    `began` gives when the instance began on GitHub's clock (read at most once, when a list is)."""

    def __init__(self, api: GitHubApi, repository: Repository, began: Callable[[], float]) -> None:
        self.api = api
        self.repository = repository
        self.began = began
        self.known: dict[tuple[str, int], WorkflowRun] = {}  # completed runs, for the node jobs
        self.listed = False  # whether a list was read (its view of a run may lag a little)
        self._read: dict[int, WorkflowRun] = {}

    def read(self, run_ids: Iterable[int]) -> None:
        """Read the runs `run_ids` that are not known completed: one by one when they are fewer
        than `LIST_FROM`, else one page of the runs dispatched since the instance began, and those
        it does not show one by one."""
        wanted = [run_id for run_id in dict.fromkeys(run_ids) if not self._completed(run_id)]
        if len(wanted) >= LIST_FROM:
            self.listed = True
            items = self.api.paginate(
                f"{self.repository.api_path}/actions/runs",
                {"event": "workflow_dispatch", "created": workflow_runs.created_since(self.began())},
                items_key="workflow_runs",
            )
            # Only the first page: `islice` stops before the generator asks for a second.
            for item in itertools.islice(items, PAGE):
                run = WorkflowRun.from_api(item)
                if run.id in wanted:
                    self._keep(run)
            wanted = [run_id for run_id in wanted if run_id not in self._read]
        for run_id in wanted:
            self._keep(workflow_runs.get_run(self.api, self.repository, run_id))

    def last(self, run_id: int) -> WorkflowRun:
        """The run as `read` last read it (read now if it never was)."""
        if run_id not in self._read:
            self.read([run_id])
        return self._read[run_id]

    def run(self, run_id: int) -> WorkflowRun:
        """The run: as read already when it had completed, else read now."""
        if not self._completed(run_id):
            self._keep(workflow_runs.get_run(self.api, self.repository, run_id))
        return self._read[run_id]

    def _completed(self, run_id: int) -> bool:
        run = self._read.get(run_id)
        return run is not None and run.completed

    def _keep(self, run: WorkflowRun) -> None:
        self._read[run.id] = run
        if run.completed:
            self.known[(self.repository.full_name, run.id)] = run
        else:
            self.known.pop((self.repository.full_name, run.id), None)
