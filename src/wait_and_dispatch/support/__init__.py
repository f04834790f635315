"""The lowest layer: what every other layer uses and that imports nothing of ours.

`errors` (the error tree and exit codes), `clock` (injectable time), `text` (escaping every
printed line), `safe_yaml` (the bounded YAML loader), `expressions` (GitHub's `${{ }}`
language), `github_vocabulary` (GitHub's words for states), `action_pins` (the pin table).
"""
