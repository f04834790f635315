"""What one action step does, with no I/O and no runner: the layer below plans (a plan node is a
step) and above the engine.

`catalogue` is the one list of inputs and outputs (action.yml, the README and the command line
are made from or checked against it), `aliases` writes the peer actions' names into ours,
`settings` reads input values into typed `JobSettings`, `run` runs them through the engine and
turns the result into outputs, `credentials` reads a GitHub App's credentials, `results` is the
one result shape (`--json`, the `result` output).
"""
