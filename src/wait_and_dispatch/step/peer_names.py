"""The peer actions' names for our inputs and outputs: the data table that lets a step move here
by renaming its `uses:`.

Pure data, no behaviour: `step/aliases.py` writes these names' values into ours,
`tools/action_metadata.py` declares them in action.yml and composite/action.yml (deprecated, with
their message), and tests/test_migration.py holds them to docs/MIGRATION.md and to each peer's
own action.yml. `catalogue.py` holds our own inputs and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

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
