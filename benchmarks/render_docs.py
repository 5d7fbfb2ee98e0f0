"""Render the tables of the README and the guides from their records (``results/*.json``).

One generic renderer: a table is declared as data (:data:`TABLES`), its
rows and columns each fixing part of a record key ``(dataset, method,
metric)``; a cell is the record's ``value``, with ``± std`` when the record
holds several runs (seeds or fits), ``--`` when it has no such row. A table
goes between the comments ``.. rendered from <name>: start`` / ``..
rendered from <name>: end`` of its guide, or between ``<!-- <name>:start
-->`` / ``<!-- <name>:end -->`` in the README, under a line naming its
record's runs, threads and commit. ``tests/test_docs.py`` checks that the
docs hold what the records give. Run ``python benchmarks/render_docs.py``
after a benchmark; ``python benchmarks/provenance.py`` says which records
are older than the code they measure.
"""

import json
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


class Record:
    """The rows of one benchmark record, by ``(dataset, method, metric)``."""

    def __init__(self, name):
        self.name = name
        self.rows = json.loads((BENCH_DIR / "results" / f"{name}.json").read_text())
        self.by_key = {(r["dataset"], r["method"], r["metric"]): r for r in self.rows}

    def cell(self, key, digits=3):
        row = self.by_key.get(key)
        if row is None:
            return "--"
        text = f"{row['value']:.{digits}f}"
        if row["n_runs"] > 1:
            text += f" ± {row['std']:.{digits}f}"
        return text

    def source(self, keys):
        """The runs, threads and commits of the rows at ``keys``."""
        rows = [self.by_key[key] for key in keys if key in self.by_key] or self.rows

        def distinct(field):
            return ", ".join(dict.fromkeys(str(r.get(field)) for r in rows))

        runs = max(r["n_runs"] for r in rows)
        return (f"*{self.name}*, {runs} run{'s' if runs > 1 else ''}, "
                f"torch threads {distinct('threads')}, commit {distinct('commit')}")


@dataclass
class Table:
    """Rows x columns of one record; each row and column fixes part of the key."""

    record: str
    caption: str
    rows: list  # [(label, {"dataset": ..., ...}), ...]
    columns: list  # [(label, {"method": ..., "metric": ...}), ...]
    digits: int = 3
    markdown: bool = False

    def render(self, record):
        def key(row, col):
            fields = {**row, **col}
            # a column's method may name a field of the row, e.g. "dec_{init}"
            return tuple(fields[k].format(**fields) for k in ("dataset", "method", "metric"))

        keys = [[key(row, col) for _, col in self.columns] for _, row in self.rows]
        cells = [[label] + [record.cell(k, self.digits) for k in row_keys]
                 for (label, _), row_keys in zip(self.rows, keys)]
        header = [""] + [label for label, _ in self.columns]
        table = markdown_table(header, cells) if self.markdown else rst_table(header, cells)
        source = record.source([k for row_keys in keys for k in row_keys])
        return f"{self.caption} ({source}):\n\n{table}"


def rst_table(header, rows):
    """A simple reStructuredText table of lists of cells."""
    header = [header[0] or " "] + header[1:]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def markdown_table(header, rows):
    return "\n".join("| " + " | ".join(map(str, cells)) + " |"
                     for cells in [header, ["---"] * len(header), *rows])


def by(field, labels, **fixed):
    """``[(label, {field: value, **fixed}), ...]`` from ``{value: label}``."""
    return [(label, {field: value, **fixed}) for value, label in labels.items()]


_IMAGES = {"images unseen": "unseen image classes", "images seen": "seen image classes",
           "images whole": "whole image sets"}
_SHAPES = {"blobs3": "three blobs", "blobs3_std": "standardised blobs", "aniso": "anisotropic",
           "moons": "two moons", "circles": "two circles", "blobs40": "40 blobs",
           "uniform": "uniform square", "gaussian": "one Gaussian", "outlier": "far outlier"}
_SUITE = {"suite": "suite, 38 sets", "fcps": "fcps", "graves": "graves", "sipu": "sipu"}
_SELECTION = {"images": "unseen image classes", "suite": "suite (battery left out)",
              "prior": "synthetic prior (left out)", "keel": "KEEL tables (left out)"}
_SELECTORS = {"learned_metric": "learned metric",
              "learned_metric_regressor": "learned metric + its regressor",
              "pretrained": "shipped metric",
              "gbr_indices": "regressor on indices",
              "gbr_embedding": "regressor on indices + embedding",
              "stack": "metric + regressor, pool-standardised", "silhouette": "silhouette",
              "calinski_harabasz": "Calinski-Harabasz", "davies_bouldin": "Davies-Bouldin",
              "random": "random"}
_LMC_SETS = {"digits_unseen": "digits 5-9", "mnist_unseen": "MNIST 5-9", "usps": "USPS",
             "coil20_unseen": "COIL-20 15-19", "blobs": "Gaussian blobs",
             "moons": "moons + blobs", "suite": "suite, 38 sets",
             "mnist_test_whole": "MNIST test, all", "usps_whole": "USPS, all"}
_CLUSTERERS = {"critic": "CriticClustering", "critic_untrained": "untrained critic",
               "hdbscan": "HDBSCAN", "kmeans_silhouette": "k-means, silhouette k",
               "kmeans_true_k": "k-means, true k", "genie_true_k": "Genie, true k"}
_FOOLED = [f"caution={c}, rounds={r}, trust_region={t}"
           for c in (0, 1) for r in (0, 2) for t in (0, 0.85)]

#: (file, name) -> table; the name is the record's unless a file holds two of one record.
# "a511002": the single fit shipped before the stack; "retrained" ... "stackweak": fits
# at a0b548d / 1adc8db, measured at 531a8a7 and kept (--keep-earlier)
_WEAK_METRICS = {"shipped": "shipped (stack)", "a511002": "a511002 file",
                 "retrained": "fit 0", "fit1": "fit 1",
                 "fit2": "fit 2",
                 "stack012": "fits 0-2 stacked", "weak0": "weak spots, fit 0",
                 "weak1": "weak spots, fit 1", "weak2": "weak spots, fit 2",
                 "stackweak": "weak spots, stacked"}
_WEAK_SETS = {"aniso": "aniso", "varied": "varied", "uneven": "uneven", "overlap": "overlap",
              "many": "many", "text_tfidf": "TF-IDF", "text_lsa": "LSA",
              "with clusters": "mean"}

TABLES = {
    ("README.md", "results"): Table(
        "bench_clusterer", "Mean ARI over seeds; CriticClustering, its ablation, HDBSCAN and "
        "silhouette-chosen k-means with k unknown, k-means and Genie given the true k",
        by("dataset", {**_SUITE, **_IMAGES, **_SHAPES}, metric="ari"),
        by("method", _CLUSTERERS), markdown=True),
    ("doc/guide/learned_metric.rst", "bench_clusterer"): Table(
        "bench_clusterer", "Mean ARI over the seeds, and CriticClustering's mean absolute k error",
        by("dataset", {**_SUITE, **_IMAGES, **_SHAPES}),
        by("method", {**_CLUSTERERS, "critic_without_genie": "without Genie"}, metric="ari")
        + [("abs. k error", {"method": "critic", "metric": "abs_k_error"})]),
    ("doc/guide/learned_metric.rst", "bench_clusterer_seeds"): Table(
        "bench_clusterer", "Stability over ``random_state`` 0-9 (share of seeds giving the "
        "most frequent k)",
        by("dataset", {"blobs300 std 0.6 standardised": "300 blobs, std 0.6, standardised",
                       "blobs300 std 1.0 standardised": "300 blobs, std 1.0, standardised"},
           method="critic"),
        by("metric", {"same_k": "same k", "modal_k": "most frequent k", "ari": "ARI"})),
    ("doc/guide/learned_metric.rst", "bench_clusterer_scale"): Table(
        "bench_clusterer", "Time (s) and peak memory (MiB) on one thread",
        by("dataset", {f"scale n={n} d={d}": f"n = {n}, d = {d}" for n, d in (
            (2000, 10), (100000, 10), (1000000, 10), (20000, 2000))}, method="critic"),
        by("metric", {"fit_seconds": "fit", "predict_seconds": "predict of n new rows",
                      "peak_rss_mb": "peak memory", "n_clusters": "k found"}), digits=1),
    ("doc/guide/learned_metric.rst", "bench_clusterer_fooled"): Table(
        "bench_clusterer_fooled", "CriticClustering's finds on training-kind tasks",
        [(f"{name}, {label}", {"dataset": d, "method": m})
         for d, name in {"prior": "synthetic prior", "digits": "digits"}.items()
         for m, label in {"shipped": "shipped metric (three fits stacked)",
                          "A0": "its first fit alone",
                          "A1": "its second fit alone",
                          "untrained": "untrained critic"}.items()],
        by("metric", {"beats_truth_rate": "find beats the truth",
                      "silhouette_beats_truth_rate": "silhouette: find above the truth",
                      "ari": "ARI", "abs_k_error": "abs. k error"})),
    ("doc/guide/learned_metric.rst", "bench_weak_spots"): Table(
        "bench_weak_spots", "ARI of CriticClustering under each metric, k unknown "
        "(no structure: share of one-cluster answers)",
        by("method", _WEAK_METRICS | {"shipped_untrained": "shipped, untrained critic",
                                      "hdbscan": "HDBSCAN (defaults)",
                                      "kmeans_silhouette": "k-means, silhouette k"}),
        by("dataset", _WEAK_SETS, metric="ari")
        + by("dataset", {"no structure": "no structure"}, metric="one_cluster"), digits=2),
    ("doc/guide/learned_metric.rst", "bench_weak_spots_grid"): Table(
        "bench_weak_spots", "ARI of each selector's pick from the user grid",
        by("method", _WEAK_METRICS | {"shipped_untrained": "shipped, untrained critic",
                                      "silhouette": "silhouette",
                                      "calinski_harabasz": "Calinski-Harabasz"}),
        by("dataset", {k: v for k, v in _WEAK_SETS.items() if k not in ("many", "with clusters")},
           metric="picked_ari"), digits=2),
    ("doc/guide/learned_metric.rst", "bench_selection"): Table(
        "bench_selection", "Selection regret (best ARI in the pool - ARI of the pick)",
        by("dataset", _SELECTION, metric="regret"), by("method", _SELECTORS)),
    ("doc/guide/learned_metric.rst", "bench_selection_reduction"): Table(
        "bench_selection", "Regret reduction against the best classical index of the row "
        "(1 - regret / its regret; higher is better)",
        by("dataset", {**_SELECTION, "suite_clusters": "suite, sets with clusters",
                       "keel_clusters": "KEEL, tables with clusters"},
           metric="regret_reduction"),
        by("method", {k: v for k, v in _SELECTORS.items()
                      if k in ("learned_metric", "learned_metric_regressor", "pretrained",
                               "gbr_indices", "gbr_embedding", "stack")}), digits=2),
    ("doc/guide/learned_metric.rst", "bench_score_points"): Table(
        "bench_score_points", "Selection regret of the shipped metric under the two scoring "
        "rules (mean over the seeds)",
        by("dataset", {"suite": "suite, 38 sets", "suite_many": "suite, 15 clusters or more",
                       "fcps": "fcps", "graves": "graves", "sipu": "sipu",
                       "prior": "synthetic prior", "keel": "KEEL tables",
                       "images": "unseen image classes"}, metric="regret"),
        by("method", {"shipped": "20 points per cluster",
                      "shipped_max_points": "400 points for all",
                      "silhouette": "silhouette", "calinski_harabasz": "Calinski-Harabasz",
                      "density_validity": "density index", "random": "random"})),
    ("doc/guide/learned_metric.rst", "bench_objective"): Table(
        "bench_objective", "Selection regret of metrics trained on image classes 0-4",
        by("method", {"rank_graph": "``rank``, graph (default)", "ari_graph": "``ari``, graph",
                      "ari_both": "``ari``, graph + indices",
                      "ari_indices": "``ari``, indices only",
                      "untrained": "untrained critic (ablation)",
                      "gbr_indices": "regressor on the indices",
                      "calinski_harabasz": "Calinski-Harabasz", "silhouette": "silhouette",
                      "random": "random pick"}, metric="regret"),
        by("dataset", {"images": "unseen image classes", "suite": "benchmark suite"})),
    ("doc/guide/learned_metric.rst", "bench_lmc"): Table(
        "bench_lmc", "Mean ACC over the fits",
        by("dataset", _LMC_SETS, metric="acc"),
        by("method", {"evolve": "evolve", "select": "select",
                      "evolve_untrained": "evolve, untrained", "kmeans_true_k": "k-means, true k",
                      "kmeans_silhouette_k": "k-means, silhouette k", "hdbscan": "HDBSCAN"})),
    ("doc/guide/learned_metric.rst", "bench_fooled_blobs"): Table(
        "bench_fooled_blobs", "Easy blobs, mean over the fits",
        [(m.replace("_", " "), {"dataset": "easy_blobs", "method": m}) for m in _FOOLED],
        by("metric", {"beats_truth_rate": "search beats the truth", "acc": "ACC",
                      "validation_rate_last": "validation, last round"})),
    ("doc/guide/learned_metric.rst", "bench_critic"): Table(
        "bench_critic", "Share of test tasks whose truth is ranked first (Best) or in the top 3",
        [(f"{label}, {m}", {"dataset": d, "metric": m})
         for d, label in {"digits_unseen": "digits 5-9", "mnist_unseen": "MNIST 5-9",
                          "usps": "USPS", "coil20": "COIL-20", "blobs": "Gaussian blobs"}.items()
         for m in ("best", "top3")],
        by("method", {"rank": "rank (default)", "wgan": "wgan", "silhouette": "silhouette"})),
    ("doc/guide/learned_metric.rst", "bench_critic_space"): Table(
        "bench_critic_space", "Best / Top-3 of classical indices in the input and DSCL spaces",
        [(f"{label}, {space}", {"method": f"{index}_{space}"})
         for index, label in {"silhouette": "silhouette", "calinski_harabasz": "CH",
                              "neg_davies_bouldin": "Davies-Bouldin"}.items()
         for space in ("input", "dscl")],
        [(f"{name}, {m}", {"dataset": d, "metric": m})
         for d, name in {"digits_unseen": "digits 5-9", "mnist_unseen": "MNIST 5-9"}.items()
         for m in ("best", "top3")]),
    ("doc/guide/dec.rst", "bench_dec"): Table(
        "bench_dec", "ACC, mean ± std over seeds",
        by("dataset", {"digits": "sklearn digits", "mnist_test": "MNIST test set",
                       "usps": "USPS"}, metric="acc"),
        by("method", {"kmeans_raw": "k-means, pixels", "ae_kmeans": "autoencoder + k-means",
                      "dec": "DEC", "idec": "IDEC"})),
    ("doc/guide/dec.rst", "bench_dec_init"): Table(
        "bench_dec_init", "MNIST test set, ACC, mean ± std over seeds",
        [(label, {"dataset": "mnist_test", "metric": "acc", "init": key})
         for key, label in {"glorot": "Glorot-uniform, zero biases (default)",
                            "torch_default": "PyTorch's default"}.items()],
        [("autoencoder + k-means", {"method": "ae_kmeans_{init}"}),
         ("DEC", {"method": "dec_{init}"})]),
    ("doc/guide/dscl.rst", "bench_dscl"): Table(
        "bench_dscl", "Mean over seeds (NMI on unseen classes, ACC on the toy problems)",
        [(label, {"dataset": d, "metric": m}) for d, m, label in (
            ("mnist_unseen", "nmi", "MNIST 5-9, unseen (NMI)"),
            ("digits_unseen", "nmi", "digits 5-9, unseen (NMI)"),
            ("toy", "acc", "the authors' 3-D toy problem (ACC)"),
            ("blobs9", "acc", "3 classes of 3 separated blobs (ACC)"))],
        by("method", {"dscl": "DSCL (default)", "dscl_span": "DSCL, span space",
                      "kmeans_raw": "k-means on the input"})),
    ("doc/guide/l2c.rst", "bench_l2c"): Table(
        "bench_l2c", "2-D shape test sets, k unknown but for k-means",
        by("method", {"l2c_small": '``"small"``', "l2c_paper": '``"paper"``',
                      "l2c_attention": '``"attention"``', "kmeans_true_k": "k-means, true k",
                      "kmeans_silhouette_k": "k-means, silhouette k",
                      "dbscan": "DBSCAN, tuned"}, dataset="points2d"),
        by("metric", {"mr": "MR", "nmi": "NMI", "k_accuracy": "k found exactly"})),
}


def replace_between(text, name, body, markdown):
    if markdown:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    else:
        start, end = f".. rendered from {name}: start", f".. rendered from {name}: end"
    before, rest = text.split(start, 1)
    return before + start + "\n\n" + body + "\n\n" + end + rest.split(end, 1)[1]


def rendered(path):
    """The text of ``path`` (relative to the repository) with its tables rendered."""
    text = (REPO_DIR / path).read_text(encoding="utf-8")
    for (file, name), table in TABLES.items():
        if file == path:
            body = table.render(Record(table.record))
            text = replace_between(text, name, body, table.markdown)
    return text


def main():
    for path in dict.fromkeys(file for file, _ in TABLES):
        (REPO_DIR / path).write_text(rendered(path), encoding="utf-8")
        print(f"rendered {path}")


if __name__ == "__main__":
    main()
