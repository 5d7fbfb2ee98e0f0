"""Deep Embedded Clustering (DEC) and Improved DEC (IDEC)."""

import copy
import functools
import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F

from ._base import TorchEstimator
from ._sklearn_compat import Interval, StrOptions
from ._torch import (
    check_layer_sizes,
    inference_device,
    iter_minibatches,
    make_generator,
    mlp,
    module_to_cpu,
    predict_batches,
    to_tensor,
    train_loop,
)

__all__ = ["DECClustering"]


class _AutoEncoder(nn.Module):
    """Symmetric fully connected autoencoder d - hidden - n_components.

    ReLU on hidden layers; the embedding and the reconstruction are linear.
    Weights start Glorot-uniform with zero biases, as in the DEC and IDEC
    reference implementations (compared with PyTorch's default in
    ``benchmarks/bench_dec_init.py``).
    """

    def __init__(self, n_features, hidden_dims, n_components):
        super().__init__()
        sizes = [n_features, *hidden_dims, n_components]
        self.encoder = mlp(sizes, last_activation=False)
        self.decoder = mlp(sizes[::-1], last_activation=False)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        z = self.encoder(x)
        return z, self.decoder(z)


def _soft_assignment(z, centers, alpha):
    """Student-t soft assignment q_ij of DEC (rows sum to one)."""
    squared = torch.cdist(z, centers).pow(2)
    kernel = (1.0 + squared / alpha).pow(-(alpha + 1.0) / 2.0)
    return kernel / kernel.sum(dim=1, keepdim=True)


def _target_distribution(q):
    """DEC's target p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j').

    ``q`` must hold the soft assignments of the *whole* dataset: the cluster
    frequencies f_j are sums over all samples.
    """
    weight = q.pow(2) / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


def _layerwise_pretrain(autoencoder, X, *, epochs, lr, batch_size, generator, verbose):
    """Greedy layer-wise pretraining of a stacked denoising autoencoder.

    As in Xie et al. (2016): each encoder/decoder layer pair is trained as a
    one-hidden-layer denoising autoencoder (dropout 0.2 on its input) on the
    codes of the layers below it; the caller then fine-tunes end to end.
    """
    encoders = [m for m in autoencoder.encoder if isinstance(m, nn.Linear)]
    decoders = [m for m in autoencoder.decoder if isinstance(m, nn.Linear)][::-1]
    codes = X
    n_layers = len(encoders)
    for depth, (encoder, decoder) in enumerate(zip(encoders, decoders)):
        inner = depth < n_layers - 1  # the embedding layer stays linear
        outer = depth > 0  # the reconstruction of the input stays linear
        optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=lr)

        def step(idx, codes=codes, encoder=encoder, decoder=decoder, inner=inner,
                 outer=outer):
            batch = codes[idx]
            hidden = encoder(F.dropout(batch, 0.2, training=True))
            if inner:
                hidden = F.relu(hidden)
            output = decoder(F.dropout(hidden, 0.2, training=True))
            if outer:
                output = F.relu(output)
            return F.mse_loss(output, batch)

        train_loop(autoencoder, optimizer, epochs,
                   lambda epoch, n=codes.shape[0]: iter_minibatches(
                       n, batch_size, generator=generator),
                   step, desc=f"pretraining layer {depth + 1}/{n_layers}", verbose=verbose)
        with torch.no_grad():
            codes = encoder(codes)
            if inner:
                codes = F.relu(codes)


def _train_autoencoder(autoencoder, X, *, epochs, lr, batch_size, generator, verbose):
    """End-to-end reconstruction training (MSE, Adam)."""
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=lr)
    return train_loop(
        autoencoder, optimizer, epochs,
        lambda epoch: iter_minibatches(X.shape[0], batch_size, generator=generator),
        lambda idx: F.mse_loss(autoencoder(X[idx])[1], X[idx]),
        desc="pretraining", verbose=verbose)


def _check_autoencoder(autoencoder, X_tensor):
    """Copy a user-given autoencoder to X's device and check that it fits X."""
    if not all(isinstance(getattr(autoencoder, part, None), nn.Module)
               for part in ("encoder", "decoder")):
        raise ValueError(
            "autoencoder must be a torch.nn.Module with 'encoder' and 'decoder' "
            "sub-modules, such as the pretrained_autoencoder_ of a fitted DECClustering."
        )
    autoencoder = copy.deepcopy(autoencoder).to(X_tensor.device).train()
    for parameter in autoencoder.parameters():
        parameter.requires_grad_(True)
    try:
        with torch.no_grad():
            z = autoencoder.encoder(X_tensor[:2])
            reconstruction = autoencoder.decoder(z)
    except RuntimeError as exc:
        raise ValueError(
            f"autoencoder does not accept X with {X_tensor.shape[1]} features: {exc}"
        ) from exc
    if z.ndim != 2 or reconstruction.shape != X_tensor[:2].shape:
        raise ValueError(
            "autoencoder must map (n, n_features) to an embedding (n, n_components) "
            f"and back; got {tuple(z.shape)} and {tuple(reconstruction.shape)}."
        )
    return autoencoder


@torch.no_grad()
def _embed(autoencoder, X, batch_size):
    return torch.cat([autoencoder.encoder(X[i : i + batch_size]) for i in
                      range(0, X.shape[0], batch_size)])


def pretrain(autoencoder, X, *, method, epochs, lr, batch_size, generator, verbose=0):
    """Stage 1: train ``autoencoder`` on the reconstruction of ``X`` (in place).

    ``method="layerwise"`` first trains each layer pair as a denoising
    autoencoder (:func:`_layerwise_pretrain`), then the whole autoencoder
    end to end; ``"end_to_end"`` does the latter only.
    """
    options = dict(epochs=epochs, lr=lr, batch_size=batch_size, generator=generator,
                   verbose=verbose)
    if method == "layerwise":
        _layerwise_pretrain(autoencoder, X, **options)
    _train_autoencoder(autoencoder, X, **options)


def clustering_loss(autoencoder, batch, centers, target, *, alpha, balance=0.0,
                    variant="dec", gamma=0.1):
    """Loss of one batch: KL(P || Q) (+ balance), plus reconstruction for IDEC.

    Returns ``(loss, clustering_loss, reconstruction_loss)``.
    """
    z = autoencoder.encoder(batch)
    q_batch = _soft_assignment(z, centers, alpha)
    kl = F.kl_div(q_batch.log(), target, reduction="batchmean")
    if balance > 0:
        sizes = q_batch.mean(dim=0)
        kl = kl + balance * torch.sum(sizes * torch.log(sizes * centers.shape[0]))
    if variant == "idec":
        reconstruction = F.mse_loss(autoencoder.decoder(z), batch)
        return reconstruction + gamma * kl, kl, reconstruction
    return kl, kl, torch.zeros((), device=batch.device)


@dataclass
class SelfTrainingResult:
    """What DEC's self-training returns."""

    centers: np.ndarray
    """Cluster centres in the embedding, (n_clusters, n_components), float64."""
    n_iter: int
    """Mini-batch updates run."""
    converged: bool
    """Whether fewer than ``tol`` of the labels changed before ``max_iter``."""
    history: list
    """One record per update interval (the schema of ``train_loop``)."""


class _SelfTraining:
    """State of DEC's self-training: the target distribution, batches, losses.

    One unit of the package's training loop is one *update interval*: its
    batches come from a stream of shuffled passes over the data, and at its
    end the target distribution P is recomputed from Q on the whole dataset
    (where the share of changed labels decides convergence).
    """

    def __init__(self, autoencoder, X, centers, labels, *, interval, max_iter, batch_size,
                 generator, loss):
        self.autoencoder = autoencoder
        self.X = X
        self.centers = centers
        self.labels = labels
        self.interval = interval
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.generator = generator
        self.loss = loss
        self.stream = iter(())
        self.sums, self.steps = np.zeros(2), 0
        self.update_target()

    def update_target(self):
        """Recompute P from Q on all of X; the fraction of labels that changed."""
        with torch.no_grad():
            q = _soft_assignment(_embed(self.autoencoder, self.X, 4096), self.centers,
                                 self.loss.keywords["alpha"])
        self.target = _target_distribution(q)
        new_labels = q.argmax(dim=1).cpu().numpy()
        changed = float(np.mean(new_labels != self.labels))
        self.labels = new_labels
        return changed

    def end_of_interval(self, index):
        means = self.sums / max(self.steps, 1)
        self.sums, self.steps = np.zeros(2), 0
        return {"changed": self.update_target(), "clustering_loss": float(means[0]),
                "reconstruction_loss": float(means[1])}, None

    def batches(self, index):
        start = index * self.interval
        for _ in range(start, min(start + self.interval, self.max_iter)):
            idx = next(self.stream, None)
            if idx is None:
                self.stream = iter_minibatches(self.X.shape[0], self.batch_size,
                                               generator=self.generator)
                idx = next(self.stream)
            yield idx.to(self.X.device)

    def step(self, idx):
        losses = self.loss(self.autoencoder, self.X[idx], self.centers, self.target[idx])
        self.sums += [loss.item() for loss in losses[1:]]
        self.steps += 1
        return losses[0]


def self_training(autoencoder, X, *, n_clusters, alpha, variant, gamma, balance, optimizer,
                  learning_rate, batch_size, update_interval, tol, max_iter, n_init, seed,
                  generator, verbose=0):
    """Stages 2 and 3 of DEC: k-means in the embedding, then KL self-training.

    Trains ``autoencoder`` (its encoder, and its decoder for IDEC) in place
    with the cluster centres; the parameters are those of
    :class:`DECClustering`, ``update_interval`` resolved to an int.

    Returns
    -------
    result : SelfTrainingResult
    """
    embedding = _embed(autoencoder, X, 4096).cpu().double().numpy()
    kmeans = KMeans(n_clusters, n_init=n_init, random_state=seed)
    labels = kmeans.fit_predict(embedding)
    centers = nn.Parameter(torch.as_tensor(kmeans.cluster_centers_, dtype=torch.float32,
                                           device=X.device))
    params = [*autoencoder.encoder.parameters(), centers]
    if variant == "idec":
        params += list(autoencoder.decoder.parameters())
    if optimizer == "adam":
        optim = torch.optim.Adam(params, lr=learning_rate)
    else:
        optim = torch.optim.SGD(params, lr=learning_rate, momentum=0.9)
    loss = functools.partial(clustering_loss, alpha=alpha, balance=balance, variant=variant,
                             gamma=gamma)
    training = _SelfTraining(autoencoder, X, centers, labels, interval=update_interval,
                             max_iter=max_iter, batch_size=batch_size, generator=generator,
                             loss=loss)
    history = train_loop(
        autoencoder, optim, math.ceil(max_iter / update_interval), training.batches,
        training.step, unit="update interval", validate=training.end_of_interval,
        stop=lambda record: (f"converged, {record['changed']:.4f} of labels changed"
                             if record["changed"] < tol else None),
        desc="clustering", verbose=verbose,
        postfix=lambda record: {"changed": f"{record['changed']:.4f}"})
    return SelfTrainingResult(
        centers=centers.detach().cpu().double().numpy(),
        n_iter=history[-1]["iteration"] if history else 0,
        converged=bool(history) and history[-1]["changed"] < tol, history=history)


class DECClustering(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin,
                    TorchEstimator):
    """Deep Embedded Clustering (DEC) and its IDEC variant.

    An autoencoder is pretrained on ``X``; k-means in its embedding gives the
    initial cluster centres; then the encoder and the centres are trained
    to sharpen the Student-t soft assignments ``Q`` towards the target
    distribution ``P`` by minimising KL(P || Q) (Xie, Girshick & Farhadi,
    2016). IDEC (Guo et al., 2017) keeps the decoder and minimises
    ``L_rec + gamma * KL(P || Q)`` so the embedding keeps the structure of
    the data.

    Faithful to the papers: ``P`` is computed from ``Q`` on the **whole**
    dataset every ``update_interval`` iterations (mini-batches use the
    stored rows of ``P``), training stops when fewer than a fraction ``tol``
    of the labels changed between two updates, and IDEC's ``gamma``
    weights the clustering term.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    hidden_dims : tuple of int, default=(500, 500, 2000)
        Sizes of the encoder's hidden layers (the decoder mirrors them).
    n_components : int, default=10
        Dimension of the embedding.
    alpha : float, default=1.0
        Degrees of freedom of the Student-t kernel.
    variant : {"dec", "idec"}, default="dec"
        ``"dec"`` trains the encoder on KL(P || Q) alone; ``"idec"`` adds the
        reconstruction loss: ``L = L_rec + gamma * KL``.
    gamma : float, default=0.1
        IDEC's weight of the clustering term (ignored for ``"dec"``).
    pretrain : {"end_to_end", "layerwise"}, default="end_to_end"
        ``"end_to_end"`` trains the whole autoencoder on the reconstruction
        loss; ``"layerwise"`` is the paper's stacked denoising autoencoder
        (each layer pair with input dropout 0.2, then end-to-end fine-tuning).
    pretrain_epochs : int, default=100
        Epochs of autoencoder pretraining (per layer and for the fine-tuning
        with ``"layerwise"``). 0 skips pretraining.
    pretrain_learning_rate : float, default=1e-3
        Adam learning rate of pretraining.
    optimizer : {"adam", "sgd"}, default="adam"
        Optimiser of the clustering stage (``"sgd"`` uses momentum 0.9, as
        in the DEC paper).
    learning_rate : float, default=1e-4
        Learning rate of the clustering stage.
    batch_size : int, default=256
        Mini-batch size of both stages.
    update_interval : int or None, default=None
        Iterations between two updates of the target distribution; None
        means one epoch (``ceil(n_samples / batch_size)`` iterations).
    tol : float, default=1e-3
        Stop when the fraction of labels changed between two updates of the
        target distribution is below ``tol``.
    max_iter : int, default=20000
        Maximum number of clustering iterations (mini-batch updates).
    n_init : int, default=20
        Number of k-means runs for the initial centres.
    autoencoder : torch.nn.Module or None, default=None
        A pretrained autoencoder to start from instead of pretraining: a
        module with ``encoder`` and ``decoder`` sub-modules (``encoder``
        maps ``n_features`` to ``n_components``), such as the
        ``pretrained_autoencoder_`` of another fit on the same data. It is
        copied, and ``hidden_dims``, ``pretrain`` and ``pretrain_epochs`` are
        then ignored. Reusing one pretraining saves most of the cost of a
        search over ``n_clusters``, ``variant`` or ``gamma``.
    balance : float, default=0.0
        Weight of an optional cluster-size balance term KL(G || U) with
        ``g_k`` the mean soft assignment to cluster ``k`` in a mini-batch and
        ``U`` uniform; 0 switches it off.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of weight initialisation, batching, dropout and k-means.
    verbose : int, default=0
        Show progress bars for pretraining and clustering when > 0.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample (argmax of ``Q`` after training).
    cluster_centers_ : ndarray of shape (n_clusters, n_components)
        Cluster centres in the embedding.
    n_iter_ : int
        Clustering iterations run.
    converged_ : bool
        Whether the ``tol`` criterion stopped training before ``max_iter``.
    history_ : list of dict
        One record per update interval of the self-training, in the schema
        of every estimator's history (see the guide's "Training history"):
        ``unit``, ``iteration``, ``loss``, ``skipped``, ``validation``
        (None: DEC has no validation), plus ``changed`` (fraction of labels
        changed at the update) and the mean ``clustering_loss`` and
        ``reconstruction_loss`` of the interval.
    autoencoder_ : torch.nn.Module
        The trained autoencoder, on the CPU (``encoder`` and ``decoder``).
    pretrained_autoencoder_ : torch.nn.Module
        The autoencoder after pretraining, before the clustering stage (for
        reuse through the ``autoencoder`` parameter).
    device_ : torch.device
        The device training ran on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.cluster.KMeans : k-means, DEC's initialisation.

    Notes
    -----
    ``predict`` is inductive: it embeds new samples with the trained encoder
    and returns the argmax of their soft assignments. Inference runs in
    float64 on the CPU. The papers report ACC 84.3 % (DEC) and 88.06 %
    (IDEC) on the 70 000 MNIST images.

    References
    ----------
    .. [1] J. Xie, R. Girshick, A. Farhadi. "Unsupervised Deep Embedding for
       Clustering Analysis". ICML 2016.
    .. [2] X. Guo, L. Gao, X. Liu, J. Yin. "Improved Deep Embedded Clustering
       with Local Structure Preservation". IJCAI 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_tcm import DECClustering
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    >>> dec = DECClustering(n_clusters=3, hidden_dims=(16,), n_components=2,
    ...                     pretrain_epochs=20, n_init=2, random_state=0).fit(X)
    >>> dec.labels_.shape, dec.transform(X).shape
    ((200,), (200, 2))
    """

    _parameter_constraints = {
        **TorchEstimator._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "hidden_dims": ["array-like"],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "variant": [StrOptions({"dec", "idec"})],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "pretrain": [StrOptions({"end_to_end", "layerwise"})],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "pretrain_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "update_interval": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "autoencoder": [nn.Module, None],
        "balance": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        hidden_dims=(500, 500, 2000),
        n_components=10,
        alpha=1.0,
        variant="dec",
        gamma=0.1,
        pretrain="end_to_end",
        pretrain_epochs=100,
        pretrain_learning_rate=1e-3,
        optimizer="adam",
        learning_rate=1e-4,
        batch_size=256,
        update_interval=None,
        tol=1e-3,
        max_iter=20000,
        n_init=20,
        autoencoder=None,
        balance=0.0,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.hidden_dims = hidden_dims
        self.n_components = n_components
        self.alpha = alpha
        self.variant = variant
        self.gamma = gamma
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.update_interval = update_interval
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.autoencoder = autoencoder
        self.balance = balance
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None):
        """Pretrain the autoencoder and train the clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (scale it first, e.g. pixels to [0, 1]).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : DECClustering
            The fitted estimator.
        """
        return super().fit(X)

    def _check_params(self, X, y):
        if self.n_clusters > X.shape[0]:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}."
            )
        return {"hidden_dims": check_layer_sizes(self.hidden_dims, "hidden_dims"),
                "update_interval": self.update_interval
                or math.ceil(X.shape[0] / self.batch_size)}

    def _fit(self, X, y, *, device, seed, hidden_dims, update_interval):
        X_tensor = to_tensor(X, device)
        if self.autoencoder is None:
            autoencoder = _AutoEncoder(X.shape[1], hidden_dims, self.n_components).to(device)
            pretrain(autoencoder, X_tensor, method=self.pretrain, epochs=self.pretrain_epochs,
                     lr=self.pretrain_learning_rate, batch_size=self.batch_size,
                     generator=make_generator(seed), verbose=self.verbose)
        else:
            autoencoder = _check_autoencoder(self.autoencoder, X_tensor)
        self.pretrained_autoencoder_ = module_to_cpu(copy.deepcopy(autoencoder))
        # the clustering stage has its own generator, so that a fit from a given
        # pretrained autoencoder reproduces the fit that pretrained it
        result = self_training(
            autoencoder, X_tensor, n_clusters=self.n_clusters, alpha=self.alpha,
            variant=self.variant, gamma=self.gamma, balance=self.balance,
            optimizer=self.optimizer, learning_rate=self.learning_rate,
            batch_size=self.batch_size, update_interval=update_interval, tol=self.tol,
            max_iter=self.max_iter, n_init=self.n_init, seed=seed,
            generator=make_generator(seed + 1), verbose=self.verbose)
        self.autoencoder_ = module_to_cpu(autoencoder)
        self.cluster_centers_ = result.centers
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.history_ = result.history
        self._n_features_out = result.centers.shape[1]
        self.labels_ = self._proba(self._embedding(X)).argmax(axis=1)

    def _empty_modules(self):
        hidden_dims = check_layer_sizes(self.hidden_dims, "hidden_dims")
        return {name: _AutoEncoder(self.n_features_in_, hidden_dims, self.n_components)
                for name in ("autoencoder_", "pretrained_autoencoder_")}

    def transform(self, X):
        """Embed samples with the trained encoder.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate_points(X)
        return self._embedding(X).astype(X.dtype, copy=False)

    def _embedding(self, X):
        """Encoder output of a validated array (float64, never a DataFrame).

        ``predict`` and ``predict_proba`` use it instead of the public
        ``transform``, whose output becomes a DataFrame under
        ``set_output(transform="pandas")``.
        """
        return predict_batches(
            self.autoencoder_.encoder, X, device=inference_device(self.device_)
        )

    def _proba(self, Z):
        centers = torch.as_tensor(self.cluster_centers_)
        return _soft_assignment(torch.as_tensor(Z), centers, self.alpha).numpy()

    def predict_proba(self, X):
        """Student-t soft assignments ``Q`` of samples to the clusters.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        Q : ndarray of shape (n_samples, n_clusters)
            Rows sum to one.
        """
        check_is_fitted(self)
        X = self._validate_points(X)
        return self._proba(self._embedding(X))

    def predict(self, X):
        """Cluster of each sample: the argmax of its soft assignment.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data (inductive) or the training data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.predict_proba(X).argmax(axis=1)

    def score(self, X, y=None):
        """Negative KL(P || Q) per sample on ``X`` (higher is better).

        The DEC clustering loss of ``X`` under the fitted model, with the
        target ``P`` computed from ``Q`` on ``X``; 0 means hard, confident
        assignments.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        score : float
        """
        q = torch.as_tensor(self.predict_proba(X))
        p = _target_distribution(q)
        return -float(F.kl_div(q.log(), p, reduction="batchmean"))
