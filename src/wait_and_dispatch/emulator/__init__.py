"""An embedded GitHub REST API emulator for tests and demos (contract: docs/emulator.md).

It answers the workflow, run, job, check, artifact and git ref endpoints over real HTTP on
loopback and fires `workflow_run` events between workflows, with run timelines driven by an
injectable clock, GitHub's rate limits, ETags, pagination and errors, a separate artifact storage
host, and injectable faults. The engine never imports it.
"""

from wait_and_dispatch.emulator.events import JobContext
from wait_and_dispatch.emulator.faults import Fault
from wait_and_dispatch.emulator.log import LoggedRequest
from wait_and_dispatch.emulator.scenario import Scenario
from wait_and_dispatch.emulator.server import Emulator, serve_forever

__all__ = ["Emulator", "Fault", "JobContext", "LoggedRequest", "Scenario", "serve_forever"]
