"""Hostile input for tests: YAML that explodes, and values from GitHub that try to become commands."""

from __future__ import annotations


def alias_bomb(indent: str = "") -> str:
    """The "billion laughs": nine levels of nine aliases each, 9^9 strings once expanded."""
    levels = [f'{indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        levels.append(f"{indent}l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return "\n".join(levels) + "\n"
