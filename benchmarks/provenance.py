"""Which benchmark records still measure today's code.

Each record in ``benchmarks/results/<name>.json`` names the commit it was
measured at (per row: a rerun of some datasets keeps the other rows of an
earlier run). :data:`SOURCES` lists, in one place, the files each benchmark
measures: the package modules it runs; its own script and the benchmark
scripts it imports (transitively) are added to them. A row is *fresh*
when those files are, as code, what they were at its commit: the same
files, each unchanged or (Python) with the same syntax tree once docstrings
are left out, so that rewording a docstring or a comment does not age a
record; it is *stale* otherwise.

A stale record is rerun, or marked: ``python benchmarks/provenance.py --mark``
writes ``stale_since`` (the commit of the change) into its stale rows and a
line saying so at the top of its ``RESULTS.md`` section; anything rendered
from it into the docs says "stale". ``python benchmarks/provenance.py``
prints the state of every record (CI prints it too: a report, not a gate).
"""

import argparse
import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

_COMMON = ("sklearn_tcm/_base.py", "sklearn_tcm/_torch.py", "sklearn_tcm/metrics.py",
           "benchmarks/_harness.py")
# the learned metric's code; the shipped model file counts only for the
# benchmarks that use it (training it does not make the training's record old)
_METRIC = _COMMON + ("sklearn_tcm/learned_metric", "sklearn_tcm/datasets.py",
                     ":(exclude)sklearn_tcm/learned_metric/pretrained/*.tcm")
_SHIPPED = ("sklearn_tcm/learned_metric/pretrained/default.tcm",)

#: The package files each benchmark measures (its scripts are added; a
#: folder stands for every file in it; ``:(exclude)`` is git's pathspec for
#: files left out). Every record must be listed here.
SOURCES = {
    "bench_critic": _METRIC,
    "bench_critic_batch": _METRIC,
    "bench_clusterer": _METRIC + _SHIPPED,
    "bench_critic_space": _COMMON + ("sklearn_tcm/dscl.py", "sklearn_tcm/datasets.py"),
    "bench_dec": _COMMON + ("sklearn_tcm/dec.py",),
    "bench_dec_init": _COMMON + ("sklearn_tcm/dec.py",),
    "bench_demo": _METRIC + ("sklearn_tcm/cli.py",),
    "bench_dscl": _COMMON + ("sklearn_tcm/dscl.py", "sklearn_tcm/datasets.py"),
    "bench_faults": _COMMON + ("sklearn_tcm", "tests/test_faults.py", "tests/test_dask.py"),
    "bench_fooled_blobs": _METRIC,
    "bench_l2c": _COMMON + ("sklearn_tcm/l2c.py", "sklearn_tcm/datasets.py"),
    "bench_lmc": _METRIC,
    "bench_memory": _METRIC + ("sklearn_tcm/dec.py",),
    "bench_objective": _METRIC,
    "bench_score_curve": _METRIC + _SHIPPED,
    "bench_selection": _METRIC + _SHIPPED + ("benchmarks/train_pretrained.py",),
    "bench_speed": _METRIC + ("sklearn_tcm/cli.py",),
    "bench_synthetic": _METRIC,
    "bench_user_grids": _METRIC + _SHIPPED,
    "train_pretrained": _METRIC,
}


def _git(*args):
    return subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True,
                          check=True).stdout.strip()


def has_history():
    """Whether this checkout has the git history the check needs."""
    try:
        # a shallow clone lacks the commits the records name
        return (_git("rev-parse", "--is-inside-work-tree") == "true"
                and _git("rev-parse", "--is-shallow-repository") == "false"
                and bool(_git("log", "-1", "--format=%H")))
    except (OSError, subprocess.CalledProcessError):
        return False


@functools.cache
def _scripts(name):
    """``benchmarks/<name>.py`` and the benchmark scripts it imports, transitively.

    A benchmark that takes its tasks or pools from another script (for
    example ``from bench_selection import image_tasks``) measures that
    script too.
    """
    found, todo = [], [name]
    while todo:
        module = todo.pop()
        path = BENCH_DIR / f"{module}.py"
        if module in found or not path.exists():
            continue
        found.append(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo.append(node.module)
            elif isinstance(node, ast.Import):
                todo.extend(alias.name for alias in node.names)
    return tuple(f"benchmarks/{module}.py" for module in found)


def _sources(name):
    """The paths benchmark ``name`` measures: :data:`SOURCES` and its scripts."""
    return SOURCES[name] + tuple(path for path in _scripts(name) if path not in SOURCES[name])


def last_change(name):
    """The last commit that changed a file benchmark ``name`` measures."""
    paths = _sources(name)
    # git applies an exclusion to every path given: the shipped file, which the
    # code paths exclude, is looked up on its own
    shipped = [path for path in paths if path in _SHIPPED]
    changes = [_git("log", "-1", "--format=%h", "--",
                    *[path for path in paths if path not in _SHIPPED])]
    if shipped:
        changes.append(_git("log", "-1", "--format=%h", "--", *shipped))
    changes = [change for change in changes if change]
    return max(changes, key=lambda change: int(_git("rev-list", "--count", change)))


@functools.cache
def contains(commit, ancestor):
    """Whether ``commit`` has ``ancestor`` in its history (or is it)."""
    result = subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, commit],
                            cwd=REPO_DIR, capture_output=True)
    return result.returncode == 0


def load_rows(name):
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def _measured(path, name):
    """Whether file ``path`` is one that benchmark ``name`` measures."""
    sources = _sources(name)
    if path in sources and path in _SHIPPED:
        return True
    if path.startswith("sklearn_tcm/learned_metric/pretrained/") and path.endswith(".tcm"):
        return False  # only where listed (_SHIPPED)
    return any(path == source or path.startswith(source.rstrip("/") + "/")
               for source in sources if not source.startswith(":("))


@functools.cache
def _tree(commit):
    """``{path: blob}`` of every file at ``commit`` (None when git does not know it)."""
    try:
        listing = _git("ls-tree", "-r", commit)
    except subprocess.CalledProcessError:
        return None
    return {line.split("\t", 1)[1]: line.split()[2] for line in listing.splitlines()}


@functools.cache
def _code(blob, path):
    """What counts of a Python file: its syntax tree without docstrings."""
    return syntax_without_docstrings(_git("cat-file", "blob", blob))


def syntax_without_docstrings(text):
    """The syntax tree of Python source ``text`` as a string, docstrings left out."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@functools.cache
def code_changed(commit, name):
    """Whether the code benchmark ``name`` measures differs between ``commit`` and HEAD."""
    then, now = _tree(commit), _tree("HEAD")
    if then is None:
        return True
    then = {p: b for p, b in then.items() if _measured(p, name)}
    now = {p: b for p, b in now.items() if _measured(p, name)}
    if set(then) != set(now):
        return True
    return any(then[p] != now[p] and (not p.endswith(".py")
                                      or _code(then[p], p) != _code(now[p], p))
               for p in now)


def check(name):
    """``(change, stale_rows, unmarked_rows)`` of one record.

    ``change`` is the last commit that changed a file it measures; a row is
    stale when the code it measures changed since its commit
    (:func:`code_changed`), unmarked when it is stale and carries no
    ``stale_since``.
    """
    change = last_change(name)
    stale = [row for row in load_rows(name)
             if code_changed(str(row.get("commit", "unknown")), name)]
    return change, stale, [row for row in stale if not row.get("stale_since")]


def has_notice(name):
    """Whether the record's section of RESULTS.md carries the stale notice (a merge of
    a partial rerun rewrites the section, and the notice of its kept rows with it)."""
    text = (BENCH_DIR / "RESULTS.md").read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    return start in text and "**Stale record.**" in text.split(start, 1)[1].split(end, 1)[0]


def mark(name, change):
    """Write ``stale_since`` into the stale rows of a record and note it in RESULTS.md."""
    rows = load_rows(name)
    commits = set()
    for row in rows:
        if code_changed(str(row.get("commit", "unknown")), name):
            row["stale_since"] = change
            commits.add(str(row["commit"]))
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(rows, indent=1) + "\n")
    results = BENCH_DIR / "RESULTS.md"
    text = results.read_text()
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    if start not in text:
        return
    head, rest = text.split(start, 1)
    section, tail = rest.split(end, 1)
    lines = [line for line in section.split("\n") if not line.startswith("**Stale record.**")]
    notice = (f"**Stale record.** Measured at {', '.join(sorted(commits))}; the code it "
              f"measures changed at {change}. Rerun the command below to refresh it.")
    lines.insert(2 if lines and lines[0].startswith("## ") else 0, notice + "\n")
    results.write_text(head + start + "\n".join(lines) + end + tail)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mark", action="store_true",
                        help="mark every stale record not marked yet (rows or notice)")
    args = parser.parse_args(argv)
    if not has_history():
        sys.exit("no git history: the check needs the repository's commits")
    for path in sorted(RESULTS_DIR.glob("*.json")):
        name = path.stem
        if name not in SOURCES:
            print(f"{name}: not listed in SOURCES")
            continue
        change, stale, unmarked = check(name)
        state = "fresh" if not stale else (
            f"STALE ({len(stale)} rows; {len(unmarked)} unmarked)")
        print(f"{name:22s} last change {change}  {state}")
        if args.mark and (unmarked or (stale and not has_notice(name))):
            mark(name, change)
            print(f"{'':22s} marked")


if __name__ == "__main__":
    main()
