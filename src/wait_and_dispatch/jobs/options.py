"""The action's inputs and outputs, in one place.

`action.yml`, `composite/action.yml`, the README's tables and the command line's options are all
checked against these lists by tests, so a name, a default or a description cannot drift.
Input names are kebab-case as in the action; the command line uses the same names as `--name`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    default: str = ""  # as written in action.yml (may be an expression such as ${{ github.token }})
    aliases: tuple[str, ...] = ()  # peer actions' names, accepted so migration is a rename of `uses:`
    cli: bool = True  # also a command-line option --<name>

    @property
    def env_names(self) -> tuple[str, ...]:
        """The environment variables the runner sets: upper-cased, spaces to `_`, hyphens kept
        (actions/runner ContainerActionHandler; GITHUB-FACTS "The runner contract")."""
        return tuple(f"INPUT_{name.replace(' ', '_').upper()}" for name in (self.name, *self.aliases))


@dataclass(frozen=True)
class Output:
    name: str
    description: str


INPUTS: tuple[Input, ...] = (
    Input(
        "github-token",
        "Token for the GitHub API. Dispatching needs `actions: write` (repository_dispatch: "
        "`contents: write`); waiting needs `actions: read` and `checks: read`. With `contents: read` "
        "the workflow file is read to check the inputs before dispatching.",
        default="${{ github.token }}",
        cli=False,
    ),
    Input(
        "repository",
        "Repository (owner/name) of the workflows to find, dispatch or wait for.",
        default="${{ github.repository }}",
    ),
    Input("api-url", "GitHub REST API URL (GHES: https://HOST/api/v3).", default="${{ github.api_url }}"),
    Input("workflow", "Workflow to find or dispatch: file name (deploy.yml), path, numeric id, or name."),
    Input("ref", "Branch or tag to dispatch on. Default: the repository's default branch."),
    Input(
        "sha",
        "Head SHA whose runs and checks to find. Default: the pull request's head SHA, else github.sha; "
        "when dispatching, the ref's head.",
    ),
    Input("event", "Only find runs triggered by this event (push, pull_request, workflow_dispatch, ...)."),
    Input(
        "dispatch",
        "if-missing: reuse the run for this SHA and request if there is one that did not fail or get "
        "cancelled, else dispatch; always: dispatch a new run; never: only find, waiting up to "
        "discovery-timeout for it to appear.",
        default="if-missing",
    ),
    Input("inputs", "Workflow inputs: a JSON object, a YAML mapping, or key=value lines."),
    Input("event-type", "Send repository_dispatch with this event type instead of workflow_dispatch."),
    Input("client-payload", "repository_dispatch client payload (a JSON object)."),
    Input(
        "correlation-input",
        "Workflow input that carries a unique id so the exact run is found when GitHub does not return "
        "it (GHES <= 3.20). Declare it and show it in run-name; a workflow file that does not declare "
        "it gets none. Empty: none.",
        default="distinct_id",
    ),
    Input(
        "discovery-timeout",
        "How long a run may take to appear (dispatch: never, or after a dispatch).",
        default="5m",
    ),
    Input("wait", "Wait for the run to complete.", default="true"),
    Input("timeout", "Give up waiting after this long: 90s, 30m, 1h30m, or seconds.", default="30m"),
    Input(
        "poll-interval",
        "First (and densest) interval between polls.",
        default="5s",
        aliases=("wait-interval",),
    ),
    Input("max-poll-interval", "Longest interval between polls.", default="60s"),
    Input(
        "allowed-conclusions",
        "Conclusions that count as success: a comma-separated list, or any. "
        "Default: success for runs, success,skipped for checks.",
    ),
    Input("cancel-on-timeout", "Cancel the downstream run when the wait times out.", default="false"),
    Input(
        "cancel-on-cancel",
        "Cancel the runs this step dispatched when the calling job is cancelled.",
        default="true",
    ),
    Input(
        "checks",
        "Wait for these check runs on the SHA instead of a workflow run (names, one per line).",
        aliases=("check-name",),
    ),
    Input(
        "checks-regex",
        "Wait for the check runs whose names match this regular expression.",
        aliases=("check-regexp",),
    ),
    Input("ignore-checks", "Check names to ignore (one per line), e.g. this job's own check."),
    Input(
        "checks-discovery-timeout", "How long checks that do not exist yet may take to appear.", default="60s"
    ),
    Input("fail-fast", "Stop at the first check with a conclusion that is not allowed.", default="false"),
    Input(
        "artifacts",
        "Artifacts to download from the run: names or globs (`*` for all), one per line; none are "
        "downloaded unless named.",
        aliases=("pattern",),
    ),
    Input(
        "artifacts-from-branch",
        "Take the artifacts from the latest successful run of the workflow on this branch instead.",
    ),
    Input(
        "run-id",
        "Use this run instead of finding or dispatching one; downloads only the `artifacts` named "
        "(`*` for all).",
    ),
    Input("path", "Where to download artifacts; several go into path/<name>/.", default="."),
    Input("merge-multiple", "Download several artifacts into the same folder.", default="false"),
    Input("allow-forks", "Allow artifacts from runs of forks (they can be poisoned).", default="false"),
    Input(
        "plan",
        "Run this plan file instead of one workflow: a graph of workflows, checks and artifact "
        "collections (docs/plans.md).",
        cli=False,
    ),
    Input("plan-environment", "The plan's environment overlay to apply (dev, test, prd...).", cli=False),
    Input("plan-vars", "Override the plan's vars: key=value lines.", cli=False),
    Input(
        "plan-node",
        "Run only this node of the plan, as the orchestrator workflows that `plan --emit-workflow` "
        "writes do.",
        cli=False,
    ),
    Input(
        "plan-needs", "With plan-node: the node's needs as JSON (toJSON(needs) in the workflow).", cli=False
    ),
    Input(
        "app-id",
        "Act as this GitHub App (its App ID or Client ID) instead of github-token: a token scoped to "
        "the repositories the step touches is minted, masked, and revoked when the step ends. "
        "With app-private-key.",
        cli=False,
    ),
    Input(
        "app-private-key", "The GitHub App's private key (the .pem's text; store it as a secret).", cli=False
    ),
    Input(
        "app-installation-owner",
        "With app-id: the account (organization or user) the App is installed on. "
        "Default: the repository's owner.",
        cli=False,
    ),
    Input("summary", "Write a job summary.", default="true"),
    Input(
        "dry-run",
        "Only read: say which run would be found or dispatched, waited for and downloaded.",
        default="false",
    ),
)

OUTPUTS: tuple[Output, ...] = (
    Output("run-id", "Id of the run found or dispatched."),
    Output("run-url", "Web URL of the run."),
    Output("run-number", "Run number."),
    Output("run-attempt", "Run attempt (re-runs raise it)."),
    Output("status", "Last status seen (completed unless the wait timed out)."),
    Output("conclusion", "Conclusion of the run (empty while it runs)."),
    Output("dispatched", "true if this step started the run, false if it found one."),
    Output("head-sha", "Head SHA of the run."),
    Output("duration", "Seconds the run took (empty while it runs)."),
    Output("artifacts", "JSON list of downloaded artifacts: name, id, size, digest, path."),
    Output("download-path", "Folder the artifacts were downloaded to."),
    Output("checks", "JSON object of check names to conclusions."),
    Output("nodes", "With plan: JSON object of each node's result, outputs and reason."),
    Output("result", "JSON of everything above, plus the outcome and the API cost."),
)

INPUT_NAMES = tuple(i.name for i in INPUTS)
OUTPUT_NAMES = tuple(o.name for o in OUTPUTS)


def find_input(name: str) -> Input:
    for item in INPUTS:
        if name == item.name or name in item.aliases:
            return item
    raise KeyError(name)
