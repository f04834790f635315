"""The end of a job's log, cut to the failed step's section and tidied (engine/log_tail.py):
pure text, laid out as the runner writes a job's log (docs/github-behaviour.md, "Jobs, logs and
annotations")."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wait_and_dispatch.engine.log_tail import JobStep, failed_step_tail


def log_of(*lines: str) -> str:
    """A job's log file: a byte order mark, then each line after its time."""
    return "\ufeff" + "".join(
        f"2026-12-07T10:00:{n % 60:02d}.1234567Z {line}\n" for n, line in enumerate(lines)
    )


def steps_of(*steps: tuple[str, str]) -> tuple[JobStep, ...]:
    """The job's steps as the jobs API lists them: (name, conclusion), numbered in order."""
    return tuple(
        JobStep(number, name, "completed", conclusion) for number, (name, conclusion) in enumerate(steps, 1)
    )


SET_UP = ("Current runner version: '2.330.0'", "##[group]Operating System", "Ubuntu", "##[endgroup]")
CHECKOUT = (
    "##[group]Run actions/checkout@v4",
    "with:",
    "  repository: octo/app",
    "##[endgroup]",
    "Syncing repository",
)
TEST = (
    "##[group]Run ./test.sh --all",
    "\x1b[36;1m./test.sh --all\x1b[0m",  # the runner prints the command in cyan
    "shell: /usr/bin/bash -e {0}",
    "##[endgroup]",
    "##[group]Test output",
    "\x1b[31mboom\x1b[0m",
    "##[endgroup]",
    "##[warning]slow test",
    "##[error]Process completed with exit code 2.",
)
UPLOAD = (  # an `if: always()` step after the failed one, which reports an error of its own
    "##[group]Run ./upload-logs.sh",
    "shell: /usr/bin/bash -e {0}",
    "##[endgroup]",
    "##[error]No files were found with the provided path: logs/",
)
AFTER = ("Post job cleanup.", "[command]/usr/bin/git version", "Cleaning up orphan processes")
TEST_TAIL = [
    "Run ./test.sh --all",
    "./test.sh --all",
    "shell: /usr/bin/bash -e {0}",
    "Test output",  # the step's own group stays inside its section
    "boom",
    "Warning: slow test",
    "Error: Process completed with exit code 2.",
]
STEPS = steps_of(
    ("Set up job", "success"),
    ("Run actions/checkout@v4", "success"),
    ("Test", "failure"),
    ("Coverage", "skipped"),
    ("Upload logs", "success"),
    ("Post Run actions/checkout@v4", "success"),
    ("Complete job", "success"),
)
LOG = log_of(*SET_UP, *CHECKOUT, *TEST, *UPLOAD, *AFTER)


def test_the_tail_runs_from_the_failed_steps_group_to_its_last_error_tidied() -> None:
    assert failed_step_tail(LOG, STEPS).splitlines() == TEST_TAIL


def test_an_always_step_after_the_failed_one_does_not_take_the_tail_with_its_error() -> None:
    lines = failed_step_tail(LOG, STEPS).splitlines()
    assert not any("upload" in line.lower() or "No files were found" in line for line in lines)


def test_a_failed_step_without_an_error_line_keeps_its_section_to_its_end_not_the_cleanup() -> None:
    killed = (
        "##[group]Run ./test.sh --all",
        "shell: /usr/bin/bash -e {0}",
        "##[endgroup]",
        "running 12 tests",
    )
    log = log_of(*SET_UP, *CHECKOUT, *killed, *AFTER)
    steps = steps_of(
        ("Set up job", "success"),
        ("Run actions/checkout@v4", "success"),
        ("Test", "failure"),
        ("Post Run actions/checkout@v4", "success"),
        ("Complete job", "success"),
    )
    assert failed_step_tail(log, steps).splitlines() == [
        "Run ./test.sh --all",
        "shell: /usr/bin/bash -e {0}",
        "running 12 tests",
    ]


def test_a_failed_step_without_an_error_before_an_always_step_ends_where_that_step_begins() -> None:
    quiet = ("##[group]Run ./test.sh --all", "##[endgroup]", "segfault in test 7")
    log = log_of(*SET_UP, *CHECKOUT, *quiet, *UPLOAD, *AFTER)
    assert failed_step_tail(log, STEPS).splitlines() == ["Run ./test.sh --all", "segfault in test 7"]


def test_the_step_stopped_by_the_jobs_time_limit_is_the_failed_one() -> None:
    stopped = (
        "##[group]Run ./test.sh --all",
        "##[endgroup]",
        "still running",
        "##[error]The operation was canceled.",
    )
    log = log_of(*SET_UP, *CHECKOUT, *stopped, *AFTER)
    steps = steps_of(
        ("Set up job", "success"),
        ("Run actions/checkout@v4", "success"),
        ("Test", "cancelled"),
        ("Post Run actions/checkout@v4", "success"),
        ("Complete job", "success"),
    )
    assert failed_step_tail(log, steps).splitlines() == [
        "Run ./test.sh --all",
        "still running",
        "Error: The operation was canceled.",
    ]


def test_a_log_read_from_its_middle_is_counted_from_its_end() -> None:
    cut = LOG[LOG.index("Syncing repository") + 3 :]  # the last bytes: starts in a line of checkout
    assert failed_step_tail(cut, STEPS, truncated=True).splitlines() == TEST_TAIL


def test_the_cut_first_line_of_a_truncated_log_is_dropped() -> None:
    cut = LOG[LOG.index("Syncing repository") + 3 :]
    lines = failed_step_tail(cut, STEPS, truncated=True).splitlines()
    assert not any(line.startswith("cing repository") for line in lines)


def test_a_log_read_from_the_middle_of_the_failed_steps_section_keeps_what_was_read() -> None:
    cut = LOG[LOG.index("Test output") :]
    lines = failed_step_tail(cut, STEPS, truncated=True).splitlines()
    assert lines == TEST_TAIL[4:]  # after the cut line, to the step's last error


def test_more_run_groups_than_steps_fall_back_to_the_nearest_group_before_the_last_error() -> None:
    # A composite action's own steps open `Run` groups inside its section: the count is ambiguous.
    composite = (
        "##[group]Run ./.github/actions/lint",
        "##[endgroup]",
        "##[group]Run ruff check .",
        "##[endgroup]",
    )
    log = log_of(*SET_UP, *composite, *TEST, *AFTER)
    steps = steps_of(
        ("Set up job", "success"), ("Lint", "success"), ("Test", "failure"), ("Complete job", "success")
    )
    assert failed_step_tail(log, steps).splitlines() == TEST_TAIL


def test_without_the_jobs_steps_the_tail_is_the_nearest_group_before_the_last_error() -> None:
    log = log_of(*SET_UP, *CHECKOUT, *TEST, *AFTER)
    assert failed_step_tail(log).splitlines() == TEST_TAIL


def test_without_steps_or_an_error_the_tail_is_the_last_section_not_the_cleanup() -> None:
    quiet = ("##[group]Run ./test.sh --all", "##[endgroup]", "segfault in test 7")
    log = log_of(*SET_UP, *CHECKOUT, *quiet, *AFTER)
    assert failed_step_tail(log).splitlines() == ["Run ./test.sh --all", "segfault in test 7"]


def test_a_failed_set_up_job_is_the_start_of_the_log_to_its_error() -> None:
    log = log_of(*SET_UP, "##[error]Unable to resolve action `octo/missing@v1`, repository not found")
    steps = steps_of(
        ("Set up job", "failure"), ("Run octo/missing@v1", "skipped"), ("Complete job", "success")
    )
    lines = failed_step_tail(log, steps).splitlines()
    assert lines[0] == "Current runner version: '2.330.0'"
    assert lines[-1] == "Error: Unable to resolve action `octo/missing@v1`, repository not found"


def test_the_jobs_output_evaluation_after_the_last_step_is_not_the_failed_steps() -> None:
    quiet = ("##[group]Run ./test.sh --all", "##[endgroup]", "segfault in test 7")
    log = log_of(
        *SET_UP, *quiet, "Evaluate and set job outputs", "Set output 'report'", "Cleaning up orphan processes"
    )
    steps = steps_of(("Set up job", "success"), ("Test", "failure"), ("Complete job", "success"))
    assert failed_step_tail(log, steps).splitlines() == ["Run ./test.sh --all", "segfault in test 7"]


def test_a_step_named_post_something_without_such_a_step_before_is_a_step_of_its_own() -> None:
    log = log_of(*SET_UP, "##[group]Run ./post-results.sh", "##[endgroup]", *TEST, *AFTER)
    steps = steps_of(
        ("Set up job", "success"),
        ("Post results", "success"),
        ("Test", "failure"),
        ("Complete job", "success"),
    )
    assert failed_step_tail(log, steps).splitlines() == TEST_TAIL


def test_escape_sequences_of_every_kind_are_gone_from_the_tail() -> None:
    noisy = (
        "##[group]Run ./test.sh --all",
        "##[endgroup]",
        "\x1b]0;pwned title\x07\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ here",
        "\x1b(B\x1b[?25l\x9b31mred\x1bc",
        "##[error]\x1b[1mfailed\x1b[0m",
    )
    lines = failed_step_tail(
        log_of(*SET_UP, *noisy, *AFTER), steps_of(("Set up job", "success"), ("Test", "failure"))
    )
    assert lines.splitlines() == ["Run ./test.sh --all", "click here", "red", "Error: failed"]
    assert not any(char in lines for char in "\x1b\x07\x9b\x9c")


def test_only_the_last_hundred_lines_of_a_long_section_are_kept() -> None:
    output = [f"line {n}" for n in range(150)]
    log = log_of(
        "##[group]Run make", "##[endgroup]", *output, "##[error]Process completed with exit code 2.", *AFTER
    )
    lines = failed_step_tail(log, steps_of(("Set up job", "success"), ("Build", "failure"))).splitlines()
    assert (
        len(lines) == 100
        and lines[0] == "line 51"
        and lines[-1] == "Error: Process completed with exit code 2."
    )


def test_a_log_without_an_error_or_a_step_group_keeps_its_last_lines() -> None:
    log = "".join(f"2026-12-07T10:00:00.0000000Z line {n}\n" for n in range(150))
    lines = failed_step_tail(log, steps_of(("Build", "failure"))).splitlines()
    assert len(lines) == 100 and lines[-1] == "line 149" and lines[0] == "line 50"


def test_a_log_read_after_the_failed_steps_section_gives_no_tail_rather_than_another_steps() -> None:
    cut = LOG[LOG.index("##[group]Run ./upload-logs.sh") - 40 :]
    assert failed_step_tail(cut, STEPS, truncated=True) == ""


# -- any job: the tail is the failed step's section, whatever came before or after it --------------

# A line of a step's output: any text on one line (the characters `str.splitlines` breaks at
# left out), escape sequences and the runner's markers over-represented; never one of the lines
# that open a section (a step's own `::group::Run ...` makes the count ambiguous, tested above).
AFTER_STEP_LINES = ("Post job cleanup.", "Evaluate and set job outputs", "Cleaning up orphan processes")
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_output_line = st.one_of(
    st.text(alphabet=st.characters(exclude_characters=_BREAKS), max_size=30),
    st.lists(
        st.sampled_from(
            ["##[error]", "##[warning]", "##[group]", "##[endgroup]", "\x1b[31m", "\x1b]0;t\x07", "x", " "]
        ),
        max_size=6,
    ).map("".join),
).filter(lambda line: not line.startswith("##[group]Run ") and line not in AFTER_STEP_LINES)


@st.composite
def failed_jobs(draw: st.DrawFn) -> tuple[str, tuple[JobStep, ...], list[str], int]:
    """A failed job's log, its steps, the failed step's section alone, and where that section
    begins in the log (in characters)."""
    count = draw(st.integers(1, 6))
    failed = draw(st.integers(0, count - 1))
    lines = [*SET_UP]
    steps = [("Set up job", "success")]
    section: list[str] = []
    section_at = 0
    for index in range(count):
        if index > failed and not draw(st.booleans()):
            steps.append((f"Step {index}", "skipped"))  # skipped: nothing in the log
            continue
        steps.append((f"Step {index}", "failure" if index == failed else "success"))
        own = [f"##[group]Run ./step-{index}.sh", "##[endgroup]", *draw(st.lists(_output_line, max_size=8))]
        if index == failed:
            if draw(st.booleans()):
                own.append("##[error]Process completed with exit code 1.")
            section, section_at = own, len(lines)
        lines += own
    for index in range(min(count, draw(st.integers(0, 2)))):  # post steps: `Post <a step's name>`
        steps.append((f"Post Step {index}", "success"))
        lines += ["Post job cleanup.", *draw(st.lists(_output_line, max_size=3))]
    steps.append(("Complete job", "success"))
    lines.append("Cleaning up orphan processes")
    text = log_of(*lines)
    offset = sum(len(line) for line in text.splitlines(keepends=True)[:section_at])
    return text, steps_of(*steps), section, offset


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(failed_jobs(), st.data())
def test_the_tail_of_any_failed_job_is_its_failed_steps_section_alone(
    job: tuple[str, tuple[JobStep, ...], list[str], int], data: st.DataObject
) -> None:
    text, steps, section, offset = job
    alone = failed_step_tail(log_of(*section))

    assert failed_step_tail(text, steps) == alone
    cut = data.draw(st.integers(0, offset - 1), label="read from")  # the log's last bytes only
    assert failed_step_tail(text[cut:], steps, truncated=True) == alone
