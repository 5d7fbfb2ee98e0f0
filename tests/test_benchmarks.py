"""Smoke runs of every benchmark script at a tiny budget (results in tmp_path)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

# second tier: CI runs it after the fast tests (-m 'integration and not slow')
pytestmark = pytest.mark.integration

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted([*BENCH_DIR.glob("bench_*.py"), *BENCH_DIR.glob("train_*.py")])
RECORD_KEYS = {"benchmark", "dataset", "method", "metric", "value", "std", "n_runs",
               "seconds", "command", "versions", "device", "threads", "commit", "dirty",
               "n_seeds", "date", "budget"}


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_benchmark_smoke(script, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, script.stem, module)
    spec.loader.exec_module(module)
    module.main(["--smoke", "--out", str(tmp_path)])
    records = json.loads((tmp_path / "results" / f"{script.stem}.json").read_text())
    assert records and all(RECORD_KEYS <= set(r) for r in records)
    assert all(r["budget"] == "smoke" for r in records)
    assert f"<!-- {script.stem}:start -->" in (tmp_path / "RESULTS.md").read_text()
    if script.stem == "train_pretrained":
        # the model file says which code and command made it
        from sklearn_tcm import load

        made = load(tmp_path / "default.tcm").training_data_
        assert made["commit"].startswith(records[0]["commit"])
        assert made["command"] == records[0]["command"]
