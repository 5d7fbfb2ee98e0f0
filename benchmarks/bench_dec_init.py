"""Ablation: the autoencoder's weight initialisation in DECClustering.

``DECClustering`` starts its autoencoder Glorot-uniform with zero biases (as
the DEC / IDEC reference implementations); ``torch_default`` re-initialises
the same layers with PyTorch's default (``nn.Linear.reset_parameters``).
Same data, seed and budget otherwise: 50 pretraining epochs on the MNIST
test set (sklearn digits when the file is absent), then k-means in the
embedding (``ae_kmeans``) and DEC's self-training (``dec``, default Adam 1e-4).

Run ``python benchmarks/bench_dec_init.py`` (``--smoke`` for a tiny run).
"""

from contextlib import contextmanager
from unittest import mock

import numpy as np
from _harness import Recorder, parse_args, timer
from torch import nn

import sklearn_tcm.dec
from sklearn_tcm import DECClustering, clustering_accuracy


class _TorchDefaultAutoEncoder(sklearn_tcm.dec._AutoEncoder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()


@contextmanager
def initialisation(name):
    if name == "glorot":
        yield
    else:
        with mock.patch.object(sklearn_tcm.dec, "_AutoEncoder", _TorchDefaultAutoEncoder):
            yield


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    epochs = 2 if args.smoke else 50
    recorder = Recorder("bench_dec_init", args,
                        "smoke" if args.smoke else f"{epochs} pretrain epochs")
    name = "digits" if args.smoke else "mnist_test"
    data = recorder.load(name)
    if data is None:
        name, data = "digits", recorder.load("digits")
    X, y = data
    if args.smoke:
        X, y = X[:300], y[:300]
    X = X.astype(np.float32)
    k = np.unique(y).size
    common = dict(batch_size=256, device=args.device)
    if args.smoke:
        common.update(hidden_dims=(64, 64, 128), n_init=2, max_iter=20)
    for seed in range(args.seeds):
        for init in ("glorot", "torch_default"):
            with initialisation(init), timer() as t:
                start = DECClustering(k, pretrain_epochs=epochs, random_state=seed,
                                      **{**common, "max_iter": 0}).fit(X)
            recorder.add(name, f"ae_kmeans_{init}", seconds=t["seconds"],
                         fit_seconds=t["seconds"], acc=clustering_accuracy(y, start.labels_))
            with timer() as t:
                model = DECClustering(k, autoencoder=start.pretrained_autoencoder_,
                                      random_state=seed, **common).fit(X)
            recorder.add(name, f"dec_{init}", seconds=t["seconds"], fit_seconds=t["seconds"],
                         n_iter=model.n_iter_, acc=clustering_accuracy(y, model.labels_))
            print(f"{name} seed {seed} {init}: DEC ACC "
                  f"{clustering_accuracy(y, model.labels_):.4f}", flush=True)
    recorder.write(
        "Ablation: DEC autoencoder initialisation",
        ["acc", "fit_seconds", "n_iter"],
        preamble=("Glorot-uniform (the default) vs PyTorch's default initialisation of the "
                  "autoencoder; DEC's seconds exclude the pretraining."),
    )
    return recorder


if __name__ == "__main__":
    main()
