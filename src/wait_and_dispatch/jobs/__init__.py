"""What both edges share: the action's inputs and outputs, and their translation to engine calls.

`options` is the one list of inputs and outputs (action.yml, the README and the command line are
checked against it); `job` turns input values into a run, checks or download job and its result
into outputs; `plan_job` does the same for plans. No I/O of its own.
"""
