"""Fit time of the learned metric, stage by stage: this tree against an earlier commit.

Times two fits of :class:`~sklearn_tcm.LearnedMetricClustering`, each in a
fresh process with one torch thread:

* ``demo``: the fit of ``sklearn-tcm demo`` (digits 0-4, its full budget);
* ``default``: a fit with default parameters on the references of
  ``bench_lmc.py`` (digits, MNIST-test and COIL-20, classes 0-4 / 0-14).

Each fit runs twice, side by side on the same machine: once with the
package of this working tree and once with the package of ``--base`` (a
commit, checked out into a clean temporary worktree). Stages are timed by
wrapping the module-level functions a fit calls (the same names in both
trees): building the tasks, training the graph auto-encoder, embedding the
tasks' candidates, training the critics (all rounds), the adversarial
searches and their new negatives, the validation of each round (its
searches included), and the final clustering of the references
(``labels_``). Also recorded: peak resident memory of each fit's process,
and the ratio base / current of every stage.

Run ``python benchmarks/bench_speed.py --base 52edb40`` (``--smoke``: tiny
budgets, current tree only unless ``--base`` is given).
"""

import functools
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _harness import REPO_DIR, Recorder, parse_args

STAGES = ("tasks", "gae", "embed", "critics", "adversarial_searches", "new_negatives",
          "validation", "labels", "fit")

# Runs in the child process: times the stages of one fit of the package on sys.path[0].
_CHILD = r'''
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import torch
torch.set_num_threads(1)
import sklearn_tcm
from sklearn_tcm.learned_metric import adversarial, estimator
config, smoke = sys.argv[3], sys.argv[4] == "1"
seconds, depth = {}, {"validation": 0}

def timed(module, name, stage, nested_in=None):
    original = getattr(module, name)
    def wrapper(*args, **kwargs):
        if nested_in and depth[nested_in]:
            return original(*args, **kwargs)
        if stage in depth:
            depth[stage] += 1
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start
            if stage in depth:
                depth[stage] -= 1
    setattr(module, name, wrapper)

try:  # the training's stages moved out of the estimator's module
    from sklearn_tcm.learned_metric import training as stages
except ImportError:
    stages = estimator
timed(stages, "draw_tasks", "tasks")
timed(stages, "train_gae", "gae")
timed(stages, "embed_task", "embed")
timed(stages, "train_ensemble", "critics")
timed(adversarial, "validate_round", "validation")
timed(adversarial, "search_tasks", "adversarial_searches", nested_in="validation")
timed(adversarial, "add_negatives" if hasattr(adversarial, "add_negatives")
      else "add_search_negatives", "new_negatives")
timed(estimator.LearnedMetricClustering, "predict", "labels")

from sklearn.datasets import load_digits
if config == "demo":
    from sklearn_tcm.cli import DEMO_BUDGETS
    X, y = load_digits(return_X_y=True)
    budget = DEMO_BUDGETS["quick" if smoke else "full"]
    model = estimator.LearnedMetricClustering(
        validation_fraction=0.0, k_range=(2, 5), random_state=0, **budget)
    args = (X[y < 5] / 16.0, y[y < 5])
else:
    import numpy as np
    # the references, written by the parent: the child never imports the current
    # tree's benchmarks, which may need modules an older package lacks
    with np.load(sys.argv[6]) as saved:
        n_sets = len(saved.files) // 2
        X_train = [saved[f"X_{i}"] for i in range(n_sets)]
        y_train = [saved[f"y_{i}"] for i in range(n_sets)]
    small = dict(n_tasks=8, synthetic_tasks=4, gae_epochs=1, critic_epochs=3,
                 adversarial_rounds=1, adversarial_tasks=2)
    model = estimator.LearnedMetricClustering(random_state=0, **(small if smoke else {}))
    args = (X_train, y_train)
profile_path = sys.argv[5]
if profile_path:
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
start = time.perf_counter()
model.fit(*args)
seconds["fit"] = time.perf_counter() - start
if profile_path:
    profiler.disable()
    import io, pstats
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(30)
        with open(profile_path, "a") as out:
            out.write(f"### {config}: top 30 functions by {order}\n\n```\n"
                      + text.getvalue().strip().split("\n", 3)[-1] + "\n```\n\n")
print(json.dumps({"seconds": seconds, "package": sklearn_tcm.__file__,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "validation_best": model.validation_["best"],
                  "labels_checksum": int(sum(int(l.sum()) for l in (
                      model.labels_ if isinstance(model.labels_, list) else [model.labels_])))}))
'''


def _worktree(commit):
    """A clean checkout of ``commit`` in a temporary directory."""
    path = Path(tempfile.mkdtemp(prefix="sklearn_tcm_base_")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=REPO_DIR,
                   check=True, capture_output=True)
    return path


@functools.cache
def _references_file(smoke):
    """bench_lmc's references in an ``.npz`` (``X_i``, ``y_i``), written once per run."""
    import numpy as np
    from bench_lmc import references

    path = Path(tempfile.mkdtemp(prefix="bench_speed_")) / "references.npz"
    X_train, y_train = references(smoke)
    np.savez(path, **{f"X_{i}": X for i, X in enumerate(X_train)},
             **{f"y_{i}": y for i, y in enumerate(y_train)})
    return path


def _run(tree, config, smoke, profile=""):
    """Stage timings of one fit with the package of ``tree``, in a fresh process.

    With ``profile`` (a file path), the fit runs under cProfile and its top
    functions by own and by cumulative time are appended to that file.
    """
    bench_dir = Path(__file__).resolve().parent
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree), str(bench_dir), config, str(int(smoke)),
         str(profile), str(_references_file(smoke)) if config == "default" else ""],
        capture_output=True, text=True, env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                                              "PATH": "/usr/bin:/bin"})
    if result.returncode != 0:
        raise RuntimeError(f"{config} fit at {tree} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _profile(args, configs):
    """Profile summary of this tree's fits: where the time goes, function by function."""
    import datetime

    from _harness import _commit

    path = Path(args.out) / "results" / "bench_speed_profile.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# Profile of the learned metric's fit\n\nCommand: `python benchmarks/bench_speed.py "
        f"--profile --configs {','.join(configs)}{' --smoke' if args.smoke else ''}` · commit "
        f"{_commit()} · {datetime.date.today().isoformat()} · one torch thread, one fit at a "
        "time (cProfile adds its own overhead; read shares, not seconds).\n\n")
    for config in configs:
        outcome = _run(REPO_DIR, config, args.smoke, profile=path)
        stages = ", ".join(f"{stage} {outcome['seconds'].get(stage, 0.0):.1f} s"
                           for stage in STAGES)
        with open(path, "a") as out:
            out.write(f"Stages of the profiled {config} fit: {stages}.\n\n")
    print(f"wrote {path}")
    return path


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1,
                      extra=[("--base", {"default": None,
                                         "help": "commit to compare with (a clean worktree)"}),
                             ("--configs", {"default": "demo,default",
                                            "help": "comma-separated: demo, default"}),
                             ("--jobs", {"type": int, "default": 2,
                                         "help": "fits run at once (default 2)"}),
                             ("--profile", {"action": "store_true",
                                            "help": "profile this tree's fits (cProfile) "
                                                    "into results/bench_speed_profile.md "
                                                    "instead of timing"})])
    configs = args.configs.split(",")
    if args.profile:
        return _profile(args, configs)
    trees = {"current": REPO_DIR}
    if args.base:
        trees[f"base {args.base}"] = _worktree(args.base)
    recorder = Recorder("bench_speed", args, "smoke" if args.smoke else
                        "demo: the demo's full budget; default: LearnedMetricClustering() "
                        "on bench_lmc's references; one torch thread per fit")
    if not args.smoke:  # a run of some configs keeps the others' records
        recorder.keep_earlier(configs)
    if "default" in configs:
        _references_file(args.smoke)  # written before the fits start, in this thread
    jobs = [(name, tree, config) for config in configs for name, tree in trees.items()]
    def run(job):
        outcome = _run(job[1], job[2], args.smoke)
        print(f"{job[2]} fit of {job[0]} done: {outcome['seconds']['fit']:.0f} s", flush=True)
        return outcome

    # fits run --jobs at a time on the same machine, one thread each
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = dict(zip(jobs, pool.map(run, jobs)))
    finally:
        for name, tree in trees.items():
            if name != "current":
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)],
                               cwd=REPO_DIR, capture_output=True)
    for (name, _, config), outcome in outcomes.items():
        figures = {f"{stage}_seconds": outcome["seconds"].get(stage, 0.0) for stage in STAGES}
        recorder.add(config, name, peak_rss_mb=outcome["peak_rss_mb"],
                     validation_best=outcome["validation_best"], **figures)
        print(config, name, json.dumps(outcome), flush=True)
    if args.base:
        base = f"base {args.base}"
        for config in configs:
            now, before = outcomes[("current", REPO_DIR, config)], \
                outcomes[(base, trees[base], config)]
            recorder.add(config, "speed-up (base / current)", **{
                f"{stage}_seconds": before["seconds"].get(stage, 0.0)
                / max(now["seconds"].get(stage, 0.0), 1e-9)
                for stage in STAGES if before["seconds"].get(stage)})
    recorder.write(
        "Fit time of the learned metric, stage by stage",
        [f"{stage}_seconds" for stage in STAGES] + ["peak_rss_mb", "validation_best"],
        preamble="Seconds per stage of one fit (one process, one torch thread and one "
                 "OpenMP thread per fit, on the 2-core machine); rows `speed-up` divide the base "
                 "commit's seconds by this tree's. `adversarial_searches` excludes the "
                 "validation searches (in `validation`); `labels` is the final clustering "
                 "of the references; `fit` is the whole fit.")
    return recorder


if __name__ == "__main__":
    main()
