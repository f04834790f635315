"""Every action the project ships, runs or shows is pinned by SHA to a release in the one pin table,
and none of those releases runs on Node 20 (src/wait_and_dispatch/support/action_pins.py says why).

The orchestrators `plan --emit-workflow` writes are held to the same table in
tests/examples/test_example_files.py, on every example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.action_pins import tool
from wait_and_dispatch import ACTION_REPOSITORY
from wait_and_dispatch.support.action_pins import CHECKOUT, PEERS, PINS, ActionPin

ROOT = Path(__file__).resolve().parents[1]
MIGRATION = tool.MIGRATION


@pytest.mark.parametrize("name", tool.shipped_files())
def test_every_uses_is_pinned_to_the_pin_tables_release(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    found, _ = tool.problems(name, text, tool.table_for(name))
    assert not found, "\n".join(found)


def test_the_tools_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    # What CONTRIBUTING.md and docs/action-pins.md tell a contributor to run.
    assert tool.main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "at_least"),
    [
        ("composite/action.yml", 2),
        (".github/workflows/ci.yml", 7),
        (".github/workflows/release.yml", 15),
        ("examples/004-orchestrator-per-environment/.github/workflows/terraform-dev.yml", 3),
        ("README.md", 3),
        ("docs/plans.md", 2),
        (MIGRATION, 8),
    ],
)
def test_the_check_reads_the_uses_of_each_kind_of_file(name: str, at_least: int) -> None:
    # A check that found nothing to check would pass whatever the files said.
    _, checked = tool.problems(name, (ROOT / name).read_text(encoding="utf-8"), tool.table_for(name))
    assert checked >= at_least


def test_a_node_20_release_an_unpinned_action_and_an_unknown_action_are_each_reported() -> None:
    text = (
        "steps:\n"
        "  - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
        "  - uses: actions/setup-python@v7\n"
        f"  - uses: {CHECKOUT.uses} # v7.0.0\n"
        "  - uses: someone/else@0123456789abcdef0123456789abcdef01234567 # v1.0.0\n"
        "  - uses: docker://python:3.12-slim\n"
        f"  - uses: {CHECKOUT.pinned}\n"
        f"  - uses: {ACTION_REPOSITORY}@v1\n"
        f"  - uses: {ACTION_REPOSITORY}/composite@main\n"
        "  - uses: ./composite\n"
    )
    found, checked = tool.problems("ci.yml", text)
    assert checked == 8
    assert [line.split(": uses: ")[0] for line in found] == [
        "ci.yml:2",  # checkout v4.2.2 runs on Node 20: not the table's
        "ci.yml:3",  # a tag
        "ci.yml:4",  # the table's SHA with another release's comment
        "ci.yml:5",  # not in the table
        "ci.yml:6",  # an image by tag
        "ci.yml:9",  # our own action by a branch
    ]


def test_peers_are_accepted_in_the_migration_guide_only() -> None:
    peer = next(iter(PEERS.values()))
    text = f"      - uses: {peer.pinned}\n"
    assert tool.problems(MIGRATION, text, tool.table_for(MIGRATION))[0] == []
    assert tool.problems("README.md", text, tool.table_for("README.md"))[0] != []


def test_prose_about_uses_is_not_read_as_a_uses_key() -> None:
    assert list(tool.uses_in("moving here is a rename of `uses:`; see `uses: ./` on Linux\n")) == []


@pytest.mark.parametrize("pin", PINS.values(), ids=list(PINS))
def test_every_pin_runs_on_node_24_or_is_not_javascript(pin: ActionPin) -> None:
    assert pin.runs in {"node24", "docker", "composite"}


@pytest.mark.parametrize("pin", [*PINS.values(), *PEERS.values()], ids=[*PINS, *PEERS])
def test_every_pin_is_a_full_sha_and_a_release_tag(pin: ActionPin) -> None:
    assert re.fullmatch(r"[0-9a-f]{40}", pin.sha)
    assert re.fullmatch(r"v\d+(\.\d+){0,2}", pin.version)


def test_the_tool_rewrites_any_ref_of_a_table_action_to_its_pin_and_leaves_the_rest() -> None:
    text = (
        "      - uses: actions/checkout@v4\n"
        "      - uses: 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683' # v4.2.2\n"
        "        uses: actions/cache/restore@v4 # restore only\n"
        f"      - uses: {ACTION_REPOSITORY}@v1\n"
        "      - uses: ./composite\n"
    )
    cache = PINS["actions/cache"]
    assert tool.rewrite(text) == (
        f"      - uses: {CHECKOUT.pinned}\n"
        f"      - uses: {CHECKOUT.pinned}\n"
        f"        uses: actions/cache/restore@{cache.sha} # {cache.version}\n"
        f"      - uses: {ACTION_REPOSITORY}@v1\n"
        "      - uses: ./composite\n"
    )


def test_no_action_is_both_run_by_the_project_and_a_peer() -> None:
    # The same repository in both tables could hold two pins that drift apart.
    assert not set(PINS) & set(PEERS)


def test_the_pins_page_lists_every_pin_of_the_table() -> None:
    page = (ROOT / "docs" / "action-pins.md").read_text(encoding="utf-8")
    for pin in [*PINS.values(), *PEERS.values()]:
        assert f"| {pin.repository} | {pin.version} | `{pin.sha}` | {pin.runs} |" in page


def test_a_zizmor_comment_after_the_version_is_kept_and_not_read_as_the_version() -> None:
    peer = next(iter(PEERS.values()))
    text = f"      - uses: {peer.pinned} # zizmor: ignore[archived-uses]\n"
    assert tool.problems(MIGRATION, text, tool.table_for(MIGRATION))[0] == []
    stale = f"      - uses: {peer.uses} # v0.0.1 # zizmor: ignore[archived-uses]\n"
    assert tool.rewrite(stale, tool.table_for(MIGRATION)) == text
