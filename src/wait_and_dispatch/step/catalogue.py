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
        "(docs/cli.md), with the outcome, the API cost (`api`) and the `error`; with plan, the plan's "
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


# -- the peer actions' names ------------------------------------------------------------------------
#
# Each peer input is accepted under its own name, so that moving a step to this action is a rename
# of `uses:`. The names, defaults and value formats are those of each peer's action.yml at its
# latest release (lewagon/wait-on-check-action v1.9.0, actions/download-artifact v8.0.1,
# Codex-/return-dispatch v4.0.1 and v3.0.3, Codex-/await-remote-run v3.0.0,
# the-actions-org/workflow-dispatch v4.0.0, benc-uk/workflow-dispatch v1.3.1,
# dawidd6/action-download-artifact v21, convictional/trigger-workflow-and-wait v1.6.5,
# lasith-kg/dispatch-workflow v2.0.2, fountainhead/action-wait-for-check v1.2.0,
# poseidon/wait-for-status-checks v0.7.0, peter-evans/repository-dispatch v4.0.1). A peer input
# that has the same name and meaning as ours (`workflow`, `ref`, `inputs`, `path`, `run-id`,
# `event-type`, `timeout`, ...) is simply ours and is not listed.
# docs/MIGRATION.md has a table per peer; tests/test_migration.py checks each of its rows.

LEWAGON = "lewagon/wait-on-check-action"
DOWNLOAD_ARTIFACT = "actions/download-artifact"
RETURN_DISPATCH = "Codex-/return-dispatch"
AWAIT_REMOTE_RUN = "Codex-/await-remote-run"
THE_ACTIONS_ORG = "the-actions-org/workflow-dispatch"
BENC_UK = "benc-uk/workflow-dispatch"
DAWIDD6 = "dawidd6/action-download-artifact"
CONVICTIONAL = "convictional/trigger-workflow-and-wait"
LASITH_KG = "lasith-kg/dispatch-workflow"
FOUNTAINHEAD = "fountainhead/action-wait-for-check"
POSEIDON = "poseidon/wait-for-status-checks"
PETER_EVANS = "peter-evans/repository-dispatch"
PEERS = (
    LEWAGON,
    DOWNLOAD_ARTIFACT,
    RETURN_DISPATCH,
    AWAIT_REMOTE_RUN,
    THE_ACTIONS_ORG,
    BENC_UK,
    DAWIDD6,
    CONVICTIONAL,
    LASITH_KG,
    FOUNTAINHEAD,
    POSEIDON,
    PETER_EVANS,
)

# What the peers that only find and download (never dispatch) imply, unless `dispatch` is given.
FIND_ONLY = (("dispatch", "never"),)


@dataclass(frozen=True)
class Alias:
    """A peer action's input name, and how its value is written into ours.

    `form` names the translation in `step.aliases.FORMS` (seconds to a duration, `owner` + `repo`
    to `repository`, ...). `input` is None for a peer input with no equivalent here: `form` then
    says whether it has no effect, is warned about, or is refused unless it has a value whose
    behaviour we share (`warn-unless:false`); `note` says why, in the warning and in action.yml.
    `implies` are input values the peer's behaviour needs unless the step sets those inputs; when
    two aliases given together imply different values for one input, the alias of a single peer
    wins over one several peers share (convictional's `workflow_file_name` dispatches, although
    `github_token` is also dawidd6's, which only downloads).
    """

    name: str
    peers: tuple[str, ...]
    input: str | None
    form: str = "text"
    note: str = ""
    implies: tuple[tuple[str, str], ...] = ()

    @property
    def env_name(self) -> str:
        return f"INPUT_{self.name.replace(' ', '_').upper()}"


ALIASES: tuple[Alias, ...] = (
    # github-token: every peer's token input
    Alias("repo-token", (LEWAGON,), "github-token"),
    Alias(
        "token",
        (
            RETURN_DISPATCH,
            AWAIT_REMOTE_RUN,
            THE_ACTIONS_ORG,
            BENC_UK,
            LASITH_KG,
            FOUNTAINHEAD,
            POSEIDON,
            PETER_EVANS,
        ),
        "github-token",
    ),
    Alias("github_token", (DAWIDD6, CONVICTIONAL), "github-token", implies=FIND_ONLY),
    # repository: `repo` is owner/name in three peers and the bare name beside `owner` in five;
    # a value with a slash is owner/name, one without is the name in `owner` (default: this
    # repository's owner).
    Alias(
        "repo",
        (
            RETURN_DISPATCH,
            AWAIT_REMOTE_RUN,
            THE_ACTIONS_ORG,
            BENC_UK,
            DAWIDD6,
            CONVICTIONAL,
            LASITH_KG,
            FOUNTAINHEAD,
        ),
        "repository",
        "repo",
    ),
    Alias(
        "owner",
        (RETURN_DISPATCH, AWAIT_REMOTE_RUN, CONVICTIONAL, LASITH_KG, FOUNTAINHEAD),
        "repository",
        "owner",
    ),
    Alias("api-endpoint", (LEWAGON,), "api-url"),
    Alias("commit", (DAWIDD6,), "sha", implies=FIND_ONLY),
    Alias("workflow_inputs", (RETURN_DISPATCH,), "inputs"),
    Alias(
        "distinct_id",
        (RETURN_DISPATCH,),
        None,
        "warn",
        "a fresh id is sent in correlation-input for every dispatch, so a static one is not used",
    ),
    Alias(
        "run-name",
        (THE_ACTIONS_ORG,),
        None,
        "warn",
        "the run is found by the id sent in correlation-input (or GitHub's answer), not by its name",
    ),
    Alias("workflow_timeout_seconds", (RETURN_DISPATCH,), "discovery-timeout", "seconds"),
    Alias(
        "workflow_search",
        (DAWIDD6,),
        None,
        "refuse-unless:false",
        "give the workflow whose run to use in workflow",
        implies=FIND_ONLY,
    ),
    Alias("workflow_conclusion", (DAWIDD6,), "allowed-conclusions", "conclusion", implies=FIND_ONLY),
    Alias("wait-for-completion", (THE_ACTIONS_ORG, BENC_UK), "wait"),
    # timeout: cancel_timeout_seconds first, so it wins over run_timeout_seconds beside it
    Alias("cancel_timeout_seconds", (AWAIT_REMOTE_RUN,), "timeout", "cancel-after-seconds"),
    Alias("run_timeout_seconds", (AWAIT_REMOTE_RUN,), "timeout", "seconds"),
    Alias("wait-for-completion-timeout", (THE_ACTIONS_ORG,), "timeout"),
    Alias("wait-timeout-seconds", (BENC_UK,), "timeout", "seconds"),
    Alias("wait-interval", (LEWAGON,), "poll-interval", "seconds"),
    Alias("poll_interval_ms", (AWAIT_REMOTE_RUN,), "poll-interval", "milliseconds"),
    Alias("wait-for-completion-interval", (THE_ACTIONS_ORG,), "poll-interval"),
    Alias("workflow_job_steps_retry_seconds", (RETURN_DISPATCH,), "poll-interval", "seconds"),
    Alias("sync-status", (BENC_UK,), "allowed-conclusions", "any-unless-true"),
    Alias(
        "jobs",
        (AWAIT_REMOTE_RUN,),
        None,
        "warn",
        "the whole run is waited for, not only these jobs (wait for their checks with checks instead)",
    ),
    Alias("check-name", (LEWAGON,), "checks"),
    Alias("check-regexp", (LEWAGON,), "checks-regex"),
    Alias("running-workflow-name", (LEWAGON,), "ignore-checks", "more-lines"),
    Alias("fail-on-no-checks", (LEWAGON,), "if-checks-missing", "fail-or-ignore"),
    Alias(
        "wait-for-duplicates",
        (LEWAGON,),
        None,
        "warn-unless:false",
        "only the newest check run of each name (per app) counts",
    ),
    Alias("verbose", (LEWAGON,), None, "no-effect", "progress is always shown"),
    Alias("bundler-cache", (LEWAGON,), None, "no-effect", "nothing here runs Ruby"),
    Alias("display-workflow-run-url", (THE_ACTIONS_ORG,), None, "no-effect", "the run's URL is always shown"),
    Alias(
        "display-workflow-run-url-interval",
        (THE_ACTIONS_ORG,),
        None,
        "no-effect",
        "the run is looked for at poll-interval",
    ),
    Alias(
        "display-workflow-run-url-timeout",
        (THE_ACTIONS_ORG,),
        None,
        "no-effect",
        "the run must appear within discovery-timeout",
    ),
    Alias(
        "workflow-logs",
        (THE_ACTIONS_ORG,),
        None,
        "warn-unless:ignore",
        "the run's logs are not copied: the job summary links to the run",
    ),
    # artifacts: download-artifact ignores `pattern` when `name` is given, so `name` comes first;
    # a `pattern` that matches nothing downloads nothing there and the step passes: here it warns.
    Alias("name", (DOWNLOAD_ARTIFACT, DAWIDD6), "artifacts", implies=FIND_ONLY),
    Alias(
        "pattern",
        (DOWNLOAD_ARTIFACT,),
        "artifacts",
        implies=(*FIND_ONLY, ("if-artifacts-missing", "warn")),
    ),
    Alias(
        "name_is_regexp",
        (DAWIDD6,),
        None,
        "refuse-unless:false",
        "artifacts takes names and globs, not regular expressions: write the pattern as a glob",
        implies=FIND_ONLY,
    ),
    Alias(
        "artifact-ids",
        (DOWNLOAD_ARTIFACT,),
        None,
        "refuse-unless:",
        "artifacts are chosen by name: give their names or globs in artifacts",
    ),
    Alias("branch", (DAWIDD6,), "ref", implies=FIND_ONLY),
    Alias(
        "pr",
        (DAWIDD6,),
        None,
        "warn",
        "the run is found for sha, by default the pull request's head commit when the calling "
        "workflow runs for a pull request",
        implies=FIND_ONLY,
    ),
    Alias("run_id", (AWAIT_REMOTE_RUN, DAWIDD6), "run-id"),
    Alias(
        "run_number",
        (DAWIDD6,),
        None,
        "refuse-unless:",
        "give the run's id in run-id",
        implies=FIND_ONLY,
    ),
    Alias(
        "check_artifacts",
        (DAWIDD6,),
        None,
        "warn-unless:false",
        "only the run found is looked at, not earlier runs without artifacts",
        implies=FIND_ONLY,
    ),
    Alias(
        "search_artifacts",
        (DAWIDD6,),
        None,
        "warn-unless:false",
        "only the run found is looked at, not earlier runs without the artifact",
        implies=FIND_ONLY,
    ),
    Alias(
        "skip_unpack",
        (DAWIDD6,),
        None,
        "refuse-unless:false",
        "artifacts are always verified and unpacked",
        implies=FIND_ONLY,
    ),
    Alias("use_unzip", (DAWIDD6,), None, "no-effect", "artifacts are unpacked in Python", implies=FIND_ONLY),
    Alias(
        "digest-mismatch",
        (DOWNLOAD_ARTIFACT,),
        None,
        "warn-unless:error",
        "an artifact whose digest does not match always fails the step",
    ),
    Alias("if_no_artifact_found", (DAWIDD6,), "if-artifacts-missing", implies=FIND_ONLY),
    Alias("merge_multiple", (DAWIDD6,), "merge-multiple", implies=FIND_ONLY),
    Alias("allow_forks", (DAWIDD6,), "allow-forks", implies=FIND_ONLY),
    Alias("dry_run", (DAWIDD6,), "dry-run", implies=FIND_ONLY),
    # convictional/trigger-workflow-and-wait (entrypoint.sh): always triggers a new
    # workflow_dispatch run, then waits for it; `client_payload` is the run's inputs.
    Alias("workflow_file_name", (CONVICTIONAL,), "workflow", implies=(("dispatch", "always"),)),
    Alias("client_payload", (CONVICTIONAL,), "inputs"),
    Alias("wait_interval", (CONVICTIONAL,), "poll-interval", "seconds"),
    Alias("propagate_failure", (CONVICTIONAL,), "allowed-conclusions", "any-unless-true"),
    Alias("wait_workflow", (CONVICTIONAL,), "wait"),
    Alias(
        "trigger_workflow",
        (CONVICTIONAL,),
        None,
        "refuse-unless:true",
        "with false, trigger-workflow-and-wait waits for no run and the step does nothing; to wait "
        "for a run something else starts, give dispatch: never",
    ),
    Alias(
        "github_user",
        (CONVICTIONAL,),
        None,
        "no-effect",
        "the dispatched run is known exactly, not picked among the runs of one actor",
    ),
    Alias(
        "comment_downstream_url",
        (CONVICTIONAL,),
        None,
        "refuse-unless:",
        "no comment is posted; post the run-url output in a later step (e.g. gh pr comment)",
    ),
    Alias(
        "comment_github_token",
        (CONVICTIONAL,),
        None,
        "no-effect",
        "it is the token of comment_downstream_url, which is not supported",
    ),
    # lasith-kg/dispatch-workflow: dispatches (a new run every time) and, with `discover`, finds
    # the run by a `distinct_id` input or payload field shown in run-name, as correlation-input's
    # default does; it never waits for the run.
    Alias(
        "dispatch-method",
        (LASITH_KG,),
        None,
        "refuse-unless:workflow_dispatch,repository_dispatch",
        "a repository_dispatch is sent when event-type is given, else a workflow_dispatch of workflow",
        implies=(("dispatch", "always"), ("wait", "false")),
    ),
    Alias("workflow-inputs", (LASITH_KG,), "inputs", "inputs-or-payload"),
    Alias(
        "discover",
        (LASITH_KG,),
        None,
        "no-effect",
        "the run is always found: its id and URL are in run-id and run-url",
    ),
    Alias(
        "starting-delay-ms",
        (LASITH_KG,),
        None,
        "no-effect",
        "requests are retried with backoff on their own, and the run is looked for up to discovery-timeout",
    ),
    Alias(
        "max-attempts",
        (LASITH_KG,),
        None,
        "no-effect",
        "requests are retried with backoff on their own, and the run is looked for up to discovery-timeout",
    ),
    Alias(
        "time-multiple",
        (LASITH_KG,),
        None,
        "no-effect",
        "requests are retried with backoff on their own, and the run is looked for up to discovery-timeout",
    ),
    # fountainhead/action-wait-for-check: one check by name, seconds for its times. It never fails
    # the step; its users branch on `conclusion == 'success'`, which a skipped check is not.
    Alias("checkName", (FOUNTAINHEAD,), "checks", implies=(("allowed-conclusions", "success"),)),
    Alias("timeoutSeconds", (FOUNTAINHEAD,), "timeout", "seconds"),
    Alias("intervalSeconds", (FOUNTAINHEAD,), "poll-interval", "seconds"),
    # poseidon/wait-for-status-checks: every check on the commit but this job's own (GITHUB_JOB)
    # and the ignored ones; a selection that matches nothing passes. `timeout` is ours.
    Alias("interval", (POSEIDON,), "poll-interval", "seconds"),
    Alias("match_pattern", (POSEIDON,), "checks-regex", implies=(("if-checks-missing", "ignore"),)),
    Alias(
        "ignore_pattern",
        (POSEIDON,),
        "checks-regex",
        "ignore-pattern",
        implies=(("if-checks-missing", "ignore"),),
    ),
    Alias("ignore", (POSEIDON,), "ignore-checks", "more-lines"),
    Alias(
        "delay",
        (POSEIDON,),
        None,
        "no-effect",
        "checks that have not appeared yet are waited for while a workflow run on the commit is in "
        "progress, and for checks-discovery-timeout",
    ),
)


@dataclass(frozen=True)
class OutputAlias:
    """A peer action's output name, written too so that the steps after it keep reading it.

    `value` is one of our outputs, or a value only a peer gives (`PEER_VALUES`)."""

    name: str
    peers: tuple[str, ...]
    value: str
    description: str


# Values some peers output that none of ours is: written by step.run.peer_outputs.
PEER_VALUES = {
    "run-api-url": "API URL of the run.",
    "workflow-id": "Id of the run's workflow.",
    "found-artifact": "true if artifacts were downloaded, else false.",
    "error-message": "The error, if the step failed.",
}

OUTPUT_ALIASES: tuple[OutputAlias, ...] = (
    OutputAlias("run_id", (RETURN_DISPATCH,), "run-id", "Id of the run found or dispatched."),
    OutputAlias("run_url", (RETURN_DISPATCH,), "run-url", "Web URL of the run."),
    OutputAlias("workflow-id", (THE_ACTIONS_ORG,), "run-id", "Id of the run found or dispatched."),
    OutputAlias("workflow-url", (THE_ACTIONS_ORG,), "run-url", "Web URL of the run."),
    OutputAlias("workflow-conclusion", (THE_ACTIONS_ORG,), "conclusion", "Conclusion of the run."),
    OutputAlias("runId", (BENC_UK,), "run-id", "Id of the run found or dispatched."),
    OutputAlias("runUrl", (BENC_UK,), "run-api-url", PEER_VALUES["run-api-url"]),
    OutputAlias("runUrlHtml", (BENC_UK,), "run-url", "Web URL of the run."),
    OutputAlias("workflowId", (BENC_UK,), "workflow-id", PEER_VALUES["workflow-id"]),
    OutputAlias("found_artifact", (DAWIDD6,), "found-artifact", PEER_VALUES["found-artifact"]),
    OutputAlias("error_message", (DAWIDD6,), "error-message", PEER_VALUES["error-message"]),
    OutputAlias("workflow_id", (CONVICTIONAL,), "run-id", "Id of the run found or dispatched."),
    OutputAlias("workflow_url", (CONVICTIONAL,), "run-url", "Web URL of the run."),
)

ALIAS_NAMES = tuple(a.name for a in ALIASES)
OUTPUT_ALIAS_NAMES = tuple(o.name for o in OUTPUT_ALIASES)
