"""Render the README's figures from their records (``results/*.json``).

* the demo sentence and row from ``bench_demo.json`` (between the
  ``<!-- demo:start -->`` / ``<!-- demo:end -->`` markers and the results
  table's row that starts with ``| `sklearn-tcm demo```);
* the user-grid row from ``bench_user_grids.json`` (the row that starts
  with :data:`GRID_PREFIX`), the shipped metric being the record's method
  :data:`SHIPPED_METHOD`.

``tests/test_docs.py`` checks that the README says what the records say.
Run ``python benchmarks/render_readme.py`` after those benchmarks.
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

    def best(budget):
        return f"{100 * values[(f'{budget}: learned metric (select)', 'validation_best')]:.0f} %"

    return (f"On the 2-core machine of the record the demo took {run('full')}; "
            f"`sklearn-tcm demo --quick` took {run('quick')} "
            f"(`benchmarks/RESULTS.md`, section *bench_demo*: seed 0, torch threads "
            f"{threads}, commit {commit}). The critics of the two budgets differ in how "
            f"well they rank (the truth first in {best('full')} of the full budget's "
            f"validation tasks, {best('quick')} of the quick one's: the record's "
            f"`validation_best`).")


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
GRID_PREFIX = "| Picking one partition of a user's grid"
#: The method of bench_user_grids' record that is the metric shipped now, and
#: the one shipped before it.
SHIPPED_METHOD, PREVIOUS_METHOD = "ari_both", "previous_shipped"


def grid_row(records):
    values = {(r["dataset"], r["method"], r["metric"]): r for r in records}
    first = next(iter(records))

    def figure(method, metric, dataset="all grids", digits=3):
        return f"{values[(dataset, method, metric)]['value']:.{digits}f}"

    sets = [d.removeprefix("images ") for d in dict.fromkeys(r["dataset"] for r in records)
            if d.startswith("images ")]
    images = " / ".join(sets)

    def image_figures(method):
        return " / ".join(figure(method, "regret", f"images {name}") for name in sets)

    k_errors = ", ".join(
        f"{name} {figure(SHIPPED_METHOD, 'k_error', dataset, 1)}"
        for dataset, name in (("blobs3", "three blobs"), ("moons", "moons"),
                              ("circles", "circles"), ("noisy_blobs", "noisy blobs")))
    return (
        f"{GRID_PREFIX} (57 partitions: KMeans k 2-10, DBSCAN over eps, 4 linkages x k, "
        f"HDBSCAN) of three blobs, moons, circles, noisy blobs, digits in [0, 1] and "
        f"standardised: regret = best ARI of the grid - ARI of the pick (*bench_user_grids*, "
        f"{first['n_runs']} seeds x 6 grids, commit {first['commit']}) "
        f"| shipped metric {figure(SHIPPED_METHOD, 'regret')}, not worse than silhouette's "
        f"pick on {100 * float(figure(SHIPPED_METHOD, 'not_worse')):.0f} % of grids, "
        f"degenerate picks {figure(SHIPPED_METHOD, 'degenerate', digits=2)}; its `predict` "
        f"k error {k_errors}; the metric shipped before "
        f"{figure(PREVIOUS_METHOD, 'regret')}; the same critic untrained "
        f"{figure(SHIPPED_METHOD + '_untrained', 'regret')}. Same record, ~90-partition pools "
        f"of image tasks ({images}, classes all metrics here were trained on): shipped "
        f"{image_figures(SHIPPED_METHOD)}, the metric shipped before "
        f"{image_figures(PREVIOUS_METHOD)}, silhouette {image_figures('silhouette')} "
        f"| silhouette {figure('silhouette', 'regret')}, Calinski-Harabasz "
        f"{figure('calinski_harabasz', 'regret')}, Davies-Bouldin "
        f"{figure('davies_bouldin', 'regret')} |")


def render(text, records, grid_records=None):
    start, end = "<!-- demo:start -->", "<!-- demo:end -->"
    before, rest = text.split(start, 1)
    text = before + start + "\n" + demo_sentence(records) + "\n" + end + rest.split(end, 1)[1]
    lines = [demo_row(records) if line.startswith(ROW_PREFIX) else line
             for line in text.split("\n")]
    if grid_records is not None:
        lines = [grid_row(grid_records) if line.startswith(GRID_PREFIX) else line
                 for line in lines]
    return "\n".join(lines)


def main():
    records = json.loads((BENCH_DIR / "results" / "bench_demo.json").read_text())
    grids = BENCH_DIR / "results" / "bench_user_grids.json"
    grid_records = json.loads(grids.read_text()) if grids.is_file() else None
    README.write_text(render(README.read_text(encoding="utf-8"), records, grid_records),
                      encoding="utf-8")
    print(f"rendered the record figures of {README}")


if __name__ == "__main__":
    main()
