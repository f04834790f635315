"""What a workflow file says about dispatching it: its `workflow_dispatch` inputs and `run-name`.

Read once, through the contents API, before the first dispatch of a workflow, so that the
dispatcher knows without asking GitHub to refuse anything:
- which inputs exist, which are required and which values a `choice` takes, so mistakes are
  reported before a dispatch is sent, in GitHub's own words (its 422 messages, recorded in
  `Workflow.testCreateDispatchException` and reproduced by the emulator);
- whether the correlation input is declared (a dispatch carrying an undeclared input is refused
  with 422 "Unexpected inputs provided") and whether `run-name` shows it, which decides how the
  started run is recognised;
- whether the workflow can be dispatched at all (`on: workflow_dispatch`), and which
  `repository_dispatch` types it runs for (read by `plan --check`).

The file is untrusted input. It is parsed with the safe loader, only the few keys above are
looked at, and nothing is walked recursively, so YAML aliases cannot make the work grow.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The contents API returns files up to 1 MB inline (larger ones come with `encoding: none`); a
# workflow file is far smaller, so anything bigger than this is not read at all.
MAX_WORKFLOW_FILE_BYTES = 512 * 1024
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)  # `${{ ... }}` (workflow syntax docs)


@functools.cache
def _workflow_loader() -> type[Any]:
    """The safe loader with YAML 1.2's booleans, as GitHub reads workflow files. Built on first
    use: YAML is not imported before the first request. (Aliases are shared objects here, never
    expanded: only a few keys are read, and an input whose value is a list or mapping makes the
    file unknown.)

    PyYAML follows YAML 1.1, where `yes`, `no`, `on`, `off`, `y` and `n` are booleans; GitHub's
    parser (actions/runner's YamlObjectReader) takes only `true`/`false` (any case of the three
    spellings) as booleans, which is also why a bare `on:` key means the trigger. Read the 1.1 way,
    `options: [yes, no]` would become `true`, `false`, and a dispatch with `yes` would be refused
    before GitHub was even asked.
    """
    import yaml

    class WorkflowLoader(yaml.SafeLoader):
        pass

    WorkflowLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    WorkflowLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return WorkflowLoader


@dataclass(frozen=True)
class DeclaredInput:
    """One `on.workflow_dispatch.inputs.<name>` entry."""

    name: str
    type: str = "string"
    required: bool = False
    default: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkflowDefinition:
    """The parts of a workflow file that matter for dispatching it."""

    path: str
    name: str | None
    run_name: str | None
    dispatchable: bool  # `on` includes workflow_dispatch
    inputs: Mapping[str, DeclaredInput] = field(default_factory=dict)
    # `on` includes repository_dispatch, and the `types` it runs for (None: every type)
    repository_dispatch: bool = False
    repository_dispatch_types: tuple[str, ...] | None = None

    def declares(self, input_name: str) -> bool:
        return input_name in self.inputs

    def shows_in_run_name(self, input_name: str) -> bool:
        """True when `run-name` renders the input (`inputs.X`, `github.event.inputs.X`)."""
        if not self.run_name:
            return False
        name = re.escape(input_name)
        reference = re.compile(rf"\b(?:inputs|github\.event\.inputs)\s*(?:\.\s*{name}\b|\[\s*'{name}'\s*\])")
        return any(reference.search(expression) for expression in _EXPRESSION.findall(self.run_name))

    def describe_inputs(self) -> str:
        """The declared inputs for a hint: `environment (choice of dev, prod; default dev), ...`."""
        parts = []
        for spec in self.inputs.values():
            notes = [f"choice of {', '.join(spec.options)}"] if spec.type == "choice" and spec.options else []
            if spec.required and spec.default is None:
                notes.append("required")
            if spec.default is not None:
                notes.append(f"default {spec.default}" if spec.default else "default empty")
            parts.append(f"{spec.name} ({'; '.join(notes)})" if notes else spec.name)
        return ", ".join(parts) if parts else "none"

    def problems(self, given: Mapping[str, str]) -> list[str]:
        """What GitHub would refuse about these inputs, in the words of its 422 answers."""
        unexpected = [key for key in given if key not in self.inputs]
        if unexpected:
            return [f"Unexpected inputs provided: {json.dumps(unexpected, separators=(', ', ': '))}"]
        found: list[str] = []
        for spec in self.inputs.values():
            value = given.get(spec.name)
            if value is None:
                if spec.required and spec.default is None:
                    found.append(f"Required input '{spec.name}' not provided")
                continue
            if spec.type == "choice" and spec.options and value not in spec.options:
                found.append(
                    f"Provided value '{value}' for input '{spec.name}' not in the list of allowed values"
                )
        return found


def decode_contents(data: Any) -> str | None:
    """The text of a contents-API file answer (`encoding: base64`), or None if it has none."""
    if not isinstance(data, Mapping) or data.get("type", "file") != "file":
        return None
    if data.get("encoding") != "base64" or not isinstance(data.get("content"), str):
        return None  # files over 1 MB come with `encoding: none` and no content
    try:
        raw = base64.b64decode(data["content"], validate=False)
    except (binascii.Error, ValueError):
        return None
    if len(raw) > MAX_WORKFLOW_FILE_BYTES:
        return None
    return raw.decode("utf-8", errors="replace")


def parse_workflow(path: str, text: str) -> WorkflowDefinition | None:
    """The dispatch-relevant parts of a workflow file, or None if it cannot be understood.

    None means "unknown": the caller then behaves as if the file could not be read, and GitHub
    is the judge of the dispatch.
    """
    import yaml

    try:
        document = load_workflow_document(text)
    except yaml.YAMLError:
        return None
    return workflow_definition(path, document)


def load_workflow_document(text: str) -> Any:
    """The YAML of a workflow file as GitHub reads it (YAML 1.2 booleans, see `_workflow_loader`).
    Raises `yaml.YAMLError` when it is not YAML."""
    import yaml

    return yaml.load(text, Loader=_workflow_loader())  # noqa: S506 # nosec B506 # a SafeLoader


def workflow_definition(path: str, document: Any) -> WorkflowDefinition | None:
    """The dispatch-relevant parts of a workflow file already read as YAML, or None (as
    `parse_workflow`)."""
    if not isinstance(document, Mapping):
        return None
    triggers = document.get("on")
    dispatch: Any = None
    dispatchable = False
    listens: Any = None
    repository_dispatch = False
    if isinstance(triggers, str):
        dispatchable = triggers == "workflow_dispatch"
        repository_dispatch = triggers == "repository_dispatch"
    elif isinstance(triggers, list):
        dispatchable = "workflow_dispatch" in triggers
        repository_dispatch = "repository_dispatch" in triggers
    elif isinstance(triggers, Mapping):
        dispatchable = "workflow_dispatch" in triggers
        dispatch = triggers.get("workflow_dispatch")
        repository_dispatch = "repository_dispatch" in triggers
        listens = triggers.get("repository_dispatch")
    else:
        return None
    inputs: dict[str, DeclaredInput] = {}
    declared = dispatch.get("inputs") if isinstance(dispatch, Mapping) else None
    if isinstance(declared, Mapping):
        for key, spec in declared.items():
            entry = _declared_input(str(key), spec)
            if entry is None:
                return None
            inputs[entry.name] = entry
    name = document.get("name")
    run_name = document.get("run-name")
    return WorkflowDefinition(
        path=path,
        name=name if isinstance(name, str) else None,
        run_name=run_name if isinstance(run_name, str) else None,
        dispatchable=dispatchable,
        inputs=inputs,
        repository_dispatch=repository_dispatch,
        repository_dispatch_types=_listened_types(listens),
    )


def _listened_types(settings: Any) -> tuple[str, ...] | None:
    """The `repository_dispatch` types a workflow runs for (`on.repository_dispatch.types`, one
    type or a list of them); None: every type (no `types:`). Only scalars are read."""
    types = settings.get("types") if isinstance(settings, Mapping) else None
    if types is None:
        return None
    listed = types if isinstance(types, list) else [types]
    return tuple(_text(t) for t in listed if _scalar(t) and t is not None)


def _declared_input(name: str, spec: Any) -> DeclaredInput | None:
    if spec is None:
        return DeclaredInput(name)
    if not isinstance(spec, Mapping):
        return None
    kind = spec.get("type") or "string"
    default = spec.get("default")
    options = spec.get("options")
    if options is not None and not isinstance(options, list):
        return None
    options = options or []
    # Only scalars are turned into text: `str()` of a list or mapping built from YAML aliases would
    # expand every alias (a "billion laughs" default is gigabytes of text), and GitHub takes no
    # list or mapping there anyway.
    if not isinstance(kind, str) or not all(map(_scalar, [default, *options])):
        return None
    return DeclaredInput(
        name=name,
        type=kind,
        required=spec.get("required") is True,
        default=None if default is None else _text(default),
        options=tuple(_text(option) for option in options),
    )


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class JobNames:
    """The check run names one job of a workflow file can report, as GitHub names them.

    A job's check run is named by its `name:` (its id without one). A matrix job whose name has no
    expression gets its matrix values appended, `build (ubuntu-latest, 3.12)`, and a job that
    calls a reusable workflow reports one check per called job, `deploy / smoke-test` ("Using a
    matrix for your jobs"; "Reusing workflows": the caller's job name, then the called job's).
    `literal` is the one name when it is fixed; otherwise `pattern` is every name it may take,
    an expression standing for any text.
    """

    job_id: str
    literal: str | None
    pattern: re.Pattern[str]
    calls_workflow: bool = False  # `uses:` a reusable workflow, whose jobs report one by one
    shown: str = ""  # the names for a person: `vllm (${{ matrix.arch }})`, `operator (…)`

    def may_be(self, name: str) -> bool:
        """Whether a check run of this name may be this job's."""
        return self.pattern.fullmatch(name) is not None

    def describe(self) -> str:
        return self.literal if self.literal is not None else self.shown


def parse_workflow_jobs(text: str) -> tuple[JobNames, ...] | None:
    """The check names each job of a workflow file can report, or None if the file cannot be
    understood (the caller then knows nothing about the run's jobs)."""
    import yaml

    try:
        document = yaml.load(text, Loader=_workflow_loader())  # noqa: S506 # nosec B506 # a SafeLoader
    except yaml.YAMLError:
        return None
    jobs = document.get("jobs") if isinstance(document, Mapping) else None
    if not isinstance(jobs, Mapping):
        return None
    found: list[JobNames] = []
    for key, spec in jobs.items():
        if not isinstance(spec, Mapping):
            return None
        job_id = _text(key)
        name = spec.get("name")
        name = job_id if name is None else name
        if not _scalar(name):
            return None
        found.append(_job_names(job_id, _text(name), matrix="strategy" in spec, calls="uses" in spec))
    return tuple(found)


def _job_names(job_id: str, name: str, *, matrix: bool, calls: bool) -> JobNames:
    parts = _EXPRESSION.split(name)  # literal text, then expression, then literal text, ...
    templated = len(parts) > 1
    regex = "".join(re.escape(part) if i % 2 == 0 else ".*" for i, part in enumerate(parts))
    shown = name
    if matrix and not templated:
        regex += r"(?: \(.*\))?"  # GitHub appends the matrix values only to a name without `${{ }}`
        shown += " (…)"
    if calls:
        regex += " / .*"
        shown += " / …"
    fixed = not (templated or matrix or calls)
    return JobNames(job_id, name if fixed else None, re.compile(regex, re.DOTALL), calls, shown)
