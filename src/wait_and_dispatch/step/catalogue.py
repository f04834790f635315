"""The action's inputs and outputs, in one place: a data table, with no behaviour but lookups.

It is the one source every other list of them comes from or is checked against, the peer
actions' names for them (`peer_names.py`) included:

- `action.yml` and `composite/action.yml`: written from it by `tools/action_metadata.py`
  (inputs, aliases, outputs, the composite's `INPUT_*` variables); tests/test_action_metadata.py
  fails when either file is not what the tool writes, and checks each input, alias and output.
- the README's Inputs and Outputs tables: checked row by row (tests/test_action_metadata.py);
  the aliases are in docs/MIGRATION.md's tables, checked by tests/test_migration.py.
- the command line's options: made from it (`cli/parser.py`), and checked both ways: every input
  is an option or a `plan` option, and a job command has no option but the inputs and its own,
  and none of the peers' names (tests/test_action_metadata.py).

Input names are kebab-case as in the action; the command line uses the same names as `--name`.
"""

from __future__ import annotations

from dataclasses import dataclass

from wait_and_dispatch.step.peer_names import ALIASES


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    default: str = ""  # as written in action.yml (may be an expression such as ${{ github.token }})
    cli: bool = True  # also a command-line option --<name>
    # The option's help, when the description is in the action's words (the step, github.sha).
    cli_description: str = ""
    # The option's help in one command, where the general one speaks of what that command does not
    # do (`checks` finds no run; `download` dispatches none): (command, help) pairs.
    cli_by_command: tuple[tuple[str, str], ...] = ()

    def cli_help(self, command: str) -> str:
        """The option's help in `command`'s --help."""
        return dict(self.cli_by_command).get(command) or self.cli_description or self.description

    @property
    def aliases(self) -> tuple[str, ...]:
        """The peer actions' names that set this input (`ALIASES`), accepted so that migration is a
        rename of `uses:`."""
        return tuple(alias.name for alias in ALIASES if alias.input == self.name)

    @property
    def env_names(self) -> tuple[str, ...]:
        """The environment variables the runner sets: upper-cased, spaces to `_`, hyphens kept
        (actions/runner `ContainerActionHandler.cs`; docs/github-behaviour.md#the-runner-contract)."""
        return tuple(f"INPUT_{name.replace(' ', '_').upper()}" for name in (self.name, *self.aliases))


@dataclass(frozen=True)
class Output:
    name: str
    description: str


_REPOSITORY_DEFAULT = (
    "Default: GH_REPO, else GITHUB_REPOSITORY, else the GitHub remote of the git repository in the "
    "current folder."
)

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
        cli_description="Repository of the workflows to find, dispatch or wait for: [HOST/]OWNER/REPO, as gh "
        f"takes it. {_REPOSITORY_DEFAULT}",
        cli_by_command=(
            (
                "checks",
                "Repository of the commit whose check runs to wait for: [HOST/]OWNER/REPO. "
                + _REPOSITORY_DEFAULT,
            ),
            ("download", f"Repository of the run to download from: [HOST/]OWNER/REPO. {_REPOSITORY_DEFAULT}"),
        ),
    ),
    Input("api-url", "GitHub REST API URL (GHES: https://HOST/api/v3).", default="${{ github.api_url }}"),
    Input(
        "workflow",
        "Workflow to find or dispatch: file name (deploy.yml), path, numeric id, or name.",
        cli_by_command=(
            (
                "download",
                "Workflow whose run to download from: file name (deploy.yml), path, numeric id, or name.",
            ),
        ),
    ),
    Input("ref", "Branch or tag to dispatch on. Default: the repository's default branch."),
    Input(
        "sha",
        "Head SHA whose runs and checks to find. Default: the pull request's head SHA, else github.sha; "
        "when dispatching, the ref's head.",
        cli_description="Head SHA whose runs and checks to find. Default: the head of --ref, else of the "
        "repository's default branch.",
        cli_by_command=(
            (
                "checks",
                "Commit whose check runs to wait for. Default: the head of the repository's default branch.",
            ),
            ("download", "Head SHA whose run to find. Default: the head of the repository's default branch."),
        ),
    ),
    Input("event", "Only find runs triggered by this event (push, pull_request, workflow_dispatch, ...)."),
    Input(
        "dispatch",
        "if-missing: reuse the run for this SHA and request if there is one that did not fail or get "
        "cancelled, else dispatch; always: dispatch a new run; never: only find, waiting up to "
        "discovery-timeout for it to appear.",
        default="if-missing",
        cli_description="if-missing: reuse the run for this SHA and request if there is one that did not "
        "fail or get cancelled, else dispatch; always: dispatch a new run; never: only find, waiting up "
        "to --discovery-timeout for it to appear.",
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
        cli_by_command=(("download", "How long the run to download from may take to appear."),),
    ),
    Input("wait", "Wait for the run to complete.", default="true"),
    Input("timeout", "Give up waiting after this long: 90s, 30m, 1h30m, or seconds.", default="30m"),
    Input(
        "poll-interval",
        "Poll cadence: each poll follows the last after 1 to 2 times this. Polls are conditional, "
        "so an unchanged answer costs no rate limit.",
        default="1s",
    ),
    Input(
        "max-poll-interval",
        "Longest interval polls slow down to on their own when the request budget is tight; "
        "GitHub's retry-after and x-poll-interval are obeyed beyond it.",
        default="60s",
    ),
    Input(
        "allowed-conclusions",
        "Conclusions that count as success: a comma-separated list, or any. "
        "Default: success for runs, success,skipped for checks, any when a run-id's artifacts "
        "are only downloaded.",
        cli_by_command=(
            (
                "checks",
                "Check conclusions that count as success: a comma-separated list, or any. "
                "Default: success,skipped.",
            ),
            (
                "download",
                "Conclusions of the run found that count as success: a comma-separated list, or any. "
                "Default: success; any with --run-id.",
            ),
        ),
    ),
    Input(
        "cancel-on-timeout",
        "Cancel the downstream run when the wait times out (also when the timeout comes before a "
        "dispatched run was found: it is looked for a few seconds more, then cancelled).",
        default="false",
    ),
    Input(
        "fail-on-failed-job",
        "End the wait as soon as a job of the run fails (failure or timed_out), instead of when "
        "the run completes. Jobs are watched through the run's check suite (checks: read; else "
        "the jobs list), a request or two per job. A failing continue-on-error job ends it too.",
        default="false",
    ),
    Input(
        "cancel-on-failure",
        "When fail-on-failed-job ended the wait at a failed job, cancel the rest of the downstream run.",
        default="false",
    ),
    Input(
        "cancel-on-cancel",
        "Cancel the runs this step dispatched when the calling job is cancelled.",
        default="true",
        cli_description="Cancel the runs this command dispatched when it is interrupted (Ctrl-C, SIGTERM) "
        "or fails unexpectedly.",
    ),
    Input(
        "checks",
        "Wait for these check runs on the SHA instead of a workflow run (names, one per line).",
        cli_by_command=(("checks", "Wait for these check runs on the commit (names, one per line)."),),
    ),
    Input(
        "checks-regex",
        "Wait for the check runs whose names match this regular expression.",
    ),
    Input(
        "ignore-checks",
        "Check names to ignore (one per line), e.g. this job's own check.",
        cli_description="Check names to ignore (one per line, or a comma list).",
    ),
    Input(
        "ignore-check-run",
        "Id of a check run never to wait for: this job's own. In the action, job.check_run_id "
        "(github.com; empty where the runner does not provide it).",
        default="${{ job.check_run_id }}",
        cli_description="Id of a check run never to wait for: the check of the job that runs this "
        "command, when it runs inside a workflow.",
    ),
    Input(
        "ignore-run",
        "Id of a workflow run not to wait for to complete: this job's own (the action takes the "
        "runner's GITHUB_RUN_ID). Its jobs that may still report a matching check are waited for.",
        cli_description="Id of a workflow run not to wait for to complete: the run this command runs "
        "in, when it runs inside a workflow. Its jobs that may still report a matching check are "
        "waited for.",
    ),
    Input(
        "checks-discovery-timeout", "How long checks that do not exist yet may take to appear.", default="60s"
    ),
    Input(
        "fail-fast",
        "End the wait at the first check whose conclusion is not allowed; false waits for every check first.",
        default="true",
    ),
    Input(
        "if-checks-missing",
        "When a named check (or checks-regex) never appears: fail the step, warn, or ignore it.",
        default="fail",
        cli_description="When a named check (or --checks-regex) never appears: fail (exit 3), warn, or "
        "ignore it.",
    ),
    Input(
        "artifacts",
        "Artifacts to download from the run: names or globs (`*` for all), one per line; none are "
        "downloaded unless named.",
    ),
    Input(
        "artifacts-from-branch",
        "Take the artifacts from the latest successful run of the workflow on this branch instead.",
    ),
    Input(
        "run-id",
        "Use this run instead of finding or dispatching one; downloads the `artifacts` named (`*` "
        "for all), whatever the run's conclusion. In the action, path or merge-multiple with none "
        "named takes every one, as actions/download-artifact does.",
        cli_description="Use this run instead of finding or dispatching one; downloads the --artifact "
        "names given ('*' for all), whatever the run's conclusion.",
        cli_by_command=(
            (
                "download",
                "Download from this run instead of finding one: the --artifact names given ('*' for "
                "all), whatever the run's conclusion.",
            ),
        ),
    ),
    Input("path", "Where to download artifacts; several go into path/<name>/.", default="."),
    Input("merge-multiple", "Download several artifacts into the same folder.", default="false"),
    Input("allow-forks", "Allow artifacts from runs of forks (they can be poisoned).", default="false"),
    Input(
        "skip-decompress",
        "Keep zipped artifacts as they are: each is saved as one `<name>.zip` file, not unpacked "
        "(actions/download-artifact's input). Artifacts uploaded unzipped are saved as their file "
        "either way.",
        default="false",
    ),
    Input(
        "if-artifacts-missing",
        "When an artifact asked for is not in the run: fail the step, warn, or ignore it (nothing is "
        "downloaded).",
        default="fail",
        cli_description="When an artifact asked for is not in the run: fail (exit 5), warn, or ignore it "
        "(nothing is downloaded).",
    ),
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
        "advance",
        "With plan: advance mode. Do what the event that started this job asks of the plan (start "
        "an instance, or record a node's completed run and dispatch what became ready) and end, "
        'never waiting for a run (docs/plans.md, "Advance mode").',
        default="false",
        cli=False,
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
    # The job summary is the action's ($GITHUB_STEP_SUMMARY): the command line prints its result and
    # writes no summary, so `run --summary` would do nothing; `plan --summary-file` writes one.
    Input("summary", "Write a job summary.", default="true", cli=False),
    Input(
        "dry-run",
        "Only read: say which run would be found or dispatched, waited for and downloaded.",
        cli_by_command=(
            ("checks", "Only read: say which check runs would be waited for."),
            ("download", "Only read: say which run would be found, waited for and downloaded."),
        ),
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
    Output(
        "artifacts",
        "JSON list of downloaded artifacts: name, id, size, digest, path, kind (`zip`: unpacked; "
        "`file`: saved as one file) and file (that file's path, else null).",
    ),
    Output("download-path", "Folder the artifacts were downloaded to."),
    Output(
        "checks", "JSON object of check names to conclusions (`name [app]` when two apps report one name)."
    ),
    Output("nodes", "With plan: JSON object of each node's result, outputs and reason."),
    Output(
        "result",
        "One typed JSON object: for a run or a wait for checks, the command line's `--json` object "
        "(docs/cli.md), with the outcome, the API cost (`api`), the `error` and, when it failed, "
        "`failure` (the failed jobs' steps, annotations and log tails); with plan, the plan's "
        "conclusion and nodes.",
    ),
)

INPUT_NAMES = tuple(i.name for i in INPUTS)
OUTPUT_NAMES = tuple(o.name for o in OUTPUTS)


def find_input(name: str) -> Input:
    for item in INPUTS:
        if name == item.name or name in item.aliases:
            return item
    raise KeyError(name)
