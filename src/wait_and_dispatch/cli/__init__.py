"""The command-line edge: arguments in; progress lines, `--json` and exit codes out.

`main` parses the command line and maps errors to exit codes, `plan_command` is the `plan`
subcommand, `completion` writes shell completion, `demo` is the `demo` command (the one place
outside tests, besides the `emulator` command, that starts the emulator). What the command line
shares with the action (connection, signals, progress, the result shape) is in `session`.
"""
