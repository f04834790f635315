"""Plans: dependency graphs of workflows, checks and artifact collections, run as one.

`loader` reads a plan file (YAML, validated against `plan.schema.json`, every problem reported
with its file and line), `executor` runs it over the engine (topological, concurrent, skips that
propagate, cancellation), `emit` writes the equivalent orchestrator workflows. The format is
documented in docs/plans.md. Like the engine, nothing here prints, reads the environment or exits.
"""
