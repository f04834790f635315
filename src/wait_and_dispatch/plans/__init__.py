"""Plans: dependency graphs of workflows, checks and artifact collections, run as one.

- Reading: `loader` turns a plan file into a `model.Plan` (YAML with positions in `plan_yaml`,
  `plan.schema.json` in `plan_schema`, merging and matrix members in `plan_nodes`, what each
  expression may read in `plan_expressions`); every problem is reported with its file and line.
- Running: `scheduler` decides from what is known which nodes start, which are skipped and why,
  and whether the plan has ended (pure: no I/O, no clock); `executor` does the I/O it asks for,
  one thread per node, with one node's job in `node_job`, collect nodes in `collect` and the dry
  run in `preview`.
- Writing: `emit` writes the equivalent orchestrator workflows (YAML text from `yaml_text`);
  `workflow_check` checks the workflows a plan drives, read as the dispatch reads them.

The format is documented in docs/plans.md. Like the engine, nothing here prints, reads the
environment or exits.
"""
