"""Running the emulator in the foreground, as `wait-and-dispatch emulator` does."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from wait_and_dispatch.emulator import Emulator, Scenario, serve_forever
from wait_and_dispatch.emulator.__main__ import main


def test_serve_forever_prints_urls_and_tokens_then_serves_until_stopped() -> None:
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_forever, args=(None, "127.0.0.1", 0, 0, lines.append), kwargs={"stop_event": stop}
    )
    thread.start()
    deadline = time.monotonic() + 5
    while not any("press Ctrl-C" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.01)
    api_url = lines[0].split()[-1]
    secret = next(line for line in lines if line.startswith("token dev")).split()[-1]
    response = requests.get(
        f"{api_url}/repos/octo/app", headers={"Authorization": f"token {secret}"}, timeout=5
    )
    stop.set()
    thread.join(timeout=5)
    assert response.status_code == 200
    assert lines[1].startswith("artifact storage:")
    assert not thread.is_alive()


def test_main_reports_a_bad_scenario_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("nonsense: 1\n")
    assert main(["--scenario", str(path)]) == 2
    assert "unknown key 'nonsense'" in capsys.readouterr().err


def test_api_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = Emulator(Scenario()).api_url


def test_unknown_token_name_is_a_key_error() -> None:
    with Emulator(Scenario()) as emu, pytest.raises(KeyError, match="no token named 'x'"):
        emu.token("x")
