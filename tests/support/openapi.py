"""Check HTTP exchanges against GitHub's official OpenAPI description.

The description is tests/data/github-openapi/actions-subset.deref.json (see its NOTICE.md). Every
check returns human-readable violations; an empty list means the exchange conforms.

    spec = OpenApiSpec.load()
    spec.check_response("GET", "/repos/o/r/actions/runs/1", 200, headers, body)   # -> list[str]
    spec.check_request("POST", "/repos/o/r/actions/workflows/1/dispatches", body={"ref": "main"})
    assert_conforms(spec.check_requests_response(response))                        # raises

Where GitHub's description is silent about something GitHub does on every endpoint (generic error
statuses, conditional requests, the ``/repositories/{id}`` form of paths), the allowance is named
below with its source; nothing else is tolerated.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)

SPEC_FILE = Path(__file__).resolve().parent.parent / "data" / "github-openapi" / "actions-subset.deref.json"

# GitHub's description lists, per operation, mostly the success answers. GitHub documents that any
# REST endpoint may also answer these ("Troubleshooting the REST API" and "Rate limits for the REST
# API" on docs.github.com: 401 bad credentials, 403/429 forbidden or rate limited, 404 for missing
# or inaccessible resources, 422 validation failed, 400 unparsable body, 5xx server errors), and
# the recordings show them on operations that do not list them (422 on workflow dispatch, 404 on
# "get an artifact", 403 on "cancel a workflow run").
UNDOCUMENTED_CLIENT_ERRORS = frozenset({400, 401, 403, 404, 422, 429})
UNDOCUMENTED_SERVER_ERRORS = frozenset({500, 502, 503, 504})

# What GitHub's 4xx bodies look like on every endpoint: the description's "Basic Error" schema,
# plus `message`, which every recorded error carries.
BASIC_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "documentation_url": {"type": "string"},
        "url": {"type": "string"},
        "status": {"type": "string"},
    },
}

# Error answers the description lists without a body, which GitHub sends with its error body:
# `git/delete-ref` 422 "Reference does not exist" (googleapis/github-repo-automation#138,
# jcabi/jcabi-github#1335).
ERRORS_DESCRIBED_WITHOUT_BODY = frozenset({("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", 422)})

# Conditional requests: any GET may answer 304 Not Modified with an empty body ("Best practices
# for using the REST API", docs.github.com); the description lists 304 only on a few operations.
CONDITIONAL_METHODS = frozenset({"GET", "HEAD"})

# Documented response headers that GitHub sends only sometimes: `Link` only when there is more
# than one page ("Using pagination in the REST API", docs.github.com).
OPTIONAL_DOCUMENTED_HEADERS = frozenset({"link"})

LINK_HEADER = re.compile(
    r'^<[^<>\s]+>; rel="(?:next|prev|first|last)"(?:, <[^<>\s]+>; rel="(?:next|prev|first|last)")*$'
)

# GitHub's own `Link` headers point at `/repositories/{repository_id}/...`, the same operations
# under the repository's id (see Artifact.testGetArtifactsFromRepoWithName); the description only
# has the `/repos/{owner}/{repo}/...` spelling.
_REPOSITORIES_BY_ID = re.compile(r"^/repositories/(\d+)(?=/|$)")

# GitHub Enterprise Server serves the same API under /api/v3.
_GHES_PREFIX = "/api/v3"

JsonBody = Any
"""A response or request body: raw bytes/str (parsed as JSON when not empty) or a parsed value."""

_NO_BODY = object()


@dataclass(frozen=True)
class Operation:
    """One method on one templated path of the description."""

    method: str
    template: str
    spec: Mapping[str, Any]
    pattern: re.Pattern[str]
    literal_segments: int

    @property
    def operation_id(self) -> str:
        return str(self.spec.get("operationId", f"{self.method} {self.template}"))

    @property
    def parameters(self) -> list[Mapping[str, Any]]:
        return list(self.spec.get("parameters", []))

    def parameters_in(self, location: str) -> dict[str, Mapping[str, Any]]:
        return {param["name"]: param for param in self.parameters if param.get("in") == location}

    @property
    def responses(self) -> Mapping[str, Any]:
        responses: Mapping[str, Any] = self.spec.get("responses", {})
        return responses

    def response(self, status: int) -> Mapping[str, Any] | None:
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.responses:
                found: Mapping[str, Any] = self.responses[key]
                return found
        return None

    def response_schema(self, status: int) -> Mapping[str, Any] | None:
        response = self.response(status)
        if response is None:
            return None
        return _json_schema(response.get("content"))

    def with_api_version(self, api_version: str | None) -> Operation:
        """The operation as GitHub serves it under `X-GitHub-Api-Version: api_version`.

        The description carries later versions as JSON patches (`x-github-breaking-changes`); a
        request that names a version gets every patch up to and including it.
        """
        changes = self.spec.get("x-github-breaking-changes", [])
        if api_version is None or not changes:
            return self
        patched: dict[str, Any] = copy.deepcopy(dict(self.spec))
        for change in sorted(changes, key=lambda change: str(change["version"])):
            if str(change["version"]) <= api_version:
                for patch in change["patch"]:
                    _apply_json_patch(patched, patch)
        return Operation(self.method, self.template, patched, self.pattern, self.literal_segments)


def _json_schema(content: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not content:
        return None
    for media_type, description in content.items():
        if media_type.startswith("application/json") or media_type.endswith("+json"):
            schema: Mapping[str, Any] | None = description.get("schema")
            return schema
    return None


def _apply_json_patch(document: dict[str, Any], patch: Mapping[str, Any]) -> None:
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in str(patch["path"]).split("/")[1:]
    ]
    target: Any = document
    for part in parents:
        target = target[part]
    if patch["op"] == "remove":
        target.pop(last, None)
    elif patch["op"] in ("add", "replace"):
        target[last] = copy.deepcopy(patch["value"])
    else:
        raise ValueError(f"unsupported JSON patch operation {patch['op']!r}")


def documented_properties(schema: Mapping[str, Any] | None) -> set[str]:
    """The property names a schema documents, through allOf/anyOf/oneOf."""
    if not schema:
        return set()
    names = set(schema.get("properties", {}))
    for combinator in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(combinator, []):
            names |= documented_properties(branch)
    return names


def required_properties(schema: Mapping[str, Any] | None) -> set[str]:
    if not schema:
        return set()
    names = set(schema.get("required", []))
    for branch in schema.get("allOf", []):
        names |= required_properties(branch)
    return names


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    # A file's `{path}` in the contents API spans folders (".github/workflows/ci.yml"), and so does a
    # git ref (`git/ref/tags/v1`); every other parameter is one segment.
    spans = {"{path}", "{ref}"} if "/git/" in template else {"{path}"}
    regex = "".join(
        (f"(?P<{part[1:-1]}>.+)" if part in spans else f"(?P<{part[1:-1]}>[^/]+)")
        if part.startswith("{")
        else re.escape(part)
        for part in parts
    )
    return re.compile(f"^{regex}$")


def _split(path_with_query: str) -> tuple[str, dict[str, list[str]]]:
    split = urlsplit(path_with_query)
    path = split.path or "/"
    if path.startswith(_GHES_PREFIX + "/"):
        path = path[len(_GHES_PREFIX) :]
    path = _REPOSITORIES_BY_ID.sub("/repos/repository-by-id/\\1", path)
    return path, parse_qs(split.query, keep_blank_values=True)


def _decode_body(body: JsonBody) -> tuple[Any, str | None]:
    """(parsed value or _NO_BODY, error)."""
    if body is None:
        return _NO_BODY, None
    if isinstance(body, bytes | bytearray):
        if not body.strip():
            return _NO_BODY, None
        try:
            return json.loads(body), None
        except ValueError as error:
            return _NO_BODY, f"body is not JSON ({error}): {bytes(body[:120])!r}"
    if isinstance(body, str):
        if not body.strip():
            return _NO_BODY, None
        try:
            return json.loads(body), None
        except ValueError as error:
            return _NO_BODY, f"body is not JSON ({error}): {body[:120]!r}"
    return body, None


def _schema_errors(validator_class: Any, schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
    validator = validator_class(schema, format_checker=oas30_format_checker)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(value), key=lambda error: list(map(str, error.absolute_path))):
        location = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
        )
        message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
        problems.append(f"{where}{location}: {message}")
    return problems


def _header_lookup(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(name).lower(): str(value) for name, value in items}


def _coerce_parameter(value: str, schema: Mapping[str, Any]) -> Any:
    """A query or path parameter as the type its schema names (values arrive as text)."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean":
        # GitHub reads booleans in queries loosely: the recordings send `exclude_pull_requests=1`
        # (PullRequest2408.test_get_workflow_runs) and GitHub honours it.
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    if "oneOf" in schema:
        for branch in schema["oneOf"]:
            coerced = _coerce_parameter(value, branch)
            if not isinstance(coerced, str) or branch.get("type") == "string":
                return coerced
    return value


def _without_formats(schema: Mapping[str, Any]) -> dict[str, Any]:
    # Query parameters such as `created` are typed `format: date-time` but documented as GitHub
    # search syntax (`>=2026-01-01`, `2022-12-24`, `A..B`): the format is prose, not a rule.
    return {key: value for key, value in schema.items() if key != "format"}


def _admit_null_in_nullable_enums(node: Any) -> Any:
    """A copy of a schema where `nullable: true` admits null even beside an `enum`.

    OpenAPI 3.0.3 says `nullable: true` adds null to the allowed values, but a strict reading
    (and openapi-schema-validator) still rejects null when an `enum` does not list it. GitHub's
    description means null: job and check run `conclusion` is `nullable` with an enum of outcomes,
    and is null until the job completes ("Get a job for a workflow run", docs.github.com).
    """
    if isinstance(node, list):
        return [_admit_null_in_nullable_enums(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _admit_null_in_nullable_enums(value) for key, value in node.items()}
    if copied.get("nullable") is True and isinstance(copied.get("enum"), list) and None not in copied["enum"]:
        copied["enum"] = [*copied["enum"], None]
    return copied


class OpenApiSpec:
    """GitHub's OpenAPI description, indexed for matching concrete requests to operations."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        document = _admit_null_in_nullable_enums(document)
        self.document = document
        operations: list[Operation] = []
        for template, item in document.get("paths", {}).items():
            shared = list(item.get("parameters", []))
            for method, spec in item.items():
                if method in ("parameters", "summary", "description", "servers"):
                    continue
                merged = dict(spec)
                if shared:
                    names = {(param["name"], param["in"]) for param in spec.get("parameters", [])}
                    merged["parameters"] = [
                        *spec.get("parameters", []),
                        *(param for param in shared if (param["name"], param["in"]) not in names),
                    ]
                literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
                operations.append(
                    Operation(method.upper(), template, merged, _template_pattern(template), literal)
                )
        # Literal segments beat parameters: `/runs/{id}/jobs` before `/runs/{id}/{anything}`.
        self.operations = sorted(operations, key=lambda op: (-op.literal_segments, op.template))

    @classmethod
    def load(cls, path: Path = SPEC_FILE) -> OpenApiSpec:
        return _load_spec(path)

    def check_webhook(self, name: str, payload: Any) -> list[str]:
        """Violations of the description's webhook `name` (`workflow-run-completed`, under
        `x-webhooks`) by an event payload, as GitHub sends it and writes it to a job's
        GITHUB_EVENT_PATH (empty: it conforms)."""
        webhook = self.document.get("x-webhooks", {}).get(name)
        if webhook is None:
            return [f"no webhook {name!r} in the description"]
        schema = webhook["post"]["requestBody"]["content"]["application/json"]["schema"]
        return _schema_errors(OAS30ReadValidator, schema, payload, f"{name} payload")

    # -- finding operations ---------------------------------------------------------------

    def operation(self, method: str, template: str) -> Operation:
        """The operation for a templated path, e.g. ("GET", "/repos/{owner}/{repo}")."""
        for operation in self.operations:
            if operation.method == method.upper() and operation.template == template:
                return operation
        raise KeyError(f"{method} {template} is not in the description")

    def find_operation(self, method: str, path_with_query: str) -> Operation | None:
        """The operation a concrete path is an instance of, or None."""
        path, _ = _split(path_with_query)
        for operation in self.operations:
            if operation.method != method.upper():
                continue
            match = operation.pattern.match(path)
            if match and not self._path_parameter_problems(operation, match.groupdict()):
                return operation
        return None

    def covers(self, method: str, path_with_query: str) -> bool:
        return self.find_operation(method, path_with_query) is not None

    def templates(self) -> set[tuple[str, str]]:
        return {(operation.method, operation.template) for operation in self.operations}

    @staticmethod
    def _path_parameter_problems(operation: Operation, values: Mapping[str, str]) -> list[str]:
        problems = []
        declared = operation.parameters_in("path")
        for name, value in values.items():
            schema = declared.get(name, {}).get("schema", {"type": "string"})
            problems += _schema_errors(
                OAS30WriteValidator, _without_formats(schema), _coerce_parameter(value, schema), name
            )
        return problems

    # -- responses ------------------------------------------------------------------------

    def check_response(
        self,
        method: str,
        path_with_query: str,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
        body: JsonBody,
        *,
        api_version: str | None = None,
    ) -> list[str]:
        """Violations of the description by one answer (empty: it conforms).

        `body` is the raw body (bytes/str, empty for none) or an already parsed JSON value.
        `api_version` is the request's `X-GitHub-Api-Version`, if it sent one.
        """
        where = f"{method.upper()} {path_with_query} -> {status}"
        found = self.find_operation(method, path_with_query)
        if found is None:
            return [f"{where}: no operation in the description matches this path"]
        operation = found.with_api_version(api_version)
        header_values = _header_lookup(headers)
        value, decode_error = _decode_body(body)
        problems: list[str] = []

        if status == 304 and method.upper() in CONDITIONAL_METHODS:
            if value is not _NO_BODY or decode_error:
                problems.append(f"{where}: 304 Not Modified must have an empty body")
            return problems

        response = operation.response(status)
        if response is None:
            return problems + self._check_undocumented_error(where, operation, status, value, decode_error)

        problems += self._check_documented_headers(where, response, status, header_values)
        schema = _json_schema(response.get("content"))
        if schema is None and (method.upper(), operation.template, status) in ERRORS_DESCRIBED_WITHOUT_BODY:
            return problems + self._check_undocumented_error(where, operation, status, value, decode_error)
        if schema is None:
            if value is not _NO_BODY or decode_error:
                problems.append(f"{where}: the description documents no body for {status}, got one")
            return problems
        if decode_error:
            return [*problems, f"{where}: {decode_error}"]
        if value is _NO_BODY:
            return [*problems, f"{where}: the description documents a JSON body for {status}, got none"]
        if headers is not None and "json" not in header_values.get("content-type", ""):
            problems.append(f"{where}: Content-Type {header_values.get('content-type')!r} for a JSON body")
        return problems + _schema_errors(OAS30ReadValidator, schema, value, f"{where}: body")

    def _check_undocumented_error(
        self, where: str, operation: Operation, status: int, value: Any, decode_error: str | None
    ) -> list[str]:
        documented = sorted(operation.responses)
        if status in UNDOCUMENTED_SERVER_ERRORS:
            return []  # 5xx bodies come from GitHub's front ends and have no fixed shape.
        if status not in UNDOCUMENTED_CLIENT_ERRORS:
            return [f"{where}: status {status} is not documented for {operation.operation_id} ({documented})"]
        if decode_error:
            return [f"{where}: {decode_error}"]
        if value is _NO_BODY:
            return [f"{where}: a {status} error without the JSON error body GitHub sends"]
        return _schema_errors(OAS30ReadValidator, BASIC_ERROR_SCHEMA, value, f"{where}: error body")

    @staticmethod
    def _check_documented_headers(
        where: str, response: Mapping[str, Any], status: int, headers: Mapping[str, str]
    ) -> list[str]:
        problems: list[str] = []
        for name, description in response.get("headers", {}).items():
            lowered = name.lower()
            if lowered not in headers:
                if lowered not in OPTIONAL_DOCUMENTED_HEADERS:
                    problems.append(f"{where}: missing the documented header {name}")
                continue
            value = headers[lowered]
            schema = description.get("schema", {})
            problems += _schema_errors(
                OAS30ReadValidator,
                _without_formats(schema),
                _coerce_parameter(value, schema),
                f"{where}: header {name}",
            )
            if lowered == "link" and not LINK_HEADER.match(value):
                problems.append(f"{where}: Link header not in GitHub's format: {value!r}")
        if 300 <= status < 400 and status != 304 and "location" not in headers:
            problems.append(f"{where}: a {status} redirect without Location")
        return problems

    def check_requests_response(self, response: requests.Response) -> list[str]:
        """`check_response` for an answer received with `requests` (or PyGithub's session)."""
        request = response.request
        api_version = request.headers.get("X-GitHub-Api-Version")
        return self.check_response(
            str(request.method),
            str(request.url),
            response.status_code,
            response.headers,
            response.content,
            api_version=api_version,
        )

    # -- requests -------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        path_with_query: str,
        query: Mapping[str, str | Sequence[str]] | None = None,
        body: JsonBody = None,
        *,
        api_version: str | None = None,
    ) -> list[str]:
        """Violations of the description by one request: path, query parameters and body.

        `query` adds to any query string in `path_with_query`.
        """
        where = f"{method.upper()} {path_with_query}"
        found = self.find_operation(method, path_with_query)
        if found is None:
            return [f"{where}: no operation in the description matches this path"]
        operation = found.with_api_version(api_version)
        _, parsed_query = _split(path_with_query)
        for name, values in (query or {}).items():
            parsed_query.setdefault(name, []).extend([values] if isinstance(values, str) else values)

        problems: list[str] = []
        declared = operation.parameters_in("query")
        for name, values in parsed_query.items():
            if name not in declared:
                problems.append(f"{where}: query parameter {name!r} is not documented ({sorted(declared)})")
                continue
            schema = declared[name].get("schema", {})
            for value in values:
                problems += _schema_errors(
                    OAS30WriteValidator,
                    _without_formats(schema),
                    _coerce_parameter(value, schema),
                    f"{where}: query {name}",
                )
        for name, param in declared.items():
            if param.get("required") and name not in parsed_query:
                problems.append(f"{where}: required query parameter {name!r} missing")

        value, decode_error = _decode_body(body)
        request_body = operation.spec.get("requestBody")
        if decode_error:
            problems.append(f"{where}: request {decode_error}")
        elif request_body is None:
            if value is not _NO_BODY:
                problems.append(f"{where}: the description documents no request body, got one")
        elif value is _NO_BODY:
            if request_body.get("required"):
                problems.append(f"{where}: the description requires a request body")
        else:
            schema = _json_schema(request_body.get("content"))
            if schema is not None:
                problems += _schema_errors(OAS30WriteValidator, schema, value, f"{where}: request body")
        return problems


@cache
def _load_spec(path: Path) -> OpenApiSpec:
    return OpenApiSpec(json.loads(path.read_text(encoding="utf-8")))


def assert_conforms(violations: Sequence[str], what: str = "the exchange") -> None:
    """Fail with every violation listed, one per line."""
    if violations:
        listing = "\n  ".join(violations)
        raise AssertionError(f"{what} does not conform to GitHub's OpenAPI description:\n  {listing}")
