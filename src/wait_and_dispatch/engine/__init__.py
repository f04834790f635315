"""The engine: find or dispatch runs, wait for runs and checks, download artifacts.

It takes typed requests and returns frozen results; it reports progress through a callback, takes
time from the API layer's clock, and never reads the environment, prints or exits. The action and
the command line are thin edges over `Engine`.

Modules (ARCHITECTURE.md maps them): `requests`, `results`, `progress` and `github_objects` (what
it takes, gives, tells and reads), `facade` (`Engine`), `dispatch` and its pieces, `waiting`,
`check_wait` and its pieces, `artifact_download` and its pieces, `unzip`, `git_refs`. Import what you use from
them; this package imports nothing itself, so the command line starts fast.
"""
