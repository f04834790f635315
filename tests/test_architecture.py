"""The layers of ARCHITECTURE.md, held by the code: every import (module level, in a function, or
under TYPE_CHECKING) goes down the layer order or stays in its layer, no two packages import each
other, and the emulator is imported only by the tests, the demo and its own command.

Read from the sources with `ast`, so nothing is imported and no import can hide behind a lazy one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "wait_and_dispatch"
NAME = "wait_and_dispatch"

# Lowest first; a module may import its own layer and the layers below it. The GitHub API layer
# is `github_api` (a module or a package) with the poll governor, wherever it lives.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("support", ("wait_and_dispatch", "wait_and_dispatch.support")),
    ("api", ("wait_and_dispatch.github_api", "wait_and_dispatch.engine.polling")),
    ("engine", ("wait_and_dispatch.engine",)),
    ("step", ("wait_and_dispatch.step",)),
    ("plans", ("wait_and_dispatch.plans",)),
    ("session", ("wait_and_dispatch.session",)),
    ("edge", ("wait_and_dispatch.action", "wait_and_dispatch.cli")),
    ("program", ("wait_and_dispatch.program", "wait_and_dispatch.__main__")),
)
EMULATOR = "wait_and_dispatch.emulator"
# Beside the layers: imported by the tests, the demo and its own command (`cli.main` starts it
# for `wait-and-dispatch emulator`); it may import support only.
EMULATOR_USERS = ("wait_and_dispatch.cli.demo", "wait_and_dispatch.cli.main")
# The two edges: neither imports the other (program.py joins them).
EDGES = ("wait_and_dispatch.action", "wait_and_dispatch.cli")


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the most specific prefix the module falls under (None: no layer).
    The package root alone is support (`__version__`, `USER_AGENT`), not everything below it."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix if prefix == NAME else within(module, prefix)
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return None if best is None else best[0]


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported (for `from X import name`, X.name when that is a module)
    line: int


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> Iterator[Import]:
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    yield from imports_in(path.read_text(encoding="utf-8"), source, package)


def imports_in(text: str, source: str, package: str) -> Iterator[Import]:
    """Every import of our package in the text, wherever it stands (ast.walk visits function
    bodies and `if TYPE_CHECKING:` blocks too); relative imports resolved against `package`."""
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if within(alias.name, NAME):
                    yield Import(source, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not within(target, NAME):
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield Import(source, submodule if is_module(submodule) else target, node.lineno)


def all_imports() -> list[Import]:
    return [found for path in sorted(PACKAGE.rglob("*.py")) for found in imports_of(path)]


def modules() -> list[str]:
    return [module_name(path) for path in sorted(PACKAGE.rglob("*.py"))]


def describe(found: Import) -> str:
    return f"{found.source} (line {found.line}) imports {found.target}"


def test_every_module_is_in_a_layer_or_the_emulator() -> None:
    unplaced = [m for m in modules() if layer_of(m) is None and not within(m, EMULATOR)]
    assert not unplaced, f"modules in no layer (add them to LAYERS and ARCHITECTURE.md): {unplaced}"


def test_imports_go_down_the_layers() -> None:
    upward = []
    for found in all_imports():
        if within(found.source, EMULATOR) or within(found.target, EMULATOR):
            continue  # the emulator's own rule is the test below
        source, target = layer_of(found.source), layer_of(found.target)
        assert source is not None and target is not None, describe(found)
        if target > source:
            upward.append(f"{describe(found)}: {LAYERS[source][0]} -> {LAYERS[target][0]}")
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_neither_edge_imports_the_other() -> None:
    crossing = [
        describe(found)
        for found in all_imports()
        for edge in EDGES
        if within(found.source, edge) and any(within(found.target, e) for e in EDGES if e != edge)
    ]
    assert not crossing, "\n".join(crossing)


def test_the_emulator_is_imported_only_by_the_tests_the_demo_and_its_command() -> None:
    wrong = []
    for found in all_imports():
        inside = within(found.source, EMULATOR)
        if within(found.target, EMULATOR) and not inside and found.source not in EMULATOR_USERS:
            wrong.append(describe(found))
        if inside and not within(found.target, EMULATOR) and layer_of(found.target) != 0:
            wrong.append(describe(found) + " (the emulator may use support only)")
    assert not wrong, "\n".join(wrong)


def package_of(module: str) -> str:
    """The subpackage a module belongs to (`wait_and_dispatch.engine`), or the module itself for
    one directly under the package root."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for found in all_imports():
        source, target = package_of(found.source), package_of(found.target)
        if source != target and target != NAME:
            graph.setdefault(source, set()).add(target)
    cycles = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    assert not cycles, "import cycles between packages:\n" + "\n".join(cycles)


# The checks above must be able to fail: each is run on a small tree that breaks its rule.
@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("wait_and_dispatch.engine.facade", "wait_and_dispatch.session.edge", False),
        ("wait_and_dispatch.step.run", "wait_and_dispatch.plans.model", False),
        ("wait_and_dispatch.github_api", "wait_and_dispatch.engine.results", False),
        ("wait_and_dispatch.engine.polling", "wait_and_dispatch.engine.github_objects", False),
        ("wait_and_dispatch.engine.waiting", "wait_and_dispatch.engine.polling", True),
        ("wait_and_dispatch.github_api.retry", "wait_and_dispatch.support.clock", True),
        ("wait_and_dispatch.support.errors", "wait_and_dispatch", True),
        ("wait_and_dispatch.plans.executor", "wait_and_dispatch.step.run", True),
        ("wait_and_dispatch.cli.main", "wait_and_dispatch.session.edge", True),
    ],
)
def test_the_layer_order_tells_down_from_up(source: str, target: str, expected: bool) -> None:
    source_layer, target_layer = layer_of(source), layer_of(target)
    assert source_layer is not None and target_layer is not None
    assert (target_layer <= source_layer) is expected


def test_a_module_outside_every_layer_is_found() -> None:
    assert layer_of("wait_and_dispatch.somewhere_new") is None
    assert layer_of("wait_and_dispatch.jobs.job") is None


def test_imports_are_read_from_functions_and_type_checking_blocks() -> None:
    text = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from wait_and_dispatch.plans.model import Plan\n"
        "def f():\n"
        "    from wait_and_dispatch.session import edge\n"
        "    from ..cli import main\n"
        "    import wait_and_dispatch.action.main\n"
    )
    targets = {i.target for i in imports_in(text, "wait_and_dispatch.engine.x", "wait_and_dispatch.engine")}
    assert targets == {
        "wait_and_dispatch.plans.model",
        "wait_and_dispatch.session.edge",
        "wait_and_dispatch.cli.main",
        "wait_and_dispatch.action.main",
    }
