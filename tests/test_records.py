"""Benchmark records name the code they measure; the freshness check works.

``benchmarks/provenance.py`` reports which records are older than the last
change to the code they measure (CI prints the report; it is not a gate):
rerun a record when a claim rests on it, or mark it stale so that the docs
rendered from it say so.
"""

import json
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))
try:
    import provenance
finally:
    sys.path.remove(str(BENCH_DIR))

RECORDS = sorted(p.stem for p in (BENCH_DIR / "results").glob("*.json"))


def test_every_record_names_the_code_it_measures():
    assert set(RECORDS) <= set(provenance.SOURCES), "add the benchmark to SOURCES"
    for name, paths in provenance.SOURCES.items():
        assert (BENCH_DIR / f"{name}.py").is_file(), name
        for path in paths:
            if not path.startswith(":("):  # git pathspec magic (an exclusion)
                assert (BENCH_DIR.parent / path).exists(), (name, path)


@pytest.mark.parametrize("name", RECORDS)
def test_record_rows_name_commit_seeds_and_threads(name):
    rows = json.loads((BENCH_DIR / "results" / f"{name}.json").read_text())
    assert rows
    for row in rows:
        assert {"commit", "threads", "n_runs"} <= set(row), (name, row)


@pytest.mark.skipif(not provenance.has_history(), reason="needs the git history")
def test_a_change_to_measured_code_makes_a_record_stale(tmp_path, monkeypatch):
    # the oldest commit that contains the change is fresh; its parent is stale
    change = provenance.last_change("bench_dec")
    parent = provenance._git("rev-parse", "--short", f"{change}^")
    rows = [dict(commit=change, threads=1, n_runs=1), dict(commit=parent, threads=1, n_runs=1)]
    monkeypatch.setattr(provenance, "load_rows", lambda name: rows)
    _, stale, unmarked = provenance.check("bench_dec")
    assert [row["commit"] for row in stale] == [parent] and unmarked == stale
    rows[1]["stale_since"] = change
    assert provenance.check("bench_dec")[2] == []


@pytest.mark.skipif(not provenance.has_history(), reason="needs the git history")
def test_the_shipped_model_file_counts_only_where_it_is_used():
    shipped = provenance._git("log", "-1", "--format=%h", "--", *provenance._SHIPPED)
    # a benchmark of the shipped metric is as old as the file, at least
    assert provenance.contains(provenance.last_change("bench_user_grids"), shipped)
    # the training that writes the file is not made old by writing it
    assert not provenance._measured(provenance._SHIPPED[0], "train_pretrained")
    assert provenance._measured(provenance._SHIPPED[0], "bench_user_grids")


def test_docstrings_and_comments_do_not_age_a_record():
    same = provenance.syntax_without_docstrings
    code = 'def f(x):\n    """Old words."""\n    return x + 1  # a comment\n'
    assert same(code) == same('def f(x):\n    """New,\n    longer words."""\n    return x + 1\n')
    assert same(code) != same('def f(x):\n    """Old words."""\n    return x + 2\n')


def test_a_benchmark_measures_the_scripts_it_imports():
    # bench_user_grids takes its image pools and classical indices from
    # bench_selection, which takes its references from train_pretrained
    sources = provenance._sources("bench_user_grids")
    assert "benchmarks/bench_user_grids.py" in sources
    assert "benchmarks/bench_selection.py" in sources
    assert "benchmarks/train_pretrained.py" in sources
    assert provenance._measured("benchmarks/bench_selection.py", "bench_user_grids")
    # and not the scripts it does not import
    assert not provenance._measured("benchmarks/bench_dec.py", "bench_user_grids")
