"""The training of a learned metric, as a function of explicit settings.

:class:`~sklearn_tcm.LearnedMetricClustering` validates its input and
parameters, then calls :func:`train_metric`; the stages are those of the
user guide's *How the metric is trained*: tasks drawn from the references
(classes held out for validation), the graph auto-encoder, the critic
ensemble warm-started on the tasks' candidates, then adversarial rounds
in which the search's finds become negatives, and optionally a
gradient-boosted regressor of the candidates' ARI scored beside the critic
(:mod:`.regressor`).
"""

from dataclasses import dataclass

import numpy as np
import torch

from .._base import split_classes
from .._torch import module_to_cpu, seeded_torch
from .adversarial import run_rounds
from .critic import CriticEnsemble, candidate_agreement, train_ensemble
from .gae import embed_task, train_gae
from .graph import GLOBAL_FEATURES, GRAPH_SUMMARY
from .regressor import CriticWithRegressor, fit_regressor, validation_regret
from .tasks import draw_tasks

__all__ = ["TrainedMetric", "train_metric"]


@dataclass
class TrainedMetric:
    """What :func:`train_metric` returns (the fitted attributes of the estimator)."""

    gae: torch.nn.Module
    critic: torch.nn.Module
    history: list
    critic_history: list
    validation: dict
    graph_scalars: tuple
    pooled_embedding: bool
    seed: int


def _classes_of(y):
    """The class labels of a reference, without the noise label -1."""
    return y[y >= 0] if y.dtype.kind in "iuf" else y


def _critic_trainer(tasks, embeddings, *, device, seed, critic_options):
    """``train(critic, round_index)``: one training of the critics, as each round runs it."""
    def as_tensors(arrays):
        return [torch.as_tensor(a, dtype=torch.float32, device=device) for a in arrays]

    def train(critic, round_index):
        # recomputed every round: the adversarial rounds add negatives
        weights = as_tensors(t["weights"][1:] for t in tasks["train"])
        return train_ensemble(
            critic, embeddings["train"], embeddings["validation"], weights=weights,
            agreements=as_tensors(map(candidate_agreement, tasks["train"])),
            validation_agreements=[candidate_agreement(t) for t in tasks["validation"]],
            seed=seed + round_index, **critic_options)

    return train


def train_metric(references, *, validation_fraction, n_tasks, synthetic_tasks, k_range,
                 size_range, max_points, critic_inputs, gae_epochs, critic_hidden, n_critics,
                 critic_options, search_options, adversarial_rounds, adversarial_tasks,
                 device, seed, grid_negatives=0, regressor=False, n_jobs=None, verbose=0):
    """Train a graph auto-encoder and a critic ensemble on labelled references.

    Parameters
    ----------
    references : list of (X, y)
        Validated reference datasets (``-1`` in ``y``: noise).
    validation_fraction, n_tasks, synthetic_tasks, k_range, size_range, max_points, \
critic_inputs, gae_epochs, critic_hidden, n_critics, adversarial_rounds, adversarial_tasks, \
grid_negatives
        As the parameters of :class:`~sklearn_tcm.LearnedMetricClustering`.
    critic_options : dict
        Options of :func:`~sklearn_tcm.learned_metric.critic.train_critic`
        (``objective``, ``n_epochs``, ``n_iter_no_change``,
        ``learning_rate``, ``batch_size``, ``verbose``).
    search_options : dict
        The adversary's search settings
        (:func:`~sklearn_tcm.learned_metric.adversarial.training_search_options`).
    device : torch.device
    seed : int
        Seed of the class split, the tasks, the networks and the searches.
    regressor : bool, default=False
        Also fit a tree regressor of the candidates' ARI on their embeddings
        (:func:`~sklearn_tcm.learned_metric.regressor.fit_regressor`); the
        critic returned is then a
        :class:`~sklearn_tcm.learned_metric.regressor.CriticWithRegressor`,
        and ``validation["regressor"]`` compares the two scores' validation
        regret.
    n_jobs : int or None, default=None
    verbose : int, default=0

    Returns
    -------
    trained : TrainedMetric
    """
    rng = np.random.default_rng(seed)
    # classes held out for validation tasks: at least 2 on each side
    split = [(Xr, yr, *split_classes(_classes_of(yr), validation_fraction, rng, n_min=2))
             for Xr, yr in references]
    seed = int(rng.integers(2**31 - 1))
    tasks, class_disjoint = draw_tasks(
        split, n_tasks, synthetic_tasks, k_range=k_range, size_range=size_range,
        max_points=max_points, rng=rng, grid_negatives=grid_negatives, n_jobs=n_jobs,
        verbose=verbose)
    with seeded_torch(seed, device):
        graph_scalars = GRAPH_SUMMARY if critic_inputs == "graph" else GLOBAL_FEATURES
        pooled = critic_inputs != "indices"
        gae, _, train_embeddings = train_gae(
            tasks["train"], device, n_epochs=gae_epochs if pooled else 0, seed=seed,
            verbose=verbose, n_graph_scalars=len(graph_scalars), pooled=pooled)
        embeddings = {name: train_embeddings if name == "train"
                      else [embed_task(gae, task, device) for task in items]
                      for name, items in tasks.items()}
        critic = CriticEnsemble(gae.embedding_size, tuple(critic_hidden), n_critics).to(device)
        history, critic_history, kept = run_rounds(
            gae, critic, tasks, embeddings,
            _critic_trainer(tasks, embeddings, device=device, seed=seed,
                            critic_options=critic_options),
            options=search_options, max_rounds=adversarial_rounds,
            n_search_tasks=adversarial_tasks,
            n_validation_searches=min(max(1, adversarial_tasks // 4), len(tasks["validation"])),
            device=device, rng=rng, n_jobs=n_jobs, verbose=verbose)
        critic = critic.eval()
        if regressor:
            # on every training candidate, the adversarial rounds' finds included
            combined = CriticWithRegressor(
                critic, fit_regressor(embeddings["train"], tasks["train"], seed=seed).to(device))
            kept = {**kept, "regressor": validation_regret(
                critic, combined, embeddings["validation"], tasks["validation"])}
            critic = combined
    return TrainedMetric(
        gae=module_to_cpu(gae), critic=module_to_cpu(critic), history=history,
        critic_history=critic_history, validation={**kept, "class_disjoint": class_disjoint},
        graph_scalars=graph_scalars, pooled_embedding=pooled, seed=seed)
