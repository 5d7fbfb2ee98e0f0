"""Which benchmark records are older than the code they measure: a report, not a gate.

Each row of ``benchmarks/results/<name>.json`` names the commit it was
measured at. :data:`SOURCES` lists, in one place, the files each benchmark
measures (the package modules it runs; its own script and the benchmark
scripts it imports are added). A record is *fresh* when no commit after its
own changed those files as code (docstrings, comments and layout aside),
*stale* otherwise: rerun it when a claim rests on it. ``python
benchmarks/provenance.py`` prints every record's state (CI prints it too).

A record named ``<benchmark>__<lever>`` is a run of ``<benchmark>`` with a
lever set (its command says which, e.g. ``--param grid_negatives=6``),
merged apart from the benchmark's own record (``merge_results.py ... --as``);
it measures what the benchmark measures.
"""

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent

_COMMON = ("sklearn_tcm/_base.py", "sklearn_tcm/_torch.py", "sklearn_tcm/metrics.py",
           "benchmarks/_harness.py")
_METRIC = _COMMON + ("sklearn_tcm/learned_metric", "sklearn_tcm/datasets.py")

#: The package files each benchmark measures (a folder stands for its files).
SOURCES = {
    "bench_critic": _METRIC,
    "bench_critic_batch": _METRIC,
    "bench_clusterer": _METRIC,
    "bench_clusterer_fooled": _METRIC,
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
    "bench_score_curve": _METRIC,
    "bench_score_points": _METRIC,
    "bench_score_speed": _METRIC,
    "bench_selection": _METRIC,
    "bench_speed": _METRIC + ("sklearn_tcm/cli.py",),
    "bench_synthetic": _METRIC,
    "bench_user_grids": _METRIC,
    "bench_weak_spots": _METRIC,
    # it writes the shipped model file and does not read it
    "train_pretrained": _METRIC + (":(exclude)sklearn_tcm/learned_metric/pretrained/default.tcm",),
}


def _git(*args):
    return subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True,
                          check=True).stdout.strip()


def has_history():
    """Whether this checkout has the git history the report needs (not a shallow clone)."""
    try:
        return _git("rev-parse", "--is-shallow-repository") == "false"
    except (OSError, subprocess.CalledProcessError):
        return False


def benchmark_of(name):
    """The benchmark whose script made the record ``name`` (``<benchmark>__<lever>``)."""
    return name.split("__", 1)[0]


@functools.cache
def sources(name):
    """:data:`SOURCES` of ``name``, its script and the benchmark scripts it imports."""
    name = benchmark_of(name)
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
    return SOURCES[name] + tuple(f"benchmarks/{module}.py" for module in found)


def _without_docstrings(source):
    """The syntax tree of Python ``source`` with its docstrings left out, as text."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


@functools.cache
def changes_code(commit, paths):
    """Whether ``commit`` changed the files under ``paths`` as code.

    A change to Python files that touches only docstrings, comments or
    layout is not a change of the code measured; any change to another file
    (a model file, data) is.
    """
    changed = _git("diff-tree", "--no-commit-id", "--name-only", "-r", commit, "--",
                   *paths).split()
    for path in changed:
        if not path.endswith(".py"):
            return True
        try:
            before = _without_docstrings(_git("show", f"{commit}^:{path}"))
            after = _without_docstrings(_git("show", f"{commit}:{path}"))
        except (subprocess.CalledProcessError, SyntaxError):
            return True  # added, removed, or not parseable
        if before != after:
            return True
    return False


def changes_since(commit, name):
    """Commits after ``commit`` that changed what ``name`` measures, as code (all, if unknown)."""
    try:
        found = _git("log", "--format=%h", f"{commit}..HEAD", "--", *sources(name)).split()
    except subprocess.CalledProcessError:
        return ["(unknown commit)"]
    return [change for change in found if changes_code(change, sources(name))]


def report(name):
    """One line: the record, its commits and whether the code changed since."""
    rows = json.loads((BENCH_DIR / "results" / f"{name}.json").read_text())
    commits = list(dict.fromkeys(str(row.get("commit", "unknown")) for row in rows))
    changes = {commit: changes_since(commit, name) for commit in commits}
    stale = {commit: found for commit, found in changes.items() if found}
    state = "fresh" if not stale else "STALE: code changed at " + ", ".join(
        dict.fromkeys(found[0] for found in stale.values()))
    return f"{name:22s} measured at {', '.join(commits)}  {state}"


def main():
    if not has_history():
        sys.exit("no git history: the report needs the repository's commits")
    for path in sorted((BENCH_DIR / "results").glob("*.json")):
        print(report(path.stem) if benchmark_of(path.stem) in SOURCES
              else f"{path.stem}: not listed in SOURCES")


if __name__ == "__main__":
    main()
