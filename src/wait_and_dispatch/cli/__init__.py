"""The command-line edge: arguments in; progress lines, `--json` and exit codes out.

`main` parses the command line and maps errors to exit codes, `plan_command` is the `plan`
subcommand, `progress` prints progress for a person (also the action's log lines), `connection`
resolves the API URL and the token from options and the environment.
"""
