"""Peak memory of ``predict`` on 70 000 x 784 inputs (DEC and the learned metric).

Each measurement runs in a fresh Python process (peak RSS is per process):
the model is fitted on a small budget, then ``predict`` is called on 70 000
rows of 784 features (the MNIST test set tiled with pixel noise when present,
random data otherwise). The peak resident memory of the whole process is
reported, with the size an n x n float64 matrix would have (36.5 GiB).
Target: <= 4 GiB.

Run ``python benchmarks/bench_memory.py`` (``--smoke`` for 2 000 rows).
"""

import json
import subprocess
import sys
import textwrap

from _harness import DATA_DIR, Recorder, parse_args

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from pathlib import Path
    n, kind, data_dir = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    rng = np.random.default_rng(0)
    path = data_dir / "mnist_test.npz"
    if path.is_file():
        with np.load(path) as data:
            base = data["X"].reshape(len(data["X"]), -1).astype(np.float32) / 255
    else:
        base = rng.random((10000, 784), dtype=np.float32)
    X = base[rng.integers(0, len(base), size=n)]
    X += rng.normal(scale=0.01, size=X.shape).astype(np.float32)
    from sklearn_tcm import DECClustering, LearnedMetricClustering
    if kind == "dec":
        model = DECClustering(10, hidden_dims=(500, 500, 2000), pretrain_epochs=1,
                              max_iter=50, n_init=2, random_state=0).fit(X[:2000])
    else:
        y = rng.integers(0, 5, size=2000)
        model = LearnedMetricClustering(n_tasks=6, synthetic_tasks=3, gae_epochs=1, critic_epochs=3,
                                        adversarial_rounds=0,
                                        random_state=0).fit(base[:2000], y)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    labels = model.predict(X)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    method = "dec" if kind == "dec" else "learned metric, search=select"
    print(json.dumps({"peak_rss_mb": peak, "before_predict_mb": before, "method": method,
                      "predict_seconds": seconds, "n_clusters": int(len(np.unique(labels)))}))
""")


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    n = 2000 if args.smoke else 70000
    recorder = Recorder("bench_memory", args,
                        "smoke" if args.smoke else f"n={n} x 784, small fitting budget")
    for kind in ("dec", "lmc"):
        result = subprocess.run([sys.executable, "-c", CHILD, str(n), kind, str(DATA_DIR)],
                                capture_output=True, text=True, check=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        # the method label comes from the fitted model (its default search mode)
        recorder.add(f"rows_{n}", figures["method"], seconds=figures["predict_seconds"],
                     peak_rss_mb=figures["peak_rss_mb"],
                     before_predict_mb=figures["before_predict_mb"],
                     predict_seconds=figures["predict_seconds"])
        print(kind, figures, flush=True)
    recorder.note(f"An n x n float64 matrix for n={n} would take {n * n * 8 / 2**30:.1f} GiB.")
    recorder.write("Peak memory of predict on large inputs",
                   ["peak_rss_mb", "before_predict_mb", "predict_seconds"],
                   preamble="Peak resident memory of the whole process (fit on 2 000 rows, "
                            "then predict on all rows). Target: <= 4096 MB.")
    return recorder


if __name__ == "__main__":
    main()
