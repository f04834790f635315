"""The end of a job's log, cut to the failed step and tidied (engine/log_tail.py): pure text."""

from __future__ import annotations

from wait_and_dispatch.engine.log_tail import failed_step_tail

LOG = "\ufeff" + "".join(
    f"2026-12-07T10:00:{n:02d}.1234567Z {line}\n"
    for n, line in enumerate(
        [
            "Current runner version: '2.330.0'",
            "##[group]Run make build",
            "make build",
            "##[endgroup]",
            "built",
            "##[group]Run ./test.sh --all",
            "shell: /usr/bin/bash -e {0}",
            "##[endgroup]",
            "##[group]Test output",
            "\x1b[31mboom\x1b[0m",
            "##[endgroup]",
            "##[warning]slow test",
            "##[error]Process completed with exit code 2.",
            "Post job cleanup.",
            "Cleaning up orphan processes",
        ]
    )
)


def test_the_tail_runs_from_the_failed_steps_group_to_the_last_error_tidied() -> None:
    assert failed_step_tail(LOG, "Test").splitlines() == [
        "Run ./test.sh --all",
        "shell: /usr/bin/bash -e {0}",
        "Test output",  # the step's own group stays inside its section
        "boom",
        "Warning: slow test",
        "Error: Process completed with exit code 2.",
    ]


def test_a_step_group_titled_with_the_steps_name_is_its_section() -> None:
    log = LOG.replace("##[group]Run ./test.sh --all", "##[group]Test")
    assert failed_step_tail(log, "Test").splitlines()[0] == "Test"


def test_the_cut_first_line_of_a_truncated_log_is_dropped() -> None:
    tail = LOG[LOG.index("make build") + 3 :]  # starts in the middle of a line
    lines = failed_step_tail(tail, None, truncated=True).splitlines()
    assert not any(line.startswith("e build") for line in lines)
    assert lines[-1] == "Error: Process completed with exit code 2."


def test_a_log_without_an_error_or_a_step_group_keeps_its_last_lines() -> None:
    log = "".join(f"2026-12-07T10:00:00.0000000Z line {n}\n" for n in range(150))
    lines = failed_step_tail(log, "Build").splitlines()
    assert len(lines) == 100 and lines[-1] == "line 149" and lines[0] == "line 50"
