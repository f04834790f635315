"""Where the benchmark scripts record their figures: between markers in docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path


def record(doc: Path, name: str, body: str, *, heading: str | None = None) -> None:
    """Put `body` between `<!-- NAME:start -->` and `<!-- NAME:end -->` in `doc`, replacing what
    was there. Without the markers, a new section under `heading` is appended (given one), else
    the doc is left alone and the run says so."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = doc.read_text(encoding="utf-8")
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        before, _, rest = text.partition(start)
        _, _, after = rest.partition(end)
        text = before + block + after
    elif heading is not None:
        text = text.rstrip() + f"\n\n## {heading}\n\n{block}\n"
    else:
        raise SystemExit(f"{doc} has no {start} ... {end} markers to write between")
    doc.write_text(text, encoding="utf-8")


def publish(name: str, body: str, doc: Path | None) -> None:
    """Print a benchmark's figures, and record them in `doc` when given (`--write`)."""
    print(body)
    if doc is not None:
        record(doc, name, body)
