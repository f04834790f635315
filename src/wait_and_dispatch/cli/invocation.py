"""What `main` hands a command that runs a step or a plan: its arguments, the environment, and
where it writes (stdout, stderr, its `--json` object, the secrets to redact)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from wait_and_dispatch.session.boundary import Secrets
    from wait_and_dispatch.session.json_output import JsonOutput


@dataclass(frozen=True)
class Invocation:
    args: argparse.Namespace
    environ: Mapping[str, str]
    stdout: TextIO
    stderr: TextIO
    json_out: JsonOutput
    secrets: Secrets | None = None
