"""Benchmark records name the code they measure; the freshness check works.

``benchmarks/provenance.py`` reports which records are older than the last
change to the code they measure (CI prints the report; it is not a gate):
rerun a record when a claim rests on it.
"""

import json
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))
try:
    import provenance
    from merge_results import own_rows
finally:
    sys.path.remove(str(BENCH_DIR))

RECORDS = sorted(p.stem for p in (BENCH_DIR / "results").glob("*.json"))


def test_every_record_names_the_code_it_measures():
    benchmarks = {provenance.benchmark_of(name) for name in RECORDS}
    assert benchmarks <= set(provenance.SOURCES), "add the benchmark to SOURCES"
    for name, paths in provenance.SOURCES.items():
        assert (BENCH_DIR / f"{name}.py").is_file(), name
        for path in paths:
            if not path.startswith(":(exclude)"):  # a git pathspec leaving a file out
                assert (BENCH_DIR.parent / path).exists(), (name, path)


@pytest.mark.parametrize("name", RECORDS)
def test_record_rows_name_commit_seeds_and_threads(name):
    rows = json.loads((BENCH_DIR / "results" / f"{name}.json").read_text())
    assert rows
    for row in rows:
        assert {"commit", "threads", "n_runs"} <= set(row), (name, row)


@pytest.mark.skipif(not provenance.has_history(), reason="needs the git history")
def test_a_change_to_measured_code_makes_a_record_stale():
    # a record made at the last change to what bench_dec measures is fresh; one
    # made at that commit's parent is stale, and the report names the change
    sources = provenance.sources("bench_dec")
    change = next(c for c in provenance._git("log", "--format=%h", "--", *sources).split()
                  if provenance.changes_code(c, sources))
    assert provenance.changes_since(change, "bench_dec") == []
    assert change in provenance.changes_since(f"{change}^", "bench_dec")
    assert provenance.changes_since("0000000", "bench_dec")
    assert provenance.report("bench_dec").startswith("bench_dec")


def test_a_lever_record_measures_what_its_benchmark_measures():
    assert provenance.benchmark_of("bench_selection__grid_negatives") == "bench_selection"
    assert provenance.sources("bench_selection__grid_negatives") == \
        provenance.sources("bench_selection")


def test_a_lever_record_holds_the_runs_own_rows():
    body = ("Command: `python benchmarks/bench_selection.py --param grid_negatives=6` · "
            "commit abc1234 · 2026-12-07\n\n| dataset | method | regret | seconds | commit |\n"
            "|---|---|---|---|---|\n| fcps | learned_metric | 0.200 |  | abc1234 |\n"
            "| prior | learned_metric | 0.198 |  | eb2997c |\n\n"
            "Rows of another commit were not rerun; their budgets: eb2997c: ...\n")
    rows = [{"dataset": "fcps", "commit": "abc1234"}, {"dataset": "prior", "commit": "eb2997c"}]
    section, kept = own_rows(body, rows)
    assert kept == rows[:1]
    assert "| fcps |" in section and "| dataset |" in section
    assert "eb2997c" not in section


def test_docstrings_and_comments_are_not_code():
    code = 'def f(x):\n    """Twice x."""\n    return 2 * x  # doubled\n'
    reworded = 'def f(x):\n    """Return x doubled."""\n\n    # twice\n    return 2 * x\n'
    changed = 'def f(x):\n    """Twice x."""\n    return 3 * x\n'
    assert provenance._without_docstrings(code) == provenance._without_docstrings(reworded)
    assert provenance._without_docstrings(code) != provenance._without_docstrings(changed)


def test_a_benchmark_measures_the_scripts_it_imports():
    # bench_user_grids takes its image pools and classical indices from
    # bench_selection, which takes its references from train_pretrained
    found = provenance.sources("bench_user_grids")
    assert "benchmarks/bench_user_grids.py" in found
    assert "benchmarks/bench_selection.py" in found
    assert "benchmarks/train_pretrained.py" in found
    assert "benchmarks/bench_dec.py" not in found
