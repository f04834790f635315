"""`${{ }}` expressions, read and evaluated the way GitHub Actions does.

One implementation for the two places that need it: the emulator renders run-names, job and
step names and `if:` conditions with it, and plans use it for their templates, conditions and
gates. The language is the one GitHub documents in "Evaluate expressions in workflows and
actions" (docs.github.com/en/actions/reference/workflows-and-actions/expressions): literals
(`null`, `true`, `false`, numbers, 'strings' with '' for a quote), context paths (`vars.x`,
`needs.build.outputs['run-id']`, `github.event.commits[0]`), `!`, `<`, `<=`, `>`, `>=`, `==`, `!=`,
`&&`, `||`, parentheses, and the functions `contains`, `startsWith`, `endsWith`, `format`, `join`,
`toJSON` and `fromJSON`. The caller adds its own functions (the status functions `success()`,
`always()`... only mean something to whoever runs jobs).

GitHub's rules kept here: context and function names are case-insensitive; a missing property is
null; strings compare case-insensitively; operands of different types compare as numbers (null
0, booleans 1 and 0, strings parsed, an unparseable string NaN); `&&` and `||` give one of their
operands, not a boolean; a template renders null as the empty string, booleans in lower case and
whole numbers without `.0`.

The package, by seam: `tree.py` (the syntax tree, `ExpressionError`), `parser.py` (tokens, the
parser, a template's parts), `values.py` (GitHub's rules for values), `functions.py` (the
built-ins), `evaluator.py` (values and rendered templates), `references.py` (what an expression
reads and calls) and `rewrite.py` (known contexts bound in, conditions folded). Callers import
from here.
"""

from __future__ import annotations

from wait_and_dispatch.support.expressions.evaluator import evaluate, render
from wait_and_dispatch.support.expressions.functions import BUILTIN_FUNCTIONS
from wait_and_dispatch.support.expressions.parser import check_template, template_parts, unwrap
from wait_and_dispatch.support.expressions.references import function_calls, references
from wait_and_dispatch.support.expressions.rewrite import bind, fold_condition
from wait_and_dispatch.support.expressions.tree import ExpressionError
from wait_and_dispatch.support.expressions.values import truthy

__all__ = [
    "BUILTIN_FUNCTIONS",
    "ExpressionError",
    "bind",
    "check_template",
    "evaluate",
    "fold_condition",
    "function_calls",
    "references",
    "render",
    "template_parts",
    "truthy",
    "unwrap",
]
