"""`${{ }}` rendering in run-name, job and step names."""

from __future__ import annotations

import pytest

from wait_and_dispatch.emulator.expressions import ExpressionError, check_template, render

CONTEXT = {
    "inputs": {"environment": "prod", "dry_run": "false", "empty": ""},
    "github": {
        "actor": "octocat",
        "event_name": "repository_dispatch",
        "ref_name": "main",
        "sha": "abc",
        "event": {"client_payload": {"service": {"name": "api"}}, "inputs": {"x": "1"}},
    },
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Deploy ${{ inputs.environment }}", "Deploy prod"),
        ("${{ github.event.client_payload.service.name }}", "api"),
        ("${{ github.event.inputs.x }}", "1"),
        ("${{ github.actor }}@${{ github.ref_name }} ${{ github.sha }}", "octocat@main abc"),
        ("${{ inputs.missing }}", ""),
        ("${{ inputs.empty || 'fallback' }}", "fallback"),
        ("${{ github.event_name == 'repository_dispatch' && 'rd' || 'other' }}", "rd"),
        ("${{ INPUTS.Environment }}", "prod"),
        ("${{ inputs['environment'] }}", "prod"),
        ("${{ !true }}", "false"),
        ("no expressions", "no expressions"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize("template", ["${{ inputs. }}", "${{ }}", "${{ format('{0}', 1) }}", "${{ inputs.x"])
def test_invalid_expressions_are_refused(template: str) -> None:
    with pytest.raises(ExpressionError):
        check_template(template)
