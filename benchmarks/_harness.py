"""Shared benchmark harness: arguments, data, timing, memory and result records.

Every benchmark script writes

* its section of ``benchmarks/RESULTS.md`` (between ``<!-- NAME:start -->`` and
  ``<!-- NAME:end -->`` markers, so scripts do not overwrite each other), and
* ``benchmarks/results/NAME.json``: a list of records in the format of
  the developer guide (``doc/guide/developers.rst``, one per dataset, method
  and metric; ``value`` is the mean over
  ``n_runs`` seeds).

``--smoke`` runs a tiny budget and writes into a temporary directory (or
``--out``), never over the committed results.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from sklearn_tcm._persistence import atomic_write

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATA_DIR = Path(os.environ.get("SKLEARN_TCM_DATA", REPO_DIR.parent / "shared" / "data"))


def parse_args(description, argv=None, default_seeds=5, extra=()):
    parser = argparse.ArgumentParser(description=description)
    for flag, options in extra:  # a script's own arguments
        parser.add_argument(flag, **options)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny budget; results go to a temporary directory")
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"number of seeds (default {default_seeds}, 1 with --smoke)")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for RESULTS.md and results/*.json "
                             "(default: benchmarks/, or a temporary one with --smoke)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 1 if args.smoke else default_seeds
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="sklearn_tcm_smoke_")) if args.smoke \
            else BENCH_DIR
    return args


def load_dataset(name):
    """``(X, y)`` of a named dataset, or None when its file is absent.

    ``digits`` is scikit-learn's embedded copy; other names are files
    ``<name>.npz`` of the shared data directory (``$SKLEARN_TCM_DATA``).
    Pixels are scaled to [0, 1].
    """
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    path = DATA_DIR / f"{name}.npz"
    if not path.is_file():
        return None
    from sklearn_tcm.datasets import load_npz

    X, y = load_npz(path)
    return X.astype(np.float64) / 255.0, y


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer():
    result = {}
    start = time.perf_counter()
    yield result
    result["seconds"] = time.perf_counter() - start


def _git(*args):
    """What a git command prints in the repository, or None without git."""
    try:
        return subprocess.run(["git", *args], cwd=REPO_DIR, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


class Recorder:
    """Collects per-seed measurements and writes the records and the report."""

    def __init__(self, benchmark, args, budget):
        self.benchmark = benchmark
        self.args = args
        self.budget = budget
        self.values = {}  # (dataset, method, metric) -> list of values
        self.task_values = {}  # (dataset, method, metric) -> {run: list of per-task values}
        self.seconds = {}  # (dataset, method) -> list of seconds
        self.notes = []
        self.kept = []  # records of an earlier run, for datasets not rerun
        # the code measured is the code at the start (a long run may outlive a commit)
        self.commit = _git("rev-parse", "--short", "HEAD") or "unknown"
        # whether the package or the benchmarks had uncommitted edits
        status = _git("status", "--porcelain", "--", "sklearn_tcm", "benchmarks/*.py")
        self.dirty = None if status is None else bool(status)
        self.command = ("python benchmarks/" + benchmark + ".py " + shlex.join(
            a for a in sys.argv[1:] if a)).strip()

    def keep_earlier(self, datasets_rerun, methods_rerun=None):
        """Keep the committed records of the datasets (or methods) this run does not redo.

        They are written back unchanged (with their own commit, date and
        budget) and shown in a separate table, so a run of some datasets
        does not drop the others' results. With ``methods_rerun``, rows of a
        rerun dataset are kept too when their method is not rerun.
        """
        name = f"{self.benchmark}.json"
        path = Path(self.args.out) / "results" / name
        if not path.exists():
            path = BENCH_DIR / "results" / name
        if not path.exists():
            return
        self.kept = [r for r in json.loads(path.read_text())
                     if r["dataset"] not in datasets_rerun
                     or (methods_rerun is not None and r["method"] not in methods_rerun)]

    def add(self, dataset, method, seconds=None, **metrics):
        for metric, value in metrics.items():
            self.values.setdefault((dataset, method, metric), []).append(float(value))
        if seconds is not None:
            self.seconds.setdefault((dataset, method), []).append(float(seconds))

    def add_task(self, dataset, method, run, **metrics):
        """One task's figures under independent run (fit) ``run``.

        The record's ``value`` is the mean over runs of each run's mean over
        its tasks, ``std`` the spread over runs (the record format), and ``task_std``
        / ``n_tasks`` the spread over all tasks, kept apart.
        """
        for metric, value in metrics.items():
            runs = self.task_values.setdefault((dataset, method, metric), {})
            runs.setdefault(run, []).append(float(value))

    def _task_summaries(self):
        """(dataset, method, metric) -> (per-run means, all task values)."""
        return {key: ([float(np.mean(v)) for v in runs.values()],
                      [x for v in runs.values() for x in v])
                for key, runs in self.task_values.items()}

    def merge(self, other):
        """Add the measurements of another recorder (e.g. one seed run in a worker)."""
        for key, values in other.values.items():
            self.values.setdefault(key, []).extend(values)
        for key, runs in other.task_values.items():
            for run, values in runs.items():
                self.task_values.setdefault(key, {}).setdefault(run, []).extend(values)
        for key, values in other.seconds.items():
            self.seconds.setdefault(key, []).extend(values)
        for text in other.notes:
            if text not in self.notes:
                self.notes.append(text)

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)
        print(text, flush=True)

    def load(self, name):
        """``load_dataset(name)``, with a note in the report when its file is absent."""
        data = load_dataset(name)
        if data is None:
            self.note(f"{name}: data file not found, skipped")
        return data

    def records(self):
        common = {
            "benchmark": self.benchmark,
            "command": self.command,
            "versions": _versions(),
            "device": self.args.device,
            "threads": torch.get_num_threads(),
            "commit": self.commit,
            "dirty": self.dirty,
            "n_seeds": self.args.seeds,
            "date": datetime.date.today().isoformat(),
            "budget": self.budget,
        }
        def record(dataset, method, metric, run_values, **extra):
            seconds = self.seconds.get((dataset, method))
            return {**common, "dataset": dataset, "method": method, "metric": metric,
                    "value": float(np.mean(run_values)), "std": float(np.std(run_values)),
                    "n_runs": len(run_values), **extra,
                    "seconds": float(np.mean(seconds)) if seconds else None}

        out = [record(*key, values) for key, values in self.values.items()]
        out += [record(*key, run_means, task_std=float(np.std(tasks)), n_tasks=len(tasks))
                for key, (run_means, tasks) in self._task_summaries().items()]
        return out + self.kept

    def table(self, metrics, records):
        """Markdown table: one row per (dataset, method, commit), mean ± std per metric."""
        rows = {}
        for r in records:
            rows.setdefault((r["dataset"], r["method"], r["commit"]), {})[r["metric"]] = r
        lines = ["| dataset | method | " + " | ".join(metrics) + " | seconds | commit |",
                 "|" + "---|" * (len(metrics) + 4)]
        for (dataset, method, commit), cells in rows.items():
            text = [_cell(r["value"], r["std"], r["n_runs"]) if (r := cells.get(m)) else ""
                    for m in metrics]
            seconds = next((r["seconds"] for r in cells.values() if r.get("seconds")), None)
            sec = f"{seconds:.1f}" if seconds else ""
            lines.append(f"| {dataset} | {method} | " + " | ".join(text)
                         + f" | {sec} | {commit} |")
        return "\n".join(lines)

    def write(self, title, metrics, preamble=""):
        out = Path(self.args.out)
        (out / "results").mkdir(parents=True, exist_ok=True)
        json_path = out / "results" / f"{self.benchmark}.json"
        _write_text(json_path, json.dumps(self.records(), indent=1) + "\n")
        section = [
            f"## {title}",
            "",
            f"Command: `{self.command}` · commit {self.commit}"
            f"{' (uncommitted edits)' if self.dirty else ''} · "
            f"{datetime.date.today().isoformat()} · device {self.args.device} · "
            f"torch threads {torch.get_num_threads()} · {platform.machine()}"
            f" · seeds {self.args.seeds} · budget: {self.budget}",
            "",
        ]
        if preamble:
            section += [preamble.strip(), ""]
        section += [self.table(metrics, self.records()), ""]
        if self.kept:
            budgets = dict.fromkeys(f"{r['commit']}: {r['budget']}" for r in self.kept)
            section += ["Rows of another commit were not rerun; their budgets: "
                        + "; ".join(budgets), ""]
        if self.notes:
            section += ["Notes:", ""] + [f"- {n}" for n in self.notes] + [""]
        _replace_section(out / "RESULTS.md", self.benchmark, "\n".join(section))
        print(f"wrote {json_path} and {out / 'RESULTS.md'}", flush=True)


def _versions():
    """Versions of Python and of the libraries a figure depends on."""
    import scipy
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
            "torch": torch.__version__}


def _cell(mean, std, n_runs):
    """One table cell: ``mean ± std`` over several runs, the value of one."""
    return f"{mean:.3f} ± {std:.3f}" if n_runs > 1 else f"{mean:.3f}"


def _replace_section(path, name, body):
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.is_file() else (
        "# Benchmark results\n\nEach section is written by its script in `benchmarks/`; "
        "machine-readable records are in `benchmarks/results/<name>.json`.\n"
    )
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    _write_text(path, text)


def _write_text(path, text):
    """Replace a record file atomically: an interrupted run leaves the old one."""
    with atomic_write(path, "w", encoding="utf-8") as file:
        file.write(text)


def kmeans_silhouette(X, seed, k_max=10):
    """Labels of k-means (n_init=10) with k in [2, k_max] chosen by silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    best = None
    for k in range(2, min(k_max, X.shape[0] - 1) + 1):
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(X)
        score = silhouette_score(X, labels)
        if best is None or score > best[0]:
            best = (score, labels)
    return best[1]
