"""The engine: find or dispatch runs, wait for runs and checks, download artifacts.

It takes typed requests and returns frozen results; it reports progress through a callback, takes
time from the API layer's clock, and never reads the environment, prints or exits. The action and
the command line are thin edges over `Engine`.

Modules: `model` (requests, snapshots, results, progress events), `facade` (`Engine`),
`workflow_runs` (workflows and their runs), `dispatch`, `waiting`, `checks`, `artifacts`,
`polling`, `inputs`. Import what you use from them; this package imports nothing itself, so the
command line starts fast.
"""
