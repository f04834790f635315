"""docs/MIGRATION.md says what the action does with each peer action's names: every row checked.

For each peer section: the "before" step(s), given to our action under the peer's names, give the
same settings as the documented "after" step(s); and each row of the peer's input table does what
it says, given on top of the "after" step: an alias gives the same settings as its "after" inputs,
a "no effect" row changes nothing and says so in a notice, a "warning" row changes nothing and
warns, an "error" row fails the step with a usage error. The input values go through the action
edge (`INPUT_*` variables, `RunnerChannel.inputs`, `read_inputs`) into `read_settings`, exactly as in a
step. The tables must list every input and output of the peer's action.yml (`PEER_INPUTS`,
`PEER_OUTPUTS`, taken from each action.yml at the release named there), and every alias of
step/peer_names.py must appear in the table of its peers.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.runner_contract import commands_in
from wait_and_dispatch import ACTION_REPOSITORY
from wait_and_dispatch.action.main import default_sha, read_inputs
from wait_and_dispatch.action.runner import RunnerChannel
from wait_and_dispatch.step import aliases
from wait_and_dispatch.step.catalogue import INPUT_NAMES, INPUTS, OUTPUT_NAMES
from wait_and_dispatch.step.peer_names import (
    ALIASES,
    AWAIT_REMOTE_RUN,
    BENC_UK,
    CONVICTIONAL,
    DAWIDD6,
    DOWNLOAD_ARTIFACT,
    FOUNTAINHEAD,
    LASITH_KG,
    LEWAGON,
    OUTPUT_ALIASES,
    PEER_VALUES,
    PEERS,
    PETER_EVANS,
    POSEIDON,
    RETURN_DISPATCH,
    THE_ACTIONS_ORG,
)
from wait_and_dispatch.step.settings import CONFLICTS, JobSettings, read_settings
from wait_and_dispatch.support.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
MIGRATION = (ROOT / "docs" / "MIGRATION.md").read_text(encoding="utf-8")
RUNNER_ENV = {
    "GITHUB_REPOSITORY": "octo-org/app",
    "GITHUB_REPOSITORY_OWNER": "octo-org",
    "GITHUB_SHA": "c0ffee0000000000000000000000000000000000",
    "GITHUB_JOB": "enforce-all-checks",  # the job id of the poseidon section, whose check it ignores
}

# Every input and output of each peer's action.yml, at the release in step/peer_names.py's comment
# (return-dispatch: v4.0.1 plus v3.0.3's three more inputs; await-remote-run: v3.0.0), and the
# outputs a peer's code sets without declaring them (lasith-kg's src/index.ts, fountainhead's
# and poseidon's src/main.ts).
PEER_INPUTS = {
    LEWAGON: {
        "allowed-conclusions",
        "ignore-checks",
        "check-name",
        "check-regexp",
        "ref",
        "repo-token",
        "wait-interval",
        "api-endpoint",
        "running-workflow-name",
        "verbose",
        "fail-on-no-checks",
        "checks-discovery-timeout",
        "wait-for-duplicates",
        "bundler-cache",
    },
    DOWNLOAD_ARTIFACT: {
        "name",
        "artifact-ids",
        "path",
        "pattern",
        "merge-multiple",
        "github-token",
        "repository",
        "run-id",
        "skip-decompress",
        "digest-mismatch",
    },
    RETURN_DISPATCH: {
        "token",
        "ref",
        "repo",
        "owner",
        "workflow",
        "workflow_inputs",
        "workflow_timeout_seconds",
        "workflow_job_steps_retry_seconds",
        "distinct_id",
    },
    AWAIT_REMOTE_RUN: {
        "token",
        "repo",
        "owner",
        "run_id",
        "jobs",
        "run_timeout_seconds",
        "cancel_timeout_seconds",
        "poll_interval_ms",
    },
    THE_ACTIONS_ORG: {
        "workflow",
        "token",
        "inputs",
        "ref",
        "repo",
        "run-name",
        "display-workflow-run-url",
        "display-workflow-run-url-interval",
        "display-workflow-run-url-timeout",
        "wait-for-completion",
        "wait-for-completion-timeout",
        "wait-for-completion-interval",
        "workflow-logs",
    },
    BENC_UK: {
        "workflow",
        "token",
        "inputs",
        "ref",
        "repo",
        "wait-for-completion",
        "wait-timeout-seconds",
        "sync-status",
    },
    DAWIDD6: {
        "github_token",
        "workflow",
        "workflow_search",
        "workflow_conclusion",
        "repo",
        "pr",
        "commit",
        "branch",
        "ref",
        "event",
        "run_id",
        "run_number",
        "name",
        "name_is_regexp",
        "path",
        "allow_forks",
        "check_artifacts",
        "search_artifacts",
        "skip_unpack",
        "dry_run",
        "if_no_artifact_found",
        "use_unzip",
        "merge_multiple",
    },
    CONVICTIONAL: {
        "owner",
        "repo",
        "github_token",
        "github_user",
        "ref",
        "wait_interval",
        "workflow_file_name",
        "client_payload",
        "propagate_failure",
        "trigger_workflow",
        "wait_workflow",
        "comment_downstream_url",
        "comment_github_token",
    },
    LASITH_KG: {
        "dispatch-method",
        "repo",
        "owner",
        "token",
        "ref",
        "workflow",
        "event-type",
        "workflow-inputs",
        "discover",
        "starting-delay-ms",
        "max-attempts",
        "time-multiple",
    },
    FOUNTAINHEAD: {"token", "checkName", "ref", "repo", "owner", "timeoutSeconds", "intervalSeconds"},
    POSEIDON: {"token", "interval", "timeout", "delay", "match_pattern", "ignore_pattern", "ignore"},
    PETER_EVANS: {"token", "repository", "event-type", "client-payload"},
}
PEER_OUTPUTS = {
    LEWAGON: set(),
    DOWNLOAD_ARTIFACT: {"download-path"},
    RETURN_DISPATCH: {"run_id", "run_url"},
    AWAIT_REMOTE_RUN: set(),
    THE_ACTIONS_ORG: {"workflow-conclusion", "workflow-id", "workflow-url", "workflow-logs"},
    BENC_UK: {"runId", "runUrl", "runUrlHtml", "workflowId"},
    DAWIDD6: {"error_message", "dry_run", "found_artifact", "artifacts"},
    CONVICTIONAL: {"workflow_id", "workflow_url", "conclusion"},
    LASITH_KG: {"run-id", "run-url"},
    FOUNTAINHEAD: {"conclusion"},
    POSEIDON: {"time"},
    PETER_EVANS: set(),
}


# -- reading MIGRATION.md ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    peer: str
    before: dict[str, str]
    after: dict[str, str]
    effect: str  # "alias" (after holds inputs), or what the after cell says: no effect, warning, error
    text: str

    def __str__(self) -> str:
        return self.text


def sections() -> dict[str, str]:
    parts = MIGRATION.split("\n## From ")[1:]
    return {part.split("\n", 1)[0]: part for part in parts}


def yaml_blocks(markdown: str) -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"^```ya?ml\n(.*?)^```", markdown, re.M | re.S)]


def steps_of(workflow: Any) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]


def tables(section: str) -> list[tuple[list[str], list[list[str]]]]:
    found = []
    for table in re.findall(r"(?:^\|.*\n)+", section, re.MULTILINE):
        lines = table.splitlines()
        split = [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in lines]
        found.append((split[0], split[2:]))
    return found


def code_pairs(cell: str) -> dict[str, str]:
    """`key: value` code spans of a cell, as the values `with:` would give."""
    pairs: dict[str, str] = {}
    for span in re.findall(r"`([^`]+)`", cell):
        loaded = yaml.safe_load(span)
        assert isinstance(loaded, dict) and len(loaded) == 1, f"not a `key: value` span: {span!r}"
        ((key, value),) = loaded.items()
        pairs[str(key)] = with_text(value)
    return pairs


def with_text(value: Any) -> str:
    """A `with:` value as the runner passes it: YAML's booleans lower-case, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def input_rows() -> list[Row]:
    rows = []
    for section in sections().values():
        for header, body in tables(section):
            if header[0] not in PEERS:
                continue
            for cells in body:
                before, after_cell = code_pairs(cells[0]), cells[1]
                effect = "alias" if "`" in after_cell or after_cell == "nothing" else after_cell
                after = code_pairs(after_cell) if effect == "alias" else {}
                rows.append(Row(header[0], before, after, effect, f"{header[0]}: {cells[0]} -> {after_cell}"))
    return rows


def output_rows() -> list[tuple[str, str, str]]:
    rows = []
    for section in sections().values():
        for header, body in tables(section):
            peer = header[0].removesuffix(" output")
            if header[0].endswith(" output") and peer in PEERS:
                rows += [(peer, cells[0].strip("`"), cells[1]) for cells in body]
    return rows


def before_and_after() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(peer, before step, after step) pairs, in each section's order."""
    pairs = []
    for title, section in sections().items():
        before, after = yaml_blocks(section)[:2]
        peer_steps = [s for s in steps_of(before) if s["uses"].split("@")[0] in PEERS]
        our_steps = [s for s in steps_of(after) if s["uses"].startswith(f"{ACTION_REPOSITORY}@")]
        if not peer_steps:  # actions/github-script: a script, not inputs to rename
            continue
        assert len(peer_steps) == len(our_steps), title
        pairs += [(p["uses"].split("@")[0], p, o) for p, o in zip(peer_steps, our_steps, strict=True)]
    return pairs


def after_step_for(peer: str) -> dict[str, str]:
    (after,) = [o for p, _, o in [(p, b, a) for p, b, a in before_and_after()] if p == peer]
    return {k: with_text(v) for k, v in after.get("with", {}).items()}


# -- the action edge ------------------------------------------------------------------------------


def evaluate(value: str) -> str:
    """`${{ expression }}` as a stable made-up value; a peer's output name reads as the output it
    aliases (`steps.x.outputs.run_id` is `steps.x.outputs.run-id`), as both are written."""
    named = {alias.name: alias.value for alias in OUTPUT_ALIASES}

    def replace(match: re.Match[str]) -> str:
        expression = re.sub(r"(outputs\.)([\w-]+)", lambda m: m[1] + named.get(m[2], m[2]), match[1].strip())
        return str(zlib.crc32(expression.encode()))

    return re.sub(r"\$\{\{(.*?)\}\}", replace, value)


def runner_default(default: str) -> str:
    expressions = {
        "${{ github.token }}": "the-github-token",
        "${{ github.repository }}": RUNNER_ENV["GITHUB_REPOSITORY"],
        "${{ github.api_url }}": "https://api.github.com",
        "${{ job.check_run_id }}": "51725241954",  # docs "Contexts", the job context's example
    }
    return expressions.get(default, default)


@dataclass
class Read:
    settings: JobSettings
    token: str | None
    api_url: str
    stdout: str

    @property
    def same(self) -> tuple[JobSettings, str | None, str]:
        return self.settings, self.token, self.api_url


def read(with_: dict[str, str]) -> Read:
    # The runner passes action.yml's default for every input the step leaves out.
    env = {
        **RUNNER_ENV,
        **{item.env_names[0]: runner_default(item.default) for item in INPUTS if item.default},
    }
    for name, value in with_.items():
        env[f"INPUT_{name.upper()}"] = evaluate(value)
    stdout = io.StringIO()
    values, token = read_inputs(RunnerChannel(env, stdout), env)
    settings = read_settings(values, default_sha=default_sha(env, values["repository"]))
    return Read(settings, token, values.get("api-url", ""), stdout.getvalue())


# -- the checks -------------------------------------------------------------------------------------


def test_migration_has_a_section_per_peer_with_a_before_and_an_after_workflow() -> None:
    titles = list(sections())
    for peer in PEERS:
        assert any(peer in title for title in titles), f"docs/MIGRATION.md has no section for {peer}"
    for title, section in sections().items():
        blocks = yaml_blocks(section)
        assert len(blocks) >= 2 and all("jobs" in block for block in blocks[:2]), title
        for step in [s for s in steps_of(blocks[1]) if s["uses"].startswith(ACTION_REPOSITORY)]:
            assert re.fullmatch(rf"{re.escape(ACTION_REPOSITORY)}(/composite)?@v\d+", step["uses"])
            assert set(step.get("with", {})) <= set(INPUT_NAMES), f"{title}: the after step uses old names"


@pytest.mark.parametrize(("peer", "before", "after"), before_and_after(), ids=lambda x: str(x)[:40])
def test_the_before_step_under_the_peers_names_reads_as_the_after_step(
    peer: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    assert set(before.get("with", {})) <= PEER_INPUTS[peer], "the before step uses inputs the peer lacks"
    old = read({k: with_text(v) for k, v in before["with"].items()})
    new = read({k: with_text(v) for k, v in after["with"].items()})
    assert old.same == new.same


@pytest.mark.parametrize("row", input_rows(), ids=str)
def test_each_input_row_does_what_the_table_says(row: Row) -> None:
    assert set(row.before) <= PEER_INPUTS[row.peer], f"{row.peer} has no input {sorted(row.before)}"
    after_step = after_step_for(row.peer)
    # The after step's inputs that the row's would conflict with (lasith-kg's repository_dispatch
    # row against its workflow_dispatch step: event-type and inputs) are not part of the row's step.
    clashing = {
        other
        for rule in CONFLICTS
        for name, other in ((rule.first, rule.second), (rule.second, rule.first))
        if name in row.after
    }
    base = {
        k: v
        for k, v in after_step.items()
        if k not in row.after and k not in row.before and k not in clashing
    }
    if row.effect == "error":
        with pytest.raises(UsageError):
            read({**base, **row.before})
        return
    old = read({**base, **row.before})
    new = read({**base, **row.after})
    assert old.same == new.same
    commands = commands_in(old.stdout)
    if row.effect == "warning":
        assert [c for c in commands if c.name == "warning" and "not supported" in c.message], old.stdout
    elif row.effect == "no effect":
        assert [c for c in commands if c.name == "notice" and "no effect" in c.message], old.stdout
    else:
        assert row.effect == "alias", f"unknown effect {row.effect!r} (alias, no effect, warning or error)"
        assert not [c for c in commands if c.name == "warning"], old.stdout


@pytest.mark.parametrize("peer", PEERS)
def test_the_tables_list_every_input_and_output_of_the_peer(peer: str) -> None:
    rows = [row for row in input_rows() if row.peer == peer]
    assert {name for row in rows for name in row.before} == PEER_INPUTS[peer]
    assert {name for p, name, _ in output_rows() if p == peer} == PEER_OUTPUTS[peer]


def test_every_alias_is_in_the_table_of_each_of_its_peers() -> None:
    documented = {(row.peer, name) for row in input_rows() for name in row.before}
    for alias in ALIASES:
        for peer in alias.peers:
            assert (peer, alias.name) in documented, f"{alias.name} is not in the {peer} table"
            assert alias.name in PEER_INPUTS[peer], f"{peer}'s action.yml has no input {alias.name}"


@pytest.mark.parametrize(("peer", "name", "ours"), output_rows(), ids=lambda x: str(x)[:40])
def test_each_output_row_names_the_output_written_under_the_peers_name(
    peer: str, name: str, ours: str
) -> None:
    written = {alias.name: alias for alias in OUTPUT_ALIASES}
    if ours == "not written":
        assert name not in written and name not in OUTPUT_NAMES
    elif ours == f"`{name}`":
        assert name in OUTPUT_NAMES  # the same name as ours
    elif ours.startswith("`"):
        assert written[name].value == ours.strip("`") and ours.strip("`") in OUTPUT_NAMES
        assert peer in written[name].peers
    else:
        assert written[name].value in PEER_VALUES and peer in written[name].peers


def test_every_alias_has_a_form_the_translation_knows() -> None:
    for alias in ALIASES:
        if alias.input is None:
            assert alias.form.partition(":")[0] in aliases.NO_EQUIVALENT, alias
        else:
            assert alias.form in aliases.FORMS and alias.input in INPUT_NAMES, alias
        assert alias.name not in INPUT_NAMES, f"{alias.name} is already an input"
        for name, _ in alias.implies:
            assert name in INPUT_NAMES
    assert len({alias.name for alias in ALIASES}) == len(ALIASES)


def test_a_lewagon_step_without_check_name_waits_for_every_other_check() -> None:
    # lewagon's "Wait for all checks (except current workflow)": ref and running-workflow-name only.
    old = read({"ref": "main", "running-workflow-name": "Publish the package"})
    new = read({"ref": "main", "ignore-checks": "Publish the package"})

    assert old.same == new.same
    assert old.settings.mode == "checks"
    assert old.settings.checks is not None
    assert (old.settings.checks.names, old.settings.checks.regex) == ((), None)
    assert old.settings.checks.ignore == ("Publish the package",)


def test_a_lewagon_check_name_of_a_matrix_job_stays_one_name() -> None:
    # GitHub names a matrix job's check `build (ubuntu-latest, 3.12)`; lewagon waits for that one.
    old = read({"ref": "main", "check-name": "build (ubuntu-latest, 3.12)"})
    new = read({"ref": "main", "checks": "build (ubuntu-latest, 3.12)"})

    assert old.same == new.same
    assert old.settings.checks is not None
    assert old.settings.checks.names == ("build (ubuntu-latest, 3.12)",)
    ignored = read({"ref": "main", "running-workflow-name": "wait (ubuntu-latest, 3.12)"})
    assert ignored.settings.checks is not None
    assert ignored.settings.checks.ignore == ("wait (ubuntu-latest, 3.12)",)
