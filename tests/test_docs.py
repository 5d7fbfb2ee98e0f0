"""The code users copy from the README runs as written."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_quick_start_runs():
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = _python_blocks(quick_start)
    # the shipped-metric blocks: seconds on the CPU. The DEC and reference-fitting
    # blocks train networks for minutes and are exercised by the estimator tests.
    runnable = [b for b in blocks if "critic_scorer" in b or "CriticClustering" in b]
    assert len(runnable) == 2
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # what users copy runs without a warning
        for block in runnable:
            exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["pipe"][-1].n_clusters_ == 3
    assert namespace["search"].best_params_["n_clusters"] == 3


def _render_docs():
    import sys

    bench_dir = README.parent / "benchmarks"
    sys.path.insert(0, str(bench_dir))
    try:
        import render_docs
    finally:
        sys.path.remove(str(bench_dir))
    return render_docs


def test_readme_and_guide_tables_are_those_of_their_records():
    render_docs = _render_docs()
    for path in dict.fromkeys(file for file, _ in render_docs.TABLES):
        text = (README.parent / path).read_text(encoding="utf-8")
        assert render_docs.rendered(path) == text, f"{path}: run python benchmarks/render_docs.py"
