"""The action edge: `INPUT_*` in; outputs, job summary, annotations, masks and post-step state out.

`main` runs the action (`wait-and-dispatch action`), `runner` is the runner's file and command
protocol. What the action shares with the command line (connection, signals, progress, the
summary's Markdown) is in `session`.
"""
