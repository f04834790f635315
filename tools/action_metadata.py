"""Write the inputs and outputs of action.yml and composite/action.yml from step/catalogue.py
and step/peer_names.py.

    python3 tools/action_metadata.py          # rewrite both files
    python3 tools/action_metadata.py --check  # exit 1 if either is not what the tables say

step/catalogue.py is the one list of inputs and outputs, and step/peer_names.py of the peer
actions' names for them (aliases); both action.yml files declare every one of them, and the
composite maps each input to its INPUT_* variable, so they are written from the tables rather
than by hand. Only the `inputs:` and `outputs:`
sections and the composite's run-step `env:` are written; the comments, `runs:` and the rest
are kept as they are. tests/test_action_metadata.py runs the check.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wait_and_dispatch.step.catalogue import INPUTS, OUTPUTS, Input  # noqa: E402
from wait_and_dispatch.step.peer_names import (  # noqa: E402
    ALIASES,
    DAWIDD6,
    DOWNLOAD_ARTIFACT,
    OUTPUT_ALIASES,
    PEER_VALUES,
    Alias,
    OutputAlias,
)

WIDTH = 110
FORM_NOTES = {
    "seconds": "a number of seconds",
    "milliseconds": "a number of milliseconds",
    "repo": "owner/name, or the name beside owner",
    "owner": "the owner beside repo",
    "conclusion": "a conclusion, or completed for any",
    "any-unless-true": "false: any conclusion passes",
    "more-lines": "added to ignore-checks",
    "cancel-after-seconds": "seconds, then cancel the run",
    "fail-or-ignore": "true: fail, false: ignore",
    "inputs-or-payload": "a JSON object: client-payload with event-type",
    "ignore-pattern": "a regular expression of the checks to leave out",
}


def _scalar(key: str, text: str, indent: int) -> list[str]:
    pad = " " * indent
    line = f"{pad}{key}: {text}"
    try:
        plain = yaml.safe_load(f"{key}: {text}") == {key: text}
    except yaml.YAMLError:
        plain = False
    if plain and len(line) <= WIDTH:
        return [line]
    wrapped = textwrap.wrap(text, width=WIDTH - indent - 2, break_on_hyphens=False, break_long_words=False)
    return [f"{pad}{key}: >-", *(f"{pad}  {part}" for part in wrapped)]


def _peers(alias: Alias | OutputAlias) -> str:
    *others, last = alias.peers
    return f"{', '.join(others)} and {last}" if others else last


def alias_description(alias: Alias, target: Input | None) -> str:
    if target is not None:
        form = f", {FORM_NOTES[alias.form]}" if alias.form in FORM_NOTES else ""
        used = f"the name used by {_peers(alias)}{form}"
        return f"Deprecated alias of `{target.name}` ({used}). {target.description}"
    return f"An input of {_peers(alias)} with no equivalent here: {alias.note}."


def alias_deprecation(alias: Alias) -> str:
    moving = f"`{alias.name}` is accepted so that moving from {_peers(alias)} is a rename of `uses:`"
    # What the peer always does and the name stands for here (unless the step sets it): kept by
    # setting those inputs when renaming. Not said of a name that peers which behave otherwise
    # share (`github_token`: dawidd6 only downloads, convictional dispatches).
    implied = ", ".join(f"`{name}: {value}`" for name, value in alias.implies)
    alike = len(alias.peers) == 1 or set(alias.peers) <= {DOWNLOAD_ARTIFACT, DAWIDD6}
    keep = f", and set {implied} to keep its behaviour" if implied and alike else ""
    if alias.input is not None:
        return f"{moving}; use `{alias.input}` instead{keep}."
    form, _, values = alias.form.partition(":")
    if form == "no-effect":
        return f"{moving}; it has no effect here ({alias.note}): remove it{keep}."
    if form == "warn":
        return f"{moving}; it is not supported ({alias.note}): remove it{keep}."
    kept = " or ".join(f"`{v}`" for v in values.split(",") if v) or "empty"
    if form == "refuse-unless":
        return f"{moving}; any value but {kept} fails the step ({alias.note}): remove it{keep}."
    return f"{moving}; any value but {kept} is warned about ({alias.note}): remove it{keep}."


def inputs_section() -> list[str]:
    lines = ["inputs:"]
    for item in INPUTS:
        lines += [f"  {item.name}:", *_scalar("description", item.description, 4), "    required: false"]
        if item.default:
            lines.append(f'    default: "{item.default}"')
        for alias in ALIASES:
            if alias.input == item.name:
                lines += _alias_lines(alias, item)
    for alias in ALIASES:
        if alias.input is None:
            lines += _alias_lines(alias, None)
    return lines


def _alias_lines(alias: Alias, target: Input | None) -> list[str]:
    return [
        f"  {alias.name}:",
        *_scalar("description", alias_description(alias, target), 4),
        "    required: false",
        *_scalar("deprecationMessage", alias_deprecation(alias), 4),
    ]


def output_descriptions() -> dict[str, str]:
    described = {o.name: o.description for o in OUTPUTS}
    for alias in OUTPUT_ALIASES:
        if alias.value in PEER_VALUES:
            described[alias.name] = f"{alias.description.rstrip('.')} (the output of {_peers(alias)})."
        else:
            described[alias.name] = f"Alias of `{alias.value}` (the output of {_peers(alias)})."
    return described


def outputs_section(*, composite: bool) -> list[str]:
    lines = ["outputs:"]
    for name, description in output_descriptions().items():
        lines += [f"  {name}:", *_scalar("description", description, 4)]
        if composite:
            lines.append(f"    value: ${{{{ steps.run.outputs.{name} }}}}")
    return lines


def composite_env() -> list[str]:
    lines = ["      env:", "        WAIT_AND_DISPATCH: ${{ steps.install.outputs.program }}"]
    for item in INPUTS:
        lines.append(f"        {item.env_names[0]}: ${{{{ inputs.{item.name} }}}}")
        for alias in ALIASES:
            if alias.input == item.name:
                lines.append(f"        {alias.env_name}: ${{{{ inputs.{alias.name} }}}}")
    for alias in ALIASES:
        if alias.input is None:
            lines.append(f"        {alias.env_name}: ${{{{ inputs.{alias.name} }}}}")
    return lines


def _replace(text: str, start: str, end: str, lines: list[str]) -> str:
    """`text` with what lies between `start` and `end` (both kept) replaced by `lines`."""
    head, found, rest = text.partition(start)
    if not found:
        raise SystemExit(f"action_metadata: {start!r} not found")
    _, found, tail = rest.partition(end)
    if not found:
        raise SystemExit(f"action_metadata: {end!r} not found after {start!r}")
    return head + start + "\n".join(lines) + "\n" + end + tail


def _sections(text: str, *, composite: bool) -> str:
    body = [*inputs_section()[1:], "", *outputs_section(composite=composite)]
    return _replace(text, "\ninputs:\n", "\nruns:\n", body)


def render_action(text: str) -> str:
    return _sections(text, composite=False)


def render_composite(text: str) -> str:
    text = _sections(text, composite=True)
    step = "    - id: run\n      shell: bash\n      env:\n"
    return _replace(text, step, '      run: exec "$WAIT_AND_DISPATCH" action', composite_env()[1:])


FILES = {ROOT / "action.yml": render_action, ROOT / "composite" / "action.yml": render_composite}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, render in FILES.items():
        text = path.read_text(encoding="utf-8")
        wanted = render(text)
        if wanted != text:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(wanted, encoding="utf-8")
    if stale and check:
        print(
            f"not what the catalogue says: {', '.join(map(str, stale))}; run python3 tools/action_metadata.py"
        )
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
