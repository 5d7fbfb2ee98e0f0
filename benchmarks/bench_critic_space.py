"""Probe: is the truth the most compact clustering of unseen classes in a learned space?

The critic is geometry-only, so it cannot rank a truth first that the
geometry contradicts. The design names computing the scores in a
representation learned on the references as the promising route. This
probe measures its premise without a critic: a
:class:`~sklearn_tcm.DSCLClustering` (MLP 256-128-32, Adam 1e-4, 1 000
iterations, as in ``bench_dscl.py``) is trained on classes 0-4; test tasks
of classes 5-9 (the protocol of ``bench_critic.py``: truth and its seed
negatives) are scored by silhouette, Calinski-Harabasz and Davies-Bouldin
in the input space (methods ``<index>_input``) and in the learned space
(``<index>_dscl``). If the truth ranked first far more often in the learned
space, a critic computed there would have a better chance to transfer.

Run ``python benchmarks/bench_critic_space.py`` (``--smoke`` for a tiny run).
"""

from _harness import Recorder, parse_args, timer
from bench_critic import evaluate, test_tasks

from sklearn_tcm import DSCLClustering


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    recorder = Recorder("bench_critic_space", args,
                        "smoke" if args.smoke else "DSCL 1000 it; 40 test tasks per dataset")
    names = ["digits"] if args.smoke else ["digits", "mnist_test"]
    for seed in range(args.seeds):
        for name in names:
            data = recorder.load(name)
            if data is None:
                continue
            X, y = data
            if args.smoke:
                X, y = X[:400], y[:400]
            dataset = f"{name.removesuffix('_test')}_unseen"
            with timer() as t:
                model = DSCLClustering(
                    5, hidden_layer_sizes=(256, 128), n_components=32, learning_rate=1e-4,
                    max_iter=5 if args.smoke else 1000, device=args.device,
                    random_state=seed,
                ).fit(X[y < 5], y[y < 5])
            recorder.add(dataset, "dscl_fit", seconds=t["seconds"], fit_seconds=t["seconds"])
            X_test, y_test = X[y >= 5], y[y >= 5]
            n_tasks = 3 if args.smoke else 40
            for space, Z in (("input", X_test), ("dscl", model.transform(X_test))):
                # the same seed draws the same classes and points in both spaces
                tasks = test_tasks(Z, y_test, n_tasks, 1000 + seed)
                evaluate(recorder, dataset, tasks, {}, {}, suffix=f"_{space}")
            print(f"{dataset} seed {seed} done", flush=True)
    recorder.write(
        "Probe: ranking the truth of unseen classes in the input and in a learned space",
        ["best", "top3", "mrr", "beats_truth_rate", "beats_truth_rate_kmeans_from_truth",
         "beats_truth_rate_merge", "fit_seconds"],
        preamble=(
            "DSCL trained on classes 0-4; test tasks of classes 5-9 as in bench_critic "
            "(truth + seed negatives); classical indices in the input space (`_input`) and "
            "in the DSCL space (`_dscl`). beats_truth_rate_<family>: share of tasks where "
            "that competitor scores at least as high as the truth."
        ),
    )
    return recorder


if __name__ == "__main__":
    main()
