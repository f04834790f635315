"""The command line's one boundary: an error nobody anticipated is one line, a `--json` error object
and exit code 70, and the runs the command dispatched are cancelled; no secret reaches a line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from tests.cli.conftest import serve_to_the_cli
from tests.edges.test_action import fast_scenario
from wait_and_dispatch.cli.main import main
from wait_and_dispatch.emulator import Emulator
from wait_and_dispatch.emulator.faults import Fault
from wait_and_dispatch.step.results import schema_text

FAST = ["--repo", "octo/app", "--poll-interval", "1s", "--max-poll-interval", "2s", "--timeout", "1m"]
VALIDATOR = jsonschema.Draft202012Validator(json.loads(schema_text()))


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with serve_to_the_cli(monkeypatch, fast_scenario(timeline={"queued": 0, "duration": 600})) as emulator:
        yield emulator


class FullPipe(io.StringIO):
    """stdout as a non-blocking pipe whose reader is behind: the first write fails with EAGAIN,
    as Python's own writes to such a pipe do; the ones after it go through."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def write(self, text: str) -> int:
        if not self.failed:
            self.failed = True
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return super().write(text)


def cancels(emulator: Emulator) -> list[str]:
    return [w.path for w in emulator.writes() if w.path.endswith("/cancel")]


def run_no_wait(*extra: str) -> tuple[int, str, str]:
    out, err = FullPipe(), io.StringIO()
    code = main(["run", *FAST, "--workflow", "build.yml", "--no-wait", *extra], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_an_unexpected_error_is_one_line_and_exit_code_70(emulator: Emulator) -> None:
    code, _, err = run_no_wait()
    assert code == 70, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors == ["error: unexpected error: BlockingIOError: [Errno 11] Resource temporarily unavailable"]
    assert "hint: this is a defect in wait-and-dispatch" in err


def test_an_unexpected_error_cancels_the_run_the_command_dispatched(emulator: Emulator) -> None:
    code, _, err = run_no_wait()
    assert code == 70, err
    run_id = next(w.path for w in emulator.writes() if "/dispatches" in w.path) and cancels(emulator)
    assert run_id, "the dispatched run was left going, and nobody was told its id"
    assert "cancelled run" in err


def test_an_unexpected_error_with_no_cancel_on_cancel_leaves_the_run_alone(emulator: Emulator) -> None:
    code, _, err = run_no_wait("--no-cancel-on-cancel")
    assert code == 70, err
    assert cancels(emulator) == []


def test_with_json_an_unexpected_error_prints_an_error_object(emulator: Emulator) -> None:
    code, out, _ = run_no_wait("--json")
    assert code == 70
    document: dict[str, Any] = json.loads(out)
    VALIDATOR.validate(document)
    assert document["error"]["exit_code"] == 70
    assert document["error"]["message"].startswith("unexpected error: BlockingIOError")


def test_debug_in_a_terminal_shows_the_traceback_without_the_runners_markers(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    _, _, err = run_no_wait("--debug")
    assert "Traceback (most recent call last):" in err
    assert "::stop-commands::" not in err and "BlockingIOError" in err


def test_debug_in_an_actions_log_shows_the_traceback_between_stop_commands(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    _, _, err = run_no_wait("--debug")
    lines = err.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    assert lines[start + 1] == "Traceback (most recent call last):"
    assert f"::{lines[start].removeprefix('::stop-commands::')}::" in lines


# -- secrets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_a_token_with_a_line_break_is_a_usage_error_that_never_shows_it(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, debug: list[str]
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_0123456789abcdef\r\nX-Injected: 0123456789abcdef")
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", *FAST, "--workflow", "build.yml", "--json", *debug], stdout=out, stderr=err)
    assert code == 2, err.getvalue()
    assert "the token in GITHUB_TOKEN contains a line break" in err.getvalue()
    for text in (out.getvalue(), err.getvalue()):
        assert "0123456789abcdef" not in text
    assert emulator.requests == []


def test_a_server_message_that_echoes_the_token_is_printed_redacted(emulator: Emulator) -> None:
    token = emulator.token("dev")
    emulator.inject(
        Fault(path="/repos/octo/app", kind="status", status=404, message=f"no such token {token}", times=None)
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", *FAST, "--workflow", "build.yml", "--json", "--debug"], stdout=out, stderr=err)
    assert code == 4, err.getvalue()
    assert "no such token ***" in err.getvalue() and "no such token ***" in out.getvalue()
    assert token not in out.getvalue() + err.getvalue()


# -- the API URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999", "http://127.0.0.1:0", "http://127.0.0.1:port", "http://127.0.0.1:"]
)
def test_an_api_url_without_a_valid_port_is_a_usage_error(emulator: Emulator, url: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", *FAST, "--workflow", "build.yml", "--api-url", url], stdout=out, stderr=err)
    assert code == 2, err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert [line for line in err.getvalue().splitlines() if line.startswith("error:")] == [
        f"error: --api-url {url!r} has no valid port (1 to 65535)"
    ]
    assert emulator.requests == []
