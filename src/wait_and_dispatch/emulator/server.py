"""Run the emulator: two threaded werkzeug servers on loopback (the API host and the blob host).

`Emulator` is what tests use (ephemeral ports, a shared ManualClock); `serve_forever` is what
`wait-and-dispatch emulator --scenario FILE --port N` runs in the foreground with the real clock.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from wait_and_dispatch.emulator.api_app import ApiApp
from wait_and_dispatch.emulator.blob_app import BlobApp
from wait_and_dispatch.emulator.events import JobContext, next_activity, settle, start_scheduled
from wait_and_dispatch.emulator.faults import Fault, FaultSet
from wait_and_dispatch.emulator.log import LoggedRequest, RequestLog
from wait_and_dispatch.emulator.model import Repo, Workflow
from wait_and_dispatch.emulator.scenario import Scenario
from wait_and_dispatch.emulator.shapes import Urls
from wait_and_dispatch.emulator.state import State
from wait_and_dispatch.support.clock import Clock, SystemClock
from wait_and_dispatch.support.errors import UsageError
from wait_and_dispatch.support.github_vocabulary import RUN_CONCLUSIONS

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class _VerboseHandler(WSGIRequestHandler):
    """Lets the apps set `Server` and `Date` (GitHub's and Azure's, with the emulator clock)."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)


class _QuietHandler(_VerboseHandler):
    """No access log lines: the emulator keeps its own request log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class Emulator:
    """An emulated GitHub REST API and artifact storage host on 127.0.0.1.

    `Emulator(scenario, clock=None, host="127.0.0.1", port=0, blob_port=0)`; use it as a
    context manager or call `start()` and `stop()`. Port 0 picks a free port.
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        blob_port: int = 0,
        *,
        access_log: bool = False,
        path_prefix: str | None = None,
    ) -> None:
        if path_prefix is None:
            # GitHub Enterprise Server serves the REST API under /api/v3 ("https://HOSTNAME/api/v3",
            # REST "Getting started" for GHES); github.com at the root of api.github.com.
            path_prefix = "/api/v3" if scenario.options.enterprise_version else ""
        if path_prefix and (not path_prefix.startswith("/") or path_prefix.endswith("/")):
            raise ValueError("path_prefix is like /api/v3: a leading slash and no trailing one")
        # With a prefix the API is mounted there, as clients configured for GHES expect.
        self.path_prefix = path_prefix
        self.scenario = scenario
        self.clock: Clock = clock or SystemClock()
        self.host = host
        self.port = port
        self.blob_port = blob_port
        self.state = State(scenario, self.clock)
        self._faults = FaultSet([_copy_fault(f) for f in scenario.faults])
        self._log = RequestLog()
        self._signing_key = secrets.token_bytes(32)
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []
        self._urls: Urls | None = None
        self._handler: type[WSGIRequestHandler] = _VerboseHandler if access_log else _QuietHandler

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._servers:
            return self
        api_app = ApiApp(self.state, self._faults, self._log, self._current_urls, self._signing_key)
        self._api_app = api_app
        blob_app = BlobApp(self.state, self._faults, self._log, self._signing_key)
        try:
            served: WSGIApplication = api_app
            if self.path_prefix:
                served = DispatcherMiddleware(NotFound(), {self.path_prefix: api_app})
            api = make_server(self.host, self.port, served, threaded=True, request_handler=self._handler)
            self._servers.append(api)
            blob = make_server(
                self.host, self.blob_port, blob_app, threaded=True, request_handler=self._handler
            )
            self._servers.append(blob)
        except OSError:
            self.stop()
            raise
        self._urls = Urls(
            api=f"http://{self.host}:{api.server_port}{self.path_prefix}",
            blob=f"http://{self.host}:{blob.server_port}",
        )
        for server, name in ((api, "api"), (blob, "blob")):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"emulator-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
        for thread in self._threads:
            thread.join(timeout=5)
        for server in self._servers:
            server.server_close()
        self._servers.clear()
        self._threads.clear()
        self.state.blobs.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what tests use -----------------------------------------------------------------------

    def _current_urls(self) -> Urls:
        if self._urls is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        return self._urls

    @property
    def api_url(self) -> str:
        """`http://127.0.0.1:PORT`: what GITHUB_API_URL would be."""
        return self._current_urls().api

    @property
    def blob_url(self) -> str:
        """`http://127.0.0.1:PORT2`: the artifact storage host."""
        return self._current_urls().blob

    def token(self, name: str) -> str:
        """The secret of the scenario's token called `name`."""
        try:
            return self.scenario.tokens[name].secret
        except KeyError:
            known = ", ".join(self.scenario.tokens) or "none"
            raise KeyError(f"no token named {name!r} in the scenario (known: {known})") from None

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request so far, both hosts, in arrival order."""
        return self._log.snapshot()

    def writes(self) -> list[LoggedRequest]:
        """Requests to the API host that could change something (not GET or HEAD)."""
        return [r for r in self._log.snapshot() if r.host == "api" and r.method not in ("GET", "HEAD")]

    def requests_to(self, path_glob: str) -> list[LoggedRequest]:
        return self._log.matching(path_glob)

    @property
    def max_in_flight(self) -> int:
        """The most API requests the emulator was ever answering at once (0 before any)."""
        app = getattr(self, "_api_app", None)
        return app.max_in_flight if app is not None else 0

    # -- the runner's side (emulator-only: GitHub has no such endpoints) -------------------------

    def runs_of(self, repository: str, workflow: str) -> list[int]:
        """The ids of a workflow's runs (by file name, path or id), oldest first, every one that
        exists now, also those the list endpoints do not show yet: what a runner is given jobs of."""
        with self.state.lock:
            repo, wf = self._settled_workflow(repository, workflow)
            now = self.state.now()
            runs = [r for r in repo.runs if r.workflow is wf and r.exists(now)]
            return [r.id for r in sorted(runs, key=lambda r: (r.created_at, r.id))]

    def job_context(self, run_id: int) -> JobContext:
        """What GitHub gives a job of run `run_id`: its environment's values and its event payload."""
        with self.state.lock:
            settle(self.state, self.state.now(), self._current_urls())
            return JobContext.of(self.state, self.state.runs[run_id], self._current_urls())

    def seconds_to_next_activity(self) -> float | None:
        """Seconds until a run is next requested, starts or completes (None: nothing is going on
        but held runs, which only the test ends): how far a test may move the clock at once."""
        with self.state.lock:
            now = self.state.now()
            settle(self.state, now, self._current_urls())
            when = next_activity(self.state, now)
            return None if when is None else when - now

    def finish_run(self, run_id: int, conclusion: str) -> None:
        """End run `run_id` of a `held` workflow now with `conclusion` (`success`, `failure`...), as
        its job ending would: its completion then fires `workflow_run` like any run's."""
        if conclusion not in RUN_CONCLUSIONS:
            raise ValueError(f"{conclusion!r} is not a run conclusion")
        with self.state.lock:
            settle(self.state, self.state.now(), self._current_urls())
            self.state.finish(self.state.runs[run_id], conclusion)

    def fire_schedule(self, repository: str, workflow: str, cron: str) -> int:
        """Start a run of a workflow (file name, path or id) by its `schedule` trigger's `cron`, as
        GitHub's scheduler does when the cron's time comes: the test says when. Returns its id."""
        with self.state.lock:
            repo, wf = self._settled_workflow(repository, workflow)
            return start_scheduled(self.state, repo, wf, cron).id

    def _settled_workflow(self, repository: str, workflow: str) -> tuple[Repo, Workflow]:
        """The repository and its workflow (file name, path or id), the state settled to now.
        Hold the lock."""
        settle(self.state, self.state.now(), self._current_urls())
        repo = self.state.repos[repository]
        wf = repo.workflow(workflow)
        if wf is None:
            raise KeyError(f"no workflow {workflow!r} in {repository}")
        return repo, wf

    def inject(self, fault: Fault) -> Fault:
        """Add a fault at run time; returns it so a test can read `fired` later."""
        self._faults.add(fault)
        return fault


def _copy_fault(fault: Fault) -> Fault:
    # Scenario faults are shared by every Emulator built from the scenario: count per emulator.
    return Fault(**{k: v for k, v in vars(fault).items() if k not in ("seen", "fired")})


def serve_forever(
    scenario_path: str | Path | None,
    host: str = "127.0.0.1",
    port: int = 0,
    blob_port: int = 0,
    print_fn: Callable[[str], Any] = print,
    *,
    speed: float = 1.0,
    stop_event: threading.Event | None = None,
) -> None:
    """Serve `scenario_path` (the packaged demo scenario when None) until Ctrl-C (or until
    `stop_event` is set); print the URLs and every token's secret once.

    `speed` > 1 tells the scenario that many times faster, so a pipeline of 40-minute runs can be
    watched in a minute or two (`Scenario.at_speed`); the clock stays the real one, as clients'.
    """
    scenario = Scenario.demo() if scenario_path is None else Scenario.load(scenario_path)
    if speed <= 0:
        raise UsageError(f"speed must be positive, not {speed:g}", hint="e.g. --speed 60")
    emulator = Emulator(
        scenario.at_speed(speed),
        clock=SystemClock(),
        host=host,
        port=port,
        blob_port=blob_port,
        access_log=True,
    )
    emulator.start()
    try:
        print_fn(f"GitHub API emulator: {emulator.api_url}")
        print_fn(f"artifact storage:    {emulator.blob_url}")
        if speed != 1:
            print_fn(f"time runs {speed:g} times faster than real time")
        for name, token in scenario.tokens.items():
            repos = "all repositories" if token.repos is None else ", ".join(token.repos)
            print_fn(f"token {name} ({token.kind}, {repos}): {token.secret}")
        print_fn(f"try: GITHUB_API_URL={emulator.api_url} GITHUB_TOKEN=<a token above> wait-and-dispatch ...")
        print_fn("press Ctrl-C to stop")
        event = stop_event or threading.Event()
        try:
            while not event.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        emulator.stop()
