"""The peer actions' input names, written into ours: one table-driven translation.

`options.ALIASES` says which peer input sets which of our inputs and in which form its value is
written (`FORMS` below: seconds, milliseconds, `owner` + `repo`, a conclusion or status, ...).
`resolve` turns the values a step was given (ours and the peers' names, as the runner passes them)
into our inputs only, and says what it did in `messages` for the edge to show. It does no I/O,
so the action edge and the tests use the very same translation.

Precedence, deterministic whatever order the runner lists the variables in: an input of ours that
the step sets (not empty, not only action.yml's default) wins over its aliases, with a warning;
among aliases of one input, the first in `options.ALIASES` wins, with a warning for the others.
An input whose default is an expression (`github-token`, `repository`, `api-url`) arrives already
evaluated, set or not, so an alias of it that the step sets wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from wait_and_dispatch.step.catalogue import INPUTS
from wait_and_dispatch.step.peer_names import ALIASES, FIND_ONLY, LASITH_KG, POSEIDON, Alias
from wait_and_dispatch.support.errors import UsageError

_NUMBER = re.compile(r"^\d+(\.\d+)?$")
# A comma list's separators, but not a comma inside parentheses (a matrix job's check name), as
# `step.settings.InputValues.lines` reads ignore-checks.
_OUTER_COMMA = re.compile(r",(?![^(]*\))")
# The statuses GitHub's list-runs `status` filter takes besides conclusions ("List workflow runs
# for a workflow", parameter status), which dawidd6's workflow_conclusion passes through.
_STATUSES = {"completed", "in_progress", "queued", "requested", "waiting", "pending"}
_CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "skipped",
    "stale",
    "success",
    "timed_out",
    "startup_failure",
}


@dataclass(frozen=True)
class Message:
    level: str  # notice or warning
    title: str
    text: str


@dataclass
class Resolved:
    values: dict[str, str]  # our inputs only, by name
    messages: list[Message] = field(default_factory=list)


def _input(alias: Alias) -> str:
    """The input an alias writes (only aliases with one have a form from `FORMS`)."""
    if alias.input is None:
        raise ValueError(f"the alias {alias.name} has no input of ours to write")
    return alias.input


def _text(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    return {_input(alias): value}


def _in_unit(value: str, unit: str) -> str:
    """A peer's number of seconds or milliseconds as a duration; a value that already has a unit
    (`20s`) is left to the duration parser, which names the input if it is not a duration."""
    return f"{value}{unit}" if _NUMBER.match(value) else value


def _seconds(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    return {_input(alias): _in_unit(value, "s")}


def _milliseconds(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    return {_input(alias): _in_unit(value, "ms")}


def _cancel_after_seconds(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # await-remote-run cancels the run after cancel_timeout_seconds: here the wait times out then
    # and cancel-on-timeout cancels the run.
    return {"timeout": _in_unit(value, "s"), "cancel-on-timeout": "true"}


def _repo(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # benc-uk, the-actions-org and dawidd6: owner/name. return-dispatch and await-remote-run:
    # the name, beside `owner`.
    if "/" in value:
        return {"repository": value}
    return {"repository": f"{given.get('owner', '').strip() or owner}/{value}"}


def _owner(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    if given.get("repo", "").strip():
        return {}  # `repo` writes the repository, with this owner
    raise UsageError(
        "owner is given without repo",
        hint="give the repository as repository: owner/name (or repo: name beside owner)",
    )


def _conclusion(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # dawidd6's workflow_conclusion is a conclusion, or a status to look for runs in.
    wanted = value.lower()
    if wanted in _CONCLUSIONS:
        return {"allowed-conclusions": wanted}
    if wanted == "completed":
        return {"allowed-conclusions": "any"}
    if wanted in _STATUSES:
        raise UsageError(
            f"workflow_conclusion {value!r} is a status of a run that has not finished",
            hint="artifacts are downloaded from completed runs: give a conclusion such as success, "
            "or completed for any",
        )
    raise UsageError(
        f"workflow_conclusion {value!r} is neither a conclusion nor a status",
        hint="e.g. success, failure, or completed for any conclusion",
    )


def _any_unless_true(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # benc-uk's sync-status: false leaves the step green whatever the run's conclusion.
    if value.lower() == "true":
        return {}
    if value.lower() == "false":
        return {"allowed-conclusions": "any"}
    raise UsageError(f"{alias.name} must be true or false, not {value!r}", hint=f"e.g. {alias.name}: true")


def _fail_or_ignore(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # lewagon's fail-on-no-checks: false succeeds when the checks asked for never appear.
    if value.lower() in ("true", "false"):
        return {_input(alias): "fail" if value.lower() == "true" else "ignore"}
    raise UsageError(f"{alias.name} must be true or false, not {value!r}", hint=f"e.g. {alias.name}: false")


def _inputs_or_payload(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # lasith-kg's workflow-inputs: the workflow's inputs, or with repository_dispatch the payload.
    if (
        given.get("event-type", "").strip()
        or given.get("dispatch-method", "").strip() == "repository_dispatch"
    ):
        return {"client-payload": value}
    return {"inputs": value}


def _ignore_pattern(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # poseidon's ignore_pattern: checks whose names match it are left out, beside match_pattern.
    # Both are searched anywhere in the name (JavaScript's RegExp.test), as checks-regex is.
    matching = given.get("checks-regex", "").strip() or given.get("match_pattern", "").strip()
    wanted = f"(?=.*(?:{matching}))" if matching else ""
    return {_input(alias): f"^{wanted}(?!.*(?:{value}))"}


def _more_lines(value: str, alias: Alias, given: Mapping[str, str], owner: str) -> dict[str, str]:
    # lewagon's running-workflow-name is one more check to ignore, beside ignore-checks.
    return {_input(alias): "\n".join(part for part in (given.get(_input(alias), "").strip(), value) if part)}


Form = Callable[[str, Alias, Mapping[str, str], str], dict[str, str]]

FORMS: dict[str, Form] = {
    "text": _text,
    "seconds": _seconds,
    "milliseconds": _milliseconds,
    "cancel-after-seconds": _cancel_after_seconds,
    "repo": _repo,
    "owner": _owner,
    "conclusion": _conclusion,
    "any-unless-true": _any_unless_true,
    "more-lines": _more_lines,
    "fail-or-ignore": _fail_or_ignore,
    "inputs-or-payload": _inputs_or_payload,
    "ignore-pattern": _ignore_pattern,
}
_MERGING = {"more-lines", "ignore-pattern"}
# Forms of the peer inputs with no equivalent here (Alias.input is None): no-effect, warn (whatever
# the value), warn-unless:VALUES and refuse-unless:VALUES (the values whose behaviour we share).
NO_EQUIVALENT = ("no-effect", "warn", "warn-unless", "refuse-unless")


def resolve(given: Mapping[str, str], *, default_owner: str = "", job: str = "") -> Resolved:
    """Our inputs from `given` (input and alias names to their values, stripped or not).

    `job` is the calling job's id (`GITHUB_JOB`): poseidon/wait-for-status-checks ignores that
    job's own check, so a step with its inputs does too."""
    values = {k: v.strip() for k, v in given.items() if v is not None}
    defaults = {item.name: item.default for item in INPUTS}
    resolved = Resolved({item.name: values.get(item.name, "") for item in INPUTS})
    out = resolved.values
    # The runner evaluates an expression default (`${{ github.token }}`) before the action sees
    # it, so such an input cannot be told set from defaulted: an alias the step sets wins over it.
    user_set = {
        name
        for name, value in out.items()
        if value and value != defaults[name] and not defaults[name].startswith("${{")
    }
    taken: dict[str, str] = {}  # our input -> the alias that wrote it
    implying: list[Alias] = []  # the aliases given and used, whose implications apply
    for alias in ALIASES:
        value = values.get(alias.name, "")
        if not value:
            continue
        if alias.input is None:
            _no_equivalent(alias, value, resolved)
            implying.append(alias)
            continue
        writes = FORMS[alias.form](value, alias, values, default_owner)
        merges = alias.form in _MERGING  # adds to the input's own value rather than replacing it
        blocked = sorted(name for name in writes if not merges and (name in user_set or name in taken))
        if blocked:
            by = taken.get(blocked[0])
            winner = f"its alias `{by}`" if by else f"`{blocked[0]}`"
            resolved.messages.append(
                Message(
                    "warning",
                    f"Input {alias.name} ignored",
                    f"both {winner} and `{alias.name}` ({_peers(alias)}) set `{blocked[0]}`; "
                    f"using {winner}: remove `{alias.name}` from this step's `with:`",
                )
            )
            continue
        for name, written in writes.items():
            out[name] = written
            taken[name] = alias.name
        implying.append(alias)
        ours = next(iter(writes), alias.input)
        resolved.messages.append(
            Message(
                "notice",
                f"Input {alias.name} is now {ours}",
                f"`{alias.name}` ({_peers(alias)}) is `{ours}` here; it works, "
                f"but rename it to `{ours}` in this step's `with:`",
            )
        )
    _check_dispatch_method(values.get("dispatch-method", "").lower(), out)
    _imply(implying, out, user_set | set(taken), resolved)
    _ignore_own_job(values, out, job, resolved)
    _every_artifact(out, resolved)
    return resolved


def _every_artifact(out: dict[str, str], resolved: Resolved) -> None:
    """actions/download-artifact's `run-id` without `name` or `pattern` downloads every artifact of
    the run (v8.0.1 src/download-artifact.ts): a step that names a run and where to put artifacts
    (`path` or `merge-multiple`), and no artifacts, does the same; a run without any then passes,
    as there. A `run-id` alone only waits for the run (await-remote-run's users, and ours)."""
    if not out.get("run-id") or out.get("artifacts") or out.get("artifacts-from-branch"):
        return
    if out.get("path", "") in ("", ".") and out.get("merge-multiple", "").lower() != "true":
        return
    out["artifacts"] = "*"
    if out.get("if-artifacts-missing", "") in ("", "fail"):
        out["if-artifacts-missing"] = "warn"
    resolved.messages.append(
        Message(
            "notice",
            "artifacts: *",
            f"no artifacts named: downloading every artifact of run {out['run-id']} into "
            f"{out.get('path') or '.'}, as actions/download-artifact does without name; "
            "set artifacts to choose",
        )
    )


def _check_dispatch_method(method: str, out: Mapping[str, str]) -> None:
    """lasith-kg's dispatch-method names what to send, which here the inputs given decide: a
    method they would not send is refused, as lasith-kg refuses the inputs the method lacks."""
    sends = (
        "repository_dispatch" if out.get("event-type") else "workflow_dispatch" if out.get("workflow") else ""
    )
    if method in ("workflow_dispatch", "repository_dispatch") and sends and sends != method:
        needed = "event-type" if method == "repository_dispatch" else "workflow (and no event-type)"
        raise UsageError(
            f"dispatch-method {method} ({LASITH_KG}) needs {needed}: these inputs send a {sends}",
            hint=f"give {needed}, or remove dispatch-method from this step's `with:`",
        )


def _imply(implying: list[Alias], out: dict[str, str], chosen: set[str], resolved: Resolved) -> None:
    """The input values the given aliases' peers behave by (`Alias.implies`), for the inputs the
    step did not set. An alias of one peer comes before one several peers share."""
    implied: dict[str, tuple[str, Alias]] = {}
    for alias in sorted(implying, key=lambda a: len(a.peers) > 1):
        for name, implied_value in alias.implies:
            implied.setdefault(name, (implied_value, alias))
    finds = bool(out.get("workflow") or out.get("event-type"))  # else nothing is dispatched anyway
    for name, (implied_value, alias) in implied.items():
        if name in chosen or (name == "dispatch" and not finds):
            continue
        out[name] = implied_value
        why = (
            f"is an input of a peer that only downloads ({_peers(alias)})"
            if (name, implied_value) in FIND_ONLY
            else f"is an input of {_peers(alias)}, which works as `{name}: {implied_value}` does here"
        )
        resolved.messages.append(
            Message(
                "notice",
                f"{name}: {implied_value}",
                f"`{alias.name}` {why}: using `{name}: {implied_value}`; set `{name}` to choose",
            )
        )


def _ignore_own_job(values: Mapping[str, str], out: dict[str, str], job: str, resolved: Resolved) -> None:
    """poseidon/wait-for-status-checks leaves out the check of the job it runs in (by its id,
    `GITHUB_JOB`), and waits for every other check when given no more than `token`."""
    poseidon = any(values.get(a.name) for a in ALIASES if a.peers == (POSEIDON,))
    nothing_to_do = not any(
        out.get(name)
        for name in ("workflow", "event-type", "checks", "checks-regex", "run-id", "ignore-checks")
    )
    if not job or not (poseidon or (nothing_to_do and values.get("token"))):
        return
    ignored = [line for line in out.get("ignore-checks", "").splitlines() if line.strip()]
    if job not in {name.strip() for line in ignored for name in _OUTER_COMMA.split(line)}:
        out["ignore-checks"] = "\n".join([*ignored, job])
        resolved.messages.append(
            Message(
                "notice",
                f"ignore-checks: {job}",
                f"as {POSEIDON} does, this job's own check ({job}) is not waited for; "
                f"if the job has a name:, give that name in ignore-checks",
            )
        )


def _no_equivalent(alias: Alias, value: str, resolved: Resolved) -> None:
    form, _, accepted_text = alias.form.partition(":")
    accepted = {part.strip() for part in accepted_text.split(",") if part.strip()}
    matches = value.lower() in accepted
    if form == "refuse-unless" and not matches:
        raise UsageError(
            f"{alias.name} ({_peers(alias)}) {value!r} cannot be done here: {alias.note}",
            hint=f"remove {alias.name} from this step's `with:`",
        )
    if form == "no-effect" or matches:
        resolved.messages.append(
            Message(
                "notice",
                f"Input {alias.name} has no effect",
                f"`{alias.name}` ({_peers(alias)}) has no effect here: {alias.note}; "
                f"remove it from this step's `with:`",
            )
        )
        return
    resolved.messages.append(
        Message(
            "warning",
            f"Input {alias.name} is not supported",
            f"`{alias.name}: {value}` ({_peers(alias)}) is not supported: {alias.note}",
        )
    )


def _peers(alias: Alias) -> str:
    *others, last = alias.peers
    return f"{', '.join(others)} and {last}" if others else last
