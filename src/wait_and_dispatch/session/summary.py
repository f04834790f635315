"""Job summaries: Markdown a person reads at a glance on the run's page.

Pure functions from results to text; the action edge writes them with `RunnerChannel.summary`.
Workflow, check, artifact and branch names come from users' repositories, so every piece of such
text goes through `escape`: GitHub renders the summary as GitHub Flavored Markdown (with HTML and
`$...$` math), where a `|` in a check name would split a table cell and a `<` could open a tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from wait_and_dispatch.engine.failures import Annotation, FailedJob, FailureDigest
from wait_and_dispatch.engine.progress import format_seconds
from wait_and_dispatch.engine.results import ChecksResult, DownloadedArtifact, Outcome, RunResult
from wait_and_dispatch.plans.model import NodeOutcome, NodeResult, Plan, PlanResult
from wait_and_dispatch.plans.timeline import CriticalPath, critical_path
from wait_and_dispatch.session.timeline_chart import gantt
from wait_and_dispatch.support.errors import WaitAndDispatchError

OUTCOME_EMOJI = {
    Outcome.SUCCESS: "✅",
    Outcome.CONCLUSION_NOT_ALLOWED: "❌",
    Outcome.TIMED_OUT: "⏱️",
    Outcome.JOB_FAILED: "❌",
}

CONCLUSION_EMOJI = {
    "success": "✅",
    "failure": "❌",
    "startup_failure": "❌",
    "timed_out": "⏱️",
    "cancelled": "🚫",
    "action_required": "⚠️",
    "neutral": "⚪",
    "skipped": "⏭️",
    "stale": "⚪",
}
PENDING = "⏳"  # not completed: no conclusion yet
NONE = "—"

# ASCII punctuation that means something inline in GFM; CommonMark lets any of it be escaped with
# a backslash, and GitHub's math extension honours `\$`. Line-start syntax (`#`, `-`, `>`) needs
# no escape because user text never starts a line here.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")
# Kept verbatim in our messages: links, so GitHub autolinks them (an escaped `_` inside one would
# break it), and the code spans our hints use for settings such as `actions: write`.
_VERBATIM = re.compile(r"https?://[^\s<>]+|`[^`\n]+`")


def escape(text: str) -> str:
    """User text for a table cell or a line: Markdown inert, and on one line (a cell cannot break)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def prose(text: str) -> str:
    """Our messages and hints, which quote user names but also carry links and code spans: those
    stay as they are, everything else is escaped."""
    parts: list[str] = []
    position = 0
    for match in _VERBATIM.finditer(text):
        parts += [escape(text[position : match.start()]), match.group()]
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


def link(label: str, url: str) -> str:
    """`[label](url)`, or the label alone when GitHub gave no URL; `label` is already Markdown."""
    if not url:
        return label
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{label}]({safe})"


def code(text: str) -> str:
    """A code span for a SHA or digest; a backtick or pipe would end the span or the cell."""
    return "`" + " ".join(text.splitlines()).replace("`", "'").replace("|", "\\|") + "`"


def format_size(size: int) -> str:
    """`532` -> `532 B`, `1536` -> `1.5 KiB`, `3 * 2**20` -> `3.0 MiB`: binary units, as the
    artifact limits are documented."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def short_digest(digest: str | None) -> str:
    """`sha256:<64 hex>` -> `sha256:<12 hex>`: enough to compare at a glance."""
    if not digest:
        return NONE
    algorithm, colon, hexdigest = digest.partition(":")
    return code(f"{algorithm}:{hexdigest[:12]}" if colon else digest[:12])


def conclusion_cell(conclusion: str | None) -> str:
    if conclusion is None:
        return f"{PENDING} {NONE}"
    return f"{CONCLUSION_EMOJI.get(conclusion, '')} {escape(conclusion)}".strip()


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A GFM table; cells are Markdown already (escaped by the caller)."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def cost_line(result: RunResult | ChecksResult) -> str:
    return f"<sub>Waited {format_seconds(result.waited)}. GitHub API: {result.cost.describe()}.</sub>"


# -- runs ----------------------------------------------------------------------------------------


def run_summary(
    result: RunResult, *, repository: str, workflow: str | None, dry_run_note: str | None = None
) -> str:
    """The run found or dispatched: what happened, its state, its artifacts, what the API cost."""
    run = result.run
    label = escape(workflow or run.name or f"run {run.id}")
    if workflow and run.name and run.name != workflow:
        label = f"{escape(run.name)} ({label})"  # the name a person knows, and the file they asked for
    lines = [f"## {OUTCOME_EMOJI[result.outcome]} {label} {_run_headline(result)}", ""]
    if dry_run_note:
        lines += [f"> **Dry run:** {prose(dry_run_note)}", ""]

    verb = "Dispatched" if result.dispatched else "Found"
    on_branch = f" on {escape(run.head_branch)}" if run.head_branch else ""
    run_link = link(f"#{run.run_number}", run.html_url)
    lines += [f"{verb} run {run_link} (attempt {run.run_attempt}) in {escape(repository)}{on_branch}.", ""]
    if result.cancelled and result.outcome is Outcome.JOB_FAILED:
        lines += ["Cancelled the rest of the run because a job failed (cancel-on-failure).", ""]
    elif result.cancelled:
        lines += ["Cancelled the run because the wait timed out (cancel-on-timeout).", ""]

    duration = result.duration
    lines += table(
        ("Workflow", "Run", "Status", "Conclusion", "Head SHA", "Duration", "Waited"),
        [
            (
                label,
                run_link,
                escape(run.status),
                conclusion_cell(run.conclusion),
                code(run.head_sha[:7]) if run.head_sha else NONE,
                format_seconds(duration) if duration is not None else NONE,
                format_seconds(result.waited),
            )
        ],
    )
    lines.append("")
    if result.failure is not None:
        lines += failure_sections(result.failure)

    if result.artifacts:
        lines += ["### Artifacts", ""]
        if result.download_path is not None:
            lines += [f"Downloaded to {escape(str(result.download_path))}.", ""]
        lines += table(
            ("Artifact", "Size", "Digest", "Kept", "Path", "Verified"),
            [_artifact_row(artifact) for artifact in result.artifacts],
        )
        lines.append("")

    lines.append(cost_line(result))
    return "\n".join(lines) + "\n"


def _run_headline(result: RunResult) -> str:
    run = result.run
    if result.outcome is Outcome.TIMED_OUT:
        return f"still {escape(run.status)} after {format_seconds(result.waited)}"
    if result.outcome is Outcome.CONCLUSION_NOT_ALLOWED:
        allowed = ", ".join(sorted(result.allowed_conclusions))
        return f"concluded {escape(run.conclusion or NONE)} (allowed: {allowed})"
    if result.outcome is Outcome.JOB_FAILED and result.failed_job is not None:
        job = result.failed_job
        return f"failed: job {escape(job.name)} concluded {escape(job.conclusion or NONE)}"
    if run.completed:
        return f"concluded {escape(run.conclusion or NONE)}"
    return f"is {escape(run.status)} (not waited for)"


def _artifact_row(artifact: DownloadedArtifact) -> tuple[str, ...]:
    # One file (archive: false, or skip-decompress): its path; else the folder it was unpacked into.
    kept = "unpacked" if artifact.file is None else "file"
    return (
        escape(artifact.name),
        format_size(artifact.size),
        short_digest(artifact.digest),
        kept,
        escape(str(artifact.file if artifact.file is not None else artifact.path)),
        "✓" if artifact.verified else NONE,
    )


# -- checks --------------------------------------------------------------------------------------


def checks_summary(result: ChecksResult, *, repository: str) -> str:
    """The check runs on a SHA: one row each, the ones that never appeared, what the API cost."""
    sha = code(result.sha[:7])
    lines = [f"## {OUTCOME_EMOJI[result.outcome]} {_checks_headline(result, sha)}", ""]
    allowed = ", ".join(sorted(result.allowed_conclusions))
    count = f"{len(result.checks)} check run{'s' if len(result.checks) != 1 else ''}"
    lines += [f"{count} on {sha} in {escape(repository)}; allowed conclusions: {allowed}.", ""]
    if result.checks:
        lines += table(
            ("Check", "Status", "Conclusion", "Details"),
            [
                (
                    escape(check.name),
                    escape(check.status),
                    conclusion_cell(check.conclusion),
                    link("details", check.html_url) if check.html_url else NONE,
                )
                for check in result.checks
            ],
        )
        lines.append("")
    if result.missing:
        lines += ["**Never appeared:**", ""]
        lines += [f"- {escape(name)}" for name in result.missing]
        lines.append("")
    if result.failure is not None:
        lines += failure_sections(result.failure)
    lines.append(cost_line(result))
    return "\n".join(lines) + "\n"


def _checks_headline(result: ChecksResult, sha: str) -> str:
    if result.outcome is Outcome.TIMED_OUT:
        return f"Checks on {sha} timed out after {format_seconds(result.waited)}"
    if result.outcome is Outcome.CONCLUSION_NOT_ALLOWED:
        failed = ", ".join(escape(check.name) for check in result.failed)
        return f"Checks failed on {sha}" + (f": {failed}" if failed else "")
    return f"Checks passed on {sha}"


# -- plans ---------------------------------------------------------------------------------------

RESULT_EMOJI = {
    NodeResult.SUCCESS: "✅",
    NodeResult.FAILURE: "❌",
    NodeResult.CANCELLED: "🚫",
    NodeResult.SKIPPED: "⏭️",
}

# Mermaid class per result: GitHub's own colours for success, failure and neutral states, with
# white text for contrast. "allowed" is a failure that continue-on-error let through.
_MERMAID_CLASSES = {
    "success": "fill:#1a7f37,stroke:#116329,color:#ffffff",
    "failure": "fill:#cf222e,stroke:#a40e26,color:#ffffff",
    "allowed": "fill:#bf8700,stroke:#9a6700,color:#ffffff",
    "cancelled": "fill:#57606a,stroke:#424a53,color:#ffffff",
    "skipped": "fill:#d0d7de,stroke:#afb8c1,color:#24292f",
    "pending": "fill:#ffffff,stroke:#8c959f,color:#24292f",
}


def plan_summary(result: PlanResult, *, repository: str) -> str:
    """A whole plan: the conclusion, a status table, the graph coloured by outcome, and where the
    time went (the critical path and a timeline of each node's phases)."""
    plan = result.plan
    counts: dict[NodeResult, int] = {}
    for outcome in result.outcomes.values():
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    title = escape(plan.name) + (f" ({escape(plan.environment)})" if plan.environment else "")
    lines = [f"## {RESULT_EMOJI[result.conclusion]} Plan {title}: {result.conclusion.value}", ""]
    tally = ", ".join(f"{counts[r]} {r.value}" for r in NodeResult if counts.get(r))
    lines += [
        f"{len(result.outcomes)} nodes in {escape(repository)}: {tally}. "
        f"Took {format_seconds(result.elapsed)}.",
        "",
    ]
    lines += table(
        ("Node", "Result", "Run", "Duration", "Details"),
        [_node_row(plan, outcome) for outcome in result.outcomes.values()],
    )
    lines += ["", *plan_graph(plan, result.outcomes), ""]
    lines += _failed_nodes(plan, result.outcomes.values())
    chart = gantt(result)
    if chart:
        lines += ["### Timeline", ""]
        path = critical_path(result)
        if path is not None:
            lines += [critical_path_line(plan, path), ""]
        lines += [*chart, ""]
    return "\n".join(lines) + "\n"


def critical_path_line(plan: Plan, path: CriticalPath) -> str:
    """`Critical path: base -> ci-image -> test (31m12s of 33m40s).`: the chain of needs that set
    the plan's end, the time its nodes ran, and the plan's."""
    names = " -> ".join(escape(plan.nodes[name].title) for name in path.nodes)
    return f"Critical path: {names} ({format_seconds(path.busy)} of {format_seconds(path.elapsed)})."


def _failed_nodes(plan: Plan, outcomes: Iterable[NodeOutcome]) -> list[str]:
    """A section per failed node with its own failed jobs (a plan's summary, or one node's)."""
    lines: list[str] = []
    for outcome in outcomes:
        if outcome.failure is None or outcome.result is not NodeResult.FAILURE:
            continue
        node = plan.nodes[outcome.name]
        lines += [f"### {RESULT_EMOJI[outcome.result]} {escape(node.title)}", ""]
        lines += failure_sections(outcome.failure, level=4)
    return lines


def node_summary(plan: Plan, outcome: NodeOutcome, *, repository: str) -> str:
    """One node of a plan, run alone (the jobs of a generated orchestrator workflow)."""
    node = plan.nodes[outcome.name]
    lines = [f"## {RESULT_EMOJI[outcome.result]} {escape(node.title)}: {outcome.result.value}", ""]
    lines += [f"Node {code(node.name)} of plan {escape(plan.name)} in {escape(repository)}.", ""]
    lines += table(("Node", "Result", "Run", "Duration", "Details"), [_node_row(plan, outcome)])
    if outcome.failure is not None and outcome.result is NodeResult.FAILURE:
        lines += ["", *failure_sections(outcome.failure)]
    return "\n".join(lines) + "\n"


def plan_preview_summary(plan: Plan, preview: list[tuple[str, list[str]]]) -> str:
    """A dry run of a plan: what each node would do, and the graph."""
    title = escape(plan.name) + (f" ({escape(plan.environment)})" if plan.environment else "")
    lines = [f"## 🔍 Plan {title}: dry run", ""]
    for name, node_lines in preview:
        lines.append(f"- **{escape(plan.nodes[name].title)}**")
        lines += [f"  - {prose(line)}" for line in node_lines]
    lines += ["", *plan_graph(plan, {}), ""]
    return "\n".join(lines) + "\n"


def plan_graph(plan: Plan, outcomes: Mapping[str, NodeOutcome]) -> list[str]:
    """A Mermaid flowchart of the plan (GitHub renders ```mermaid blocks), coloured by outcome.

    Node ids become n0, n1...: a Mermaid id cannot hold every character a node id can (`end` or
    a leading `o`/`x` after `--` change the meaning), and labels are quoted with `#quot;` for `"`.
    """
    ids = {name: f"n{index}" for index, name in enumerate(plan.nodes)}
    lines = ["```mermaid", "flowchart LR"]
    for name, node in plan.nodes.items():
        label = node.title.replace('"', "#quot;")
        lines.append(f'  {ids[name]}["{label}"]')
    for name, node in plan.nodes.items():
        lines += [f"  {ids[need]} --> {ids[name]}" for need in node.needs]
    used: dict[str, list[str]] = {}
    for name in plan.nodes:
        used.setdefault(_graph_class(outcomes.get(name)), []).append(ids[name])
    for css, members in used.items():
        lines.append(f"  classDef {css} {_MERMAID_CLASSES[css]}")
        lines.append(f"  class {','.join(members)} {css}")
    lines.append("```")
    return lines


def _graph_class(outcome: NodeOutcome | None) -> str:
    if outcome is None:
        return "pending"
    if outcome.allowed_failure:
        return "allowed"
    return outcome.result.value


def _node_row(plan: Plan, outcome: NodeOutcome) -> tuple[str, ...]:
    node = plan.nodes[outcome.name]
    result = f"{RESULT_EMOJI[outcome.result]} {outcome.result.value}"
    if outcome.allowed_failure:
        result += " (allowed)"
    run_id = outcome.outputs.get("run-id", "")
    run = link(f"#{outcome.outputs.get('run-number') or run_id}", outcome.run_url) if run_id else NONE
    duration = outcome.duration
    return (
        escape(node.title) if node.title == node.name else f"{escape(node.title)} ({code(node.name)})",
        result,
        run,
        format_seconds(duration) if duration is not None else NONE,
        prose(outcome.reason) if outcome.reason else NONE,
    )


# -- the failure digest --------------------------------------------------------------------------

LEVEL_EMOJI = {"failure": "❌", "warning": "⚠️", "notice": "📝"}


def failure_sections(digest: FailureDigest, *, level: int = 3) -> list[str]:
    """What the failed run or checks looked like inside: a section per failed job read (its
    failed step linked, its annotations as a table, its log tail folded away), the rest listed.
    Every text in it is the downstream repository's: escaped, or fenced where shown verbatim."""
    heading = "#" * level
    lines: list[str] = []
    if digest.unreadable:
        # A whole clause already ("the run's jobs could not be read: ..."): said as a sentence.
        said = digest.unreadable[:1].upper() + digest.unreadable[1:]
        lines += [f"{escape(said.rstrip('.'))}.", ""]
    listed: list[FailedJob] = []
    for job in digest.jobs:
        if not job.read:
            listed.append(job)
            continue
        lines += [f"{heading} {_job_heading(job)}", ""]
        lines += _check_output(job) if job.app else _failed_steps(job)
        if job.unreadable:
            lines += [f"_Not all of it could be read: {escape(job.unreadable)}._", ""]
        if job.annotations:
            rows = [_annotation_row(annotation) for annotation in job.annotations]
            lines += table(("Level", "Where", "Title", "Message"), rows)
            lines.append("")
        if job.log_tail:
            count = len(job.log_tail.splitlines())
            lines += [f"<details><summary>The log's last {count} lines</summary>", ""]
            lines += [*fenced(job.log_tail, "text"), "", "</details>", ""]
        if job.html_url and not job.app:
            what = "the failed step" if job.failed_steps else "the job"
            lines += [link(f"Open {what} on GitHub", job.step_url), ""]
    if listed:
        named = ", ".join(link(escape(job.name), job.html_url) for job in listed)
        lines += [f"Also failed (not read, beyond the first {len(digest.jobs) - len(listed)}): {named}.", ""]
    return lines


def _job_heading(job: FailedJob) -> str:
    mark = CONCLUSION_EMOJI.get(job.conclusion or "", "❌")
    if job.app:
        return f"{mark} Check {link(escape(job.name), job.html_url)} ({escape(job.app)})"
    return f"{mark} Job {link(escape(job.name), job.html_url)}: {escape(job.conclusion or NONE)}"


def _failed_steps(job: FailedJob) -> list[str]:
    if not job.failed_steps:
        return []
    first, *others = job.failed_steps
    said = f"Failed at step {first.number}, {link('**' + escape(first.name) + '**', job.step_url)}"
    more = "; ".join(f"step {step.number}, {escape(step.name)}" for step in others)
    return [said + (f" (also failed: {more})" if more else "") + ".", ""]


def _check_output(job: FailedJob) -> list[str]:
    """Another app's check: its title, and its summary, which is that app's Markdown, shown as
    text (rendered, it could close this summary's blocks or forge its sections)."""
    lines = [f"**{escape(job.output_title)}**", ""] if job.output_title else []
    if job.output_summary:
        lines += ["<details><summary>The check's summary</summary>", ""]
        lines += [*fenced(job.output_summary, "markdown"), "", "</details>", ""]
    return lines


def _annotation_row(annotation: Annotation) -> tuple[str, ...]:
    mark = LEVEL_EMOJI.get(annotation.annotation_level, "")
    message = "<br>".join(escape(line) for line in annotation.message.splitlines()) or NONE
    return (
        f"{mark} {escape(annotation.annotation_level)}".strip(),
        code(annotation.where()) if annotation.path else NONE,
        escape(annotation.title) if annotation.title else NONE,
        message,
    )


def fenced(text: str, info: str = "") -> list[str]:
    """`text` verbatim in a fenced code block whose fence is longer than any run of backticks in
    it, so no line of the text can close the block (CommonMark: a closing fence is at least as
    long as the opening one) and nothing in it is read as Markdown or HTML."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *text.splitlines(), fence]


# -- failures ------------------------------------------------------------------------------------


def failure_summary(error: WaitAndDispatchError) -> str:
    """Any error the action exits with: what went wrong, how to fix it, the exit code."""
    lines = ["## ❌ wait-and-dispatch failed", "", prose(error.message), ""]
    if error.hint:
        lines += [f"**How to fix:** {prose(error.hint)}", ""]
    code_name = error.exit_code.name.lower().replace("_", " ")
    lines.append(f"<sub>Exit code {int(error.exit_code)} ({code_name}).</sub>")
    return "\n".join(lines) + "\n"
