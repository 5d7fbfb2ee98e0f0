"""Ablation: what generated training tasks (``synthetic_tasks``) do to the critic.

The critic learns the priors of its task sampler. Trained on five reference
classes (sklearn digits 0-4, a third held out for class-disjoint
validation), its training tasks have at most three clusters. This script
trains the critic with ``synthetic_tasks`` in {0, 200, 400} (everything else
at its default, ``adversarial_rounds=0``) and measures, as ``bench_critic``
does, how often the truth ranks first (*best*) / in the top three (*top3*)
among its competitors on tasks of:

* ``digits_unseen``: digits classes 5-9 (never seen);
* ``mnist_unseen``: MNIST test-set classes 5-9 (another dataset, when present);
* ``blobs``: Gaussian blobs (10-D, 2-8 clusters).

``beats_truth_rate_kmeans_k-1`` and ``beats_truth_rate_merge`` show the
bias towards too few clusters: the share of tasks where k-means with one
cluster too few, or the truth with its two closest clusters merged, scores
at least as high as the truth.

Run ``python benchmarks/bench_synthetic.py`` (``--smoke`` for a tiny run).
"""

import numpy as np
from _harness import Recorder, load_dataset, parse_args, timer
from bench_critic import test_tasks
from sklearn.datasets import make_blobs

from sklearn_tcm import LearnedMetricClustering
from sklearn_tcm.learned_metric.critic import ranking_metrics
from sklearn_tcm.learned_metric.tasks import make_task

FAMILIES = ("kmeans_k-1", "merge")


def blob_tasks(n_tasks, seed):
    rng = np.random.default_rng(seed)
    tasks = []
    for i in range(n_tasks):
        X, y = make_blobs(int(rng.integers(100, 300)), 10, centers=int(rng.integers(2, 9)),
                          random_state=seed + i)
        tasks.append(make_task(X, y, 300, seed + i))
    return tasks


def family_beats(tasks, per_task, family):
    beats = [scores[j] >= scores[0] for task, scores in zip(tasks, per_task)
             for j, name in enumerate(task["families"]) if name == family]
    return float(np.mean(beats)) if beats else None


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    smoke = args.smoke
    settings = [4] if smoke else [0, 200, 400]
    n_test = 3 if smoke else 60
    fit_params = dict(adversarial_rounds=0)
    if smoke:
        fit_params.update(n_tasks=6, gae_epochs=1, critic_epochs=3)
    budget = "smoke" if smoke else (
        "defaults (n_tasks=200, gae_epochs=20, critic_epochs<=150), adversarial_rounds=0; "
        f"{n_test} test tasks per dataset")
    recorder = Recorder("bench_synthetic", args, budget)
    X, y = load_dataset("digits")
    if smoke:
        X, y = X[:400], y[:400]
    tests = {"digits_unseen": test_tasks(X[y >= 5], y[y >= 5], n_test, 1000)}
    mnist = None if smoke else load_dataset("mnist_test")
    if mnist is not None:
        tests["mnist_unseen"] = test_tasks(mnist[0][mnist[1] >= 5], mnist[1][mnist[1] >= 5],
                                           n_test, 1000)
    tests["blobs"] = blob_tasks(n_test if smoke else 20, 5)
    for seed in range(args.seeds):
        for n_synthetic in settings:
            method = f"synthetic_{n_synthetic}"
            with timer() as t:
                model = LearnedMetricClustering(
                    synthetic_tasks=n_synthetic, random_state=seed, device=args.device,
                    **fit_params).fit(X[y < 5], y[y < 5])
            recorder.add("digits_0_4", method, seconds=t["seconds"],
                         fit_seconds=t["seconds"], validation_best=model.validation_["best"])
            for dataset, tasks in tests.items():
                per_task = [np.asarray(model.score_clustering(task["X"], task["labels"]))
                            for task in tasks]
                metrics = ranking_metrics(per_task)
                beats = {f"beats_truth_rate_{family}": family_beats(tasks, per_task, family)
                         for family in FAMILIES}
                recorder.add(dataset, method, best=metrics["best"], top3=metrics["top3"],
                             mrr=metrics["mrr"],
                             **{k: v for k, v in beats.items() if v is not None})
                print(f"{method} {dataset}: best {metrics['best']:.3f} "
                      f"top3 {metrics['top3']:.3f}", flush=True)
    recorder.write(
        "Ablation: generated training tasks for the critic",
        ["best", "top3", "mrr", "beats_truth_rate_kmeans_k-1", "beats_truth_rate_merge",
         "fit_seconds", "validation_best"],
        preamble=(
            "Critic trained on sklearn digits classes 0-4 (3 training classes, 2 held out for "
            "validation) plus `synthetic_tasks` generated tasks. Test tasks as in "
            "bench_critic: truth + seed negatives, k in [2, 5] on classes 5-9."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
