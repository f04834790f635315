"""One error hierarchy for the whole tool.

Every error the core raises is a `WaitAndDispatchError` with a one-line message, a hint that says
how to fix it, and the documented exit code the edges (CLI, action) exit with. Exit codes are
part of the public contract: see "Exit codes" in README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


@dataclass(frozen=True)
class SourceSpan:
    """Where something was written: for error messages, `file:line:column`."""

    file: str
    line: int  # 1-based
    column: int = 1  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ExitCode(IntEnum):
    SUCCESS = 0
    CONCLUSION_NOT_ALLOWED = 1
    USAGE = 2
    TIMEOUT = 3
    GITHUB_API = 4
    ARTIFACT = 5
    # sysexits.h's EX_SOFTWARE: an error nobody anticipated. Not 1, which says the run failed.
    INTERNAL = 70
    INTERRUPTED = 130


class WaitAndDispatchError(Exception):
    """Base class: `str(error)` is the one-line message; `hint` says what to do about it."""

    exit_code: ExitCode = ExitCode.GITHUB_API
    # The edges cancel the runs this process dispatched when it ends with this error: after it the
    # caller cannot learn of them (no outputs, no result), so nothing else would stop them.
    cancels_dispatched: bool = False
    # README: "Every error is one line ... followed by a `hint:` line": every class has one, so an
    # error raised without its own hint still says what to do (tests/test_errors.py).
    default_hint: str = "run again with --debug for the details; if it persists, report it with them"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    @property
    def details(self) -> tuple[str, ...]:
        """Lines the edges show before the message, e.g. each problem in a plan file."""
        return ()


class UsageError(WaitAndDispatchError):
    """Bad input from the user: options, inputs, scenario or plan files."""

    exit_code = ExitCode.USAGE
    default_hint = "see `wait-and-dispatch COMMAND --help`, or the Inputs table in README.md"


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong in a plan file, where it was written: `file:line:col: where: message`."""

    span: SourceSpan | None
    where: str  # the key's path in the file, e.g. nodes.ci.needs
    message: str

    def __str__(self) -> str:
        return ": ".join(str(part) for part in (self.span, self.where, self.message) if part)


class PlanFileError(UsageError):
    """A plan file that cannot run: every problem found, each with its line, so one fix round does."""

    default_hint = "fix the lines above; docs/plans.md describes the format"

    def __init__(
        self, message: str, *, problems: tuple[PlanProblem, ...] = (), hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems

    @property
    def details(self) -> tuple[str, ...]:
        # One problem is the message itself; several are listed above a "N problems" message.
        return tuple(str(problem) for problem in self.problems) if len(self.problems) > 1 else ()


class GitHubApiError(WaitAndDispatchError):
    """GitHub answered with an error, or could not be reached."""

    exit_code = ExitCode.GITHUB_API
    default_hint = (
        "GitHub's answer above says what it refused; check the repository, the token's access, "
        "and https://www.githubstatus.com"
    )

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.method = method
        self.url = url


class AuthenticationError(GitHubApiError):
    default_hint = (
        "check the token: set GITHUB_TOKEN (or GH_TOKEN) to a valid token, or pass github-token in the action"
    )


class PermissionDeniedError(GitHubApiError):
    default_hint = (
        "give the token the permission this call needs: `actions: write` to dispatch or cancel "
        "workflow runs, `contents: write` for repository_dispatch, `actions: read` and `checks: read` to wait"
    )


class NotFoundError(GitHubApiError):
    default_hint = (
        "check the repository and workflow names; a private repository the token cannot see "
        "also answers 404, so check the token's access too"
    )


class ValidationFailedError(GitHubApiError):
    """GitHub refused the request body (422, or 400 for an unknown field on older servers)."""

    default_hint = "check the inputs against the `on.workflow_dispatch.inputs` the workflow declares"


class MalformedAnswerError(GitHubApiError):
    """A success answer (2xx) that is not what GitHub's API documents: a body that is not JSON, a
    field missing or of the wrong type. Not GitHub: a proxy, a captive portal or a broken server."""

    default_hint = (
        "something between this machine and GitHub answered in its place or rewrote the answer: check "
        "--api-url (GITHUB_API_URL) and any HTTPS proxy; run again with --debug to see the request"
    )


class RefusedBeforeSendingError(ValidationFailedError):
    """What GitHub would refuse (422), found in the workflow file before anything was sent: the
    caller's input, not GitHub, is what is wrong, so it exits as a usage error."""

    exit_code = ExitCode.USAGE


class RefNotFastForwardError(ValidationFailedError):
    """A git ref would move to a commit that does not descend from the one it names (422 "Update
    is not a fast forward"): someone else moved it since it was read."""

    default_hint = "read the ref again and start from the commit it names now, or force the update"


class RateLimitExceededError(GitHubApiError):
    def __init__(
        self,
        message: str,
        *,
        reset_at: float | None = None,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            method=method,
            url=url,
            hint=hint
            or (
                "wait for the rate limit to reset, raise the timeout so the wait fits, or use a token "
                "with a larger budget (a GitHub App installation token or a PAT)"
            ),
        )
        self.reset_at = reset_at


class ServerError(GitHubApiError):
    default_hint = "GitHub is having trouble; check https://www.githubstatus.com and try again"


class ConnectionFailedError(GitHubApiError):
    default_hint = "check the network and the API URL (--api-url / GITHUB_API_URL)"


class WriteOutcomeUnknownError(GitHubApiError):
    """A write (such as a dispatch) may or may not have reached GitHub: it is never re-sent blindly.

    The engine looks for what the write may have done (the run it may have started) before it
    decides whether to send it again.
    """

    default_hint = "the request may have been applied; look for its effect before sending it again"


class DeadlineExceededError(WaitAndDispatchError):
    """The caller's deadline passed (or would pass) before GitHub gave an answer."""

    exit_code = ExitCode.TIMEOUT
    default_hint = "raise the timeout, or check why GitHub is slow or rate-limiting this token"


class WaitTimeoutError(DeadlineExceededError):
    """What the caller waited for did not finish within its timeout."""

    default_hint = (
        "raise the timeout (e.g. 45m or 1h30m), or check why the run is slow: queued behind "
        "concurrency, waiting for an environment approval, or short of runners"
    )


class DispatchOutcomeUnknownError(DeadlineExceededError):
    """A dispatch may have started a run, and the deadline came before the search for it ended.

    It is never sent again in that case (a second run could start); the message names the
    correlation id (or the ref and time) to find the run by.
    """

    default_hint = "raise the timeout above the discovery timeout so that the search can finish"


class DispatchInterrupted(KeyboardInterrupt):
    """An interrupt (SIGINT, SIGTERM) that came after a dispatch was sent and before its run could
    be found: still an interrupt (exit 130), and it says how a person can find the run."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConclusionNotAllowedError(WaitAndDispatchError):
    """A run or check completed with a conclusion the caller did not allow."""

    exit_code = ExitCode.CONCLUSION_NOT_ALLOWED
    default_hint = (
        "open the run to see why it failed, or widen allowed-conclusions if this outcome is acceptable"
    )


class RunNotFoundError(WaitAndDispatchError):
    """No run matched, or none appeared within the discovery timeout (dispatch: never)."""

    exit_code = ExitCode.TIMEOUT
    default_hint = (
        "check the workflow, the SHA and the event filter; with dispatch: never, something else must "
        "start the run; raise the discovery timeout if it starts late"
    )


class AmbiguousRunError(WaitAndDispatchError):
    """More than one run could be the one we started: we never guess."""

    exit_code = ExitCode.USAGE
    default_hint = (
        "declare a correlation input in the workflow and show it in run-name, e.g. "
        "`on.workflow_dispatch.inputs.distinct_id: {required: false}` and "
        "`run-name: ${{ github.workflow }} [${{ inputs.distinct_id }}]`; wait-and-dispatch fills it"
    )


class ArtifactError(WaitAndDispatchError):
    """An artifact could not be found, fetched, verified or safely extracted."""

    exit_code = ExitCode.ARTIFACT
    default_hint = "check the destination (--path / path) and the artifact; nothing was placed there"


class ArtifactDownloadError(ArtifactError):
    """The artifact's bytes did not arrive: the stream was cut on every try."""

    default_hint = (
        "check the network to the artifact storage host (a different host than the API); every try "
        "started again from the first byte"
    )


class DownloadStoppedError(ArtifactError):
    """A download was stopped on purpose (the process is being stopped): nothing was placed."""

    default_hint = "nothing was placed in the destination; run the download again"


class ArtifactNotFoundError(ArtifactError):
    default_hint = (
        "check the artifact names against the run's artifacts (listed above); names are exact, "
        "use a glob such as `dist-*` to match several"
    )


class ArtifactExpiredError(ArtifactError):
    default_hint = "re-run the workflow that produced it, or raise its retention-days in upload-artifact"


class ArtifactDigestMismatchError(ArtifactError):
    default_hint = "the download was corrupted or tampered with; try again, and if it persists report it"


class UnsafeArtifactError(ArtifactError):
    default_hint = (
        "the archive tries to write outside the destination or unpacks to far more than its size; "
        "inspect the workflow that uploaded it"
    )


class ForkArtifactRefusedError(ArtifactError):
    default_hint = (
        "artifacts from fork runs can be poisoned by the fork's author; set allow-forks: true only if "
        "you treat their content as untrusted"
    )


class PlanFailedError(WaitAndDispatchError):
    """A plan ended with failed (or cancelled) nodes; its exit code is the first failed node's."""

    exit_code = ExitCode.CONCLUSION_NOT_ALLOWED
    default_hint = (
        "the summary (or --json) shows each node's result and why it failed; fix the first failure, "
        "then run the plan again: runs that already succeeded for the same commit are reused"
    )

    def __init__(self, message: str, *, exit_code: ExitCode | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        if exit_code is not None:
            self.exit_code = exit_code


class GateFailedError(WaitAndDispatchError):
    """A collect node's `gate` was false for the artifact it selected."""

    exit_code = ExitCode.CONCLUSION_NOT_ALLOWED
    default_hint = (
        "the selected artifact did not meet the gate: improve the result, or change the gate "
        "if the threshold is wrong"
    )


class RunnerFileError(WaitAndDispatchError):
    """A file the runner gave the step ($GITHUB_OUTPUT, $GITHUB_STATE, $GITHUB_STEP_SUMMARY) cannot
    be written: the step's outputs or the post step's state would be lost."""

    exit_code = ExitCode.USAGE
    cancels_dispatched = True
    default_hint = (
        "the runner sets these variables to writable files; check that the step does not override "
        "them, and that the runner's disk has free space"
    )


class InternalError(WaitAndDispatchError):
    """An error nobody anticipated (a defect, or an environment the tool does not expect): the edges'
    one boundary turns any exception that is not a `WaitAndDispatchError` into this."""

    exit_code = ExitCode.INTERNAL
    cancels_dispatched = True
    default_hint = (
        "this is a defect in wait-and-dispatch: run again with --debug (in Actions, with step debug "
        "logging) for the traceback, and report it with it"
    )
