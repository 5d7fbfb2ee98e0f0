"""Render the README's demo sentence and demo row from ``results/bench_demo.json``.

The README quotes the demo's timings and figures; this writes them from the
record, between the ``<!-- demo:start -->`` / ``<!-- demo:end -->`` markers
and in the results table's row that starts with ``| `sklearn-tcm demo```, and
``tests/test_docs.py`` checks that the README says what the record says.
Run ``python benchmarks/render_readme.py`` after ``bench_demo.py``.
"""

import json
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
README = BENCH_DIR.parent / "README.md"


def demo_figures(records):
    """``{(budget or row, metric): value}`` and the record's commit and threads."""
    values = {(r["method"], r["metric"]): r["value"] for r in records}
    return values, records[0]["commit"], records[0]["threads"]


def demo_sentence(records):
    values, commit, threads = demo_figures(records)

    def run(budget):
        method = f"{budget}: learned metric (select)"
        return (f"{values[(method, 'demo_seconds')]:.0f} s (fit "
                f"{values[(method, 'fit_seconds')]:.0f} s) and printed ACC "
                f"{values[(method, 'acc')]:.3f} / NMI {values[(method, 'nmi')]:.3f}, k = "
                f"{values[(method, 'n_clusters')]:.0f}")

    return (f"On the 2-core machine of the record the demo took {run('full')}; "
            f"`sklearn-tcm demo --quick` took {run('quick')} "
            f"(`benchmarks/RESULTS.md`, section *bench_demo*: seed 0, torch threads "
            f"{threads}, commit {commit}).")


def demo_row(records):
    values, commit, threads = demo_figures(records)
    full, untrained = "full: learned metric (select)", "full: untrained critic (select)"
    kmeans = next(m for m, _ in values if m.startswith("k-means, true k"))
    silhouette = next(m for m, _ in values if m.startswith("k-means, silhouette"))

    def cell(method):
        return (f"{values[(method, 'acc')]:.3f} / {values[(method, 'nmi')]:.3f}"
                f" (k = {values[(method, 'n_clusters')]:.0f})")

    return (f"| `sklearn-tcm demo`: metric learned on digits 0-4, all of digits 5-9 clustered, "
            f"k unknown (ACC / NMI; *bench_demo*, seed 0, {threads} threads, commit {commit}) "
            f"| {cell(full)}; the same search under an untrained critic {cell(untrained)} "
            f"| {kmeans}: {cell(kmeans)}; {silhouette}: {cell(silhouette)} |")


ROW_PREFIX = "| `sklearn-tcm demo`: metric learned"


def render(text, records):
    start, end = "<!-- demo:start -->", "<!-- demo:end -->"
    before, rest = text.split(start, 1)
    text = before + start + "\n" + demo_sentence(records) + "\n" + end + rest.split(end, 1)[1]
    lines = [demo_row(records) if line.startswith(ROW_PREFIX) else line
             for line in text.split("\n")]
    return "\n".join(lines)


def main():
    records = json.loads((BENCH_DIR / "results" / "bench_demo.json").read_text())
    README.write_text(render(README.read_text(encoding="utf-8"), records), encoding="utf-8")
    print(f"rendered the demo figures of {README}")


if __name__ == "__main__":
    main()
