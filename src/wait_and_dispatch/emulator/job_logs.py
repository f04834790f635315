"""A job's log as the runner writes it, and a run's logs as the zip GitHub serves.

What a job's log looks like (REST "Download job logs for a workflow run" serves it as plain text
behind a redirect; docs/github-behaviour.md, "Jobs, logs and annotations"): one line per output line,
each prefixed with its UTC time to the 100 ns (`2026-12-07T10:00:01.1234567Z `), the steps that
ran in order and those that did not (skipped) not at all. "Set up job" opens no step group; each
other step's section opens with `##[group]Run <first line of its script>` (the script and its
`shell:` inside the group) or `##[group]Run <owner/repo@ref>` and ends at the next section; what a
step reports with `::error::` or `::warning::` shows as `##[error]`/`##[warning]` lines, and a
step whose process fails ends with `##[error]Process completed with exit code 1.`; after a failed
step only the steps whose `if:` holds after a failure run (`if: always()`), then each post step
opens with `Post job cleanup.` and "Complete job" with "Cleaning up orphan processes" (actions/
runner `src/Runner.Worker/Handlers/`: `Handler.cs`, `ScriptHandler.cs`; `JobExtension.cs`). The
file starts with a byte order mark, as GitHub's do.

The run's logs (REST "Download workflow run logs") are a zip with one file per job at the top,
`<n>_<job name>.txt`, and a folder per job holding one file per step, `<number>_<step name>.txt`
(the layout described in con/git-annex#43 and cli/cli#10740; the top-level file is the whole
job log).

Only completed jobs have a log here; what GitHub serves for a job still running is unverified.
"""

from __future__ import annotations

import io
import time
import zipfile

from wait_and_dispatch.emulator.model import Attempt, Job, JobState, StepState, job_annotations, step_states
from wait_and_dispatch.emulator.specs import first_script_line

EXIT_CODE_ERROR = "Process completed with exit code 1."
_TICK = 0.0001234  # seconds between two lines of one step, so each line has its own time
_SHELL = "shell: /usr/bin/bash -e {0}"


def timestamp(seconds: float) -> str:
    """`2026-12-07T10:00:01.1234567Z`: the runner's UTC time to seven decimals."""
    whole = int(seconds)
    fraction = round((seconds - whole) * 10_000_000) % 10_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{fraction:07d}Z"


def _section_start(job: Job, step: StepState) -> list[str]:
    """The group that opens a step's section (actions/runner `ScriptHandler.PrintActionDetails` for
    a `run:` step: `Run <first line>`, the script in bright cyan, its shell; `Handler.
    PrintActionDetails` for an action: `Run <owner/repo@ref>`). A step given by its name only is
    titled with it (`Run pytest` for a step GitHub named so), as a `run:` step."""
    detail = job.spec.step_detail(step.number - 1)
    if detail.uses is not None:
        return [f"##[group]Run {detail.uses}", "##[endgroup]"]
    if detail.run is None:
        title = step.name if step.name.startswith("Run ") else f"Run {step.name}"
        return [f"##[group]{title}", _SHELL, "##[endgroup]"]
    script = detail.run.replace("\r\n", "\n").rstrip("\n").split("\n")
    return [
        f"##[group]Run {first_script_line(detail.run)}",
        *(f"\x1b[36;1m{line}\x1b[0m" for line in script),
        _SHELL,
        "##[endgroup]",
    ]


def step_lines(job: Job, job_state: JobState, step: StepState) -> list[str]:
    """The lines of one step that ran, without their times."""
    if step.name == "Set up job":
        return [
            "Current runner version: '2.330.0'",
            "##[group]Operating System",
            "Ubuntu",
            "24.04.3",
            "LTS",
            "##[endgroup]",
            "Secret source: Actions",
            "Prepare workflow directory",
            "Prepare all required actions",
            f"Complete job name: {job.name}",
        ]
    if step.name == "Complete job":
        return ["Cleaning up orphan processes"]
    if step.name.startswith("Post "):
        return ["Post job cleanup."]
    lines = [*_section_start(job, step), *job.spec.step_detail(step.number - 1).log]
    if step.conclusion in ("failure", "timed_out") or (
        step.conclusion == job_state.conclusion and step.conclusion not in ("success", "skipped", None)
    ):
        lines += list(job.spec.log)
        for note in job_annotations(job, job_state):
            if note.path == ".github":
                continue  # the runner's own, written below
            marker = "error" if note.level == "failure" else note.level
            first, *rest = note.message.splitlines() or [""]
            lines += [f"##[{marker}]{first}", *rest]
        if step.conclusion == "failure":
            lines.append(f"##[error]{EXIT_CODE_ERROR}")
    return lines


def _timed(lines: list[str], step: StepState) -> list[str]:
    begin = step.started_at or 0.0
    end = step.completed_at if step.completed_at is not None else begin
    span = max(0.0, end - begin)
    out = []
    for index, line in enumerate(lines):
        at = begin + min(index * _TICK, span)
        out.append(f"{timestamp(at)} {line}")
    return out


def _ran(steps: list[StepState]) -> list[StepState]:
    return [s for s in steps if s.status == "completed" and s.conclusion != "skipped"]


def job_log(job: Job, job_state: JobState, attempt: Attempt, now: float) -> str:
    """The whole log of a completed job, as `GET .../actions/jobs/{job_id}/logs` leads to it."""
    lines: list[str] = []
    for step in _ran(step_states(job, job_state, attempt, now)):
        lines += _timed(step_lines(job, job_state, step), step)
    return "\ufeff" + "".join(line + "\n" for line in lines)


def _file_name(name: str) -> str:
    # A job or step name may hold `/` (a called workflow's jobs are `caller / called`); what
    # GitHub puts in the zip for it is unverified: the emulator writes `_`.
    return name.replace("/", "_")


def run_logs_zip(attempt: Attempt, jobs: list[tuple[Job, JobState]], now: float) -> bytes:
    """The zip `GET .../actions/runs/{run_id}/logs` leads to: the completed jobs of `attempt`."""
    buffer = io.BytesIO()
    stamp = time.gmtime(int(attempt.end))[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (job, job_state) in enumerate(jobs, start=1):
            if job_state.completed_at is None:
                continue
            name = _file_name(job.name)
            archive.writestr(
                zipfile.ZipInfo(f"{index}_{name}.txt", stamp), job_log(job, job_state, attempt, now)
            )
            for step in _ran(step_states(job, job_state, attempt, now)):
                text = "".join(line + "\n" for line in _timed(step_lines(job, job_state, step), step))
                entry = zipfile.ZipInfo(f"{name}/{step.number}_{_file_name(step.name)}.txt", stamp)
                archive.writestr(entry, "\ufeff" + text)
    return buffer.getvalue()
