"""What both edges share around a step or a plan, above plans and below the edges.

`edge` is the one skeleton a step or a plan runs in (connect, signals, progress, cancel on
failure); `plan_step` turns plan inputs into a `PlanRunner`; `connection`, `signals`, `progress`,
`json_output`, `boundary` (the unexpected-error boundary) and `summary` (the job summary as
Markdown) are used by both edges. It reads no environment variable itself: the edges hand it
what they read.
"""
