"""The critic: a learned clustering-quality score, and how it is trained.

Training material is a list of *tasks* (:mod:`.tasks`): a labelled
sub-problem (points and their true clustering) with a set of competing
candidate clusterings (its seed negatives, later also the solutions of the
evolutionary search). Each candidate is embedded by the graph auto-encoder;
the critic, an MLP on that embedding, is trained so the truth scores above
its competitors:

* ``objective="rank"`` (default): per task, listwise softmax cross-entropy
  with the truth as the target among its candidates;
* ``objective="ari"``: per task, listwise cross-entropy to *soft* targets,
  ``softmax(ARI / temperature)`` over the candidates (ARI of each with the
  truth; the truth has 1), so the critic learns how imperfect partitions
  compare with each other, which is all that selection and search ever
  ask of it;
* ``objective="wgan"``: the Wasserstein critic of Alami et al. (2023), mean
  over negatives of ``D(neg) - D(truth)`` with negatives weighted by
  ``1 - ARI(neg, truth)``, plus a gradient penalty (lambda = 10) on
  interpolates between truth and negative embeddings.

A :class:`CriticEnsemble` holds several critics (the first trained on all
training tasks, the others on bootstrap resamples of them), each
standardised on its training candidates; its score is the mean minus
``caution`` times the spread of the members' scores. The evolutionary
search climbs wherever one critic errs; where the members disagree the
conservative score does not follow it.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._torch import make_generator, mlp, train_loop

__all__ = [
    "Critic",
    "CriticEnsemble",
    "rank_loss",
    "ari_loss",
    "wgan_loss",
    "candidate_agreement",
    "ranking_metrics",
    "train_critic",
    "train_ensemble",
]


class Critic(nn.Module):
    """MLP scoring a graph embedding (LeakyReLU, no batch normalisation)."""

    def __init__(self, n_inputs, hidden=(64, 64)):
        super().__init__()
        self.net = mlp([n_inputs, *hidden, 1], lambda: nn.LeakyReLU(0.2))

    def forward(self, embeddings):
        return self.net(embeddings).squeeze(-1)


class CriticEnsemble(nn.Module):
    """Critics combined into one conservative score.

    Each member's score is standardised by its mean and standard deviation
    over its training candidates (buffers ``loc`` and ``scale``), so the
    members speak in the same units; the ensemble's score of an embedding is
    ``mean - caution * std`` over members (the mean alone for one member).

    Parameters
    ----------
    n_inputs : int
        Size of the graph embedding.
    hidden : tuple of int, default=(64, 64)
        Hidden layers of each member.
    n_members : int, default=1
    """

    def __init__(self, n_inputs, hidden=(64, 64), n_members=1):
        super().__init__()
        self.members = nn.ModuleList(Critic(n_inputs, hidden) for _ in range(n_members))
        self.register_buffer("loc", torch.zeros(n_members))
        self.register_buffer("scale", torch.ones(n_members))

    @property
    def n_members(self):
        return len(self.members)

    def member_scores(self, embeddings):
        """Standardised scores of every member, shape (B, n_members)."""
        raw = torch.stack([member(embeddings) for member in self.members], dim=-1)
        return (raw - self.loc) / self.scale

    def forward(self, embeddings, caution=0.0):
        scores = self.member_scores(embeddings)
        if scores.shape[-1] == 1:
            return scores[..., 0]
        return scores.mean(dim=-1) - caution * scores.std(dim=-1)

    @torch.no_grad()
    def standardise(self, embeddings):
        """Set each member's ``loc`` / ``scale`` from a list of candidate embeddings."""
        raw = torch.cat([torch.stack([m(e) for m in self.members], dim=-1)
                         for e in embeddings])
        self.loc.copy_(raw.mean(dim=0))
        self.scale.copy_(raw.std(dim=0).clamp(min=1e-6))


def rank_loss(scores):
    """Listwise softmax cross-entropy; the truth is candidate 0."""
    return -F.log_softmax(scores, dim=0)[0]


#: Temperature of the soft targets of ``objective="ari"``: candidates 0.1 ARI
#: apart get target weights e = 2.7 times apart.
ARI_TEMPERATURE = 0.1


def ari_loss(scores, agreement, temperature=ARI_TEMPERATURE):
    """Listwise cross-entropy to ``softmax(agreement / temperature)``.

    ``agreement`` holds each candidate's ARI with the truth (the truth: 1).
    """
    target = F.softmax(agreement / temperature, dim=0)
    return -(target * F.log_softmax(scores, dim=0)).sum()


def _padded(values, lengths):
    """Per-task vectors of different lengths, concatenated in ``values``, as (tasks, longest)."""
    lengths = torch.as_tensor(lengths, device=values.device)
    mask = torch.arange(int(lengths.max()), device=values.device) < lengths.unsqueeze(1)
    padded = values.new_full(mask.shape, -torch.inf).masked_scatter(mask, values)
    return padded, mask


def batch_loss(critic, embeddings, objective, agreements=None, temperature=ARI_TEMPERATURE):
    """Mean listwise loss (``"rank"`` or ``"ari"``) of several tasks in one forward pass.

    The tasks' candidates (each task's truth first) are scored together and
    their scores padded with -inf, which the softmax gives no weight.
    """
    lengths = [e.shape[0] for e in embeddings]
    scores, mask = _padded(critic(torch.cat(embeddings)), lengths)
    log_p = F.log_softmax(scores, dim=1)
    if objective == "rank":
        return -log_p[:, 0].mean()
    target = F.softmax(_padded(torch.cat(agreements), lengths)[0] / temperature, dim=1)
    return -torch.where(mask, target * log_p, torch.zeros_like(log_p)).sum(dim=1).mean()


def candidate_agreement(task):
    """ARI with the truth of each candidate of a task (the truth first, with 1)."""
    weights = np.asarray(task["weights"], dtype=np.float64)
    return np.concatenate([[1.0], 1.0 - weights[1:]])


def wgan_loss(critic, embeddings, weights, penalty=10.0, generator=None):
    """Weighted Wasserstein critic loss with gradient penalty; truth is row 0."""
    scores = critic(embeddings)
    truth, negatives = scores[0], scores[1:]
    loss = torch.sum(weights * (negatives - truth)) / weights.sum().clamp(min=1e-12)
    alpha = torch.rand((negatives.shape[0], 1), generator=generator,
                       dtype=embeddings.dtype).to(embeddings.device)
    interpolates = (alpha * embeddings[:1] + (1 - alpha) * embeddings[1:]).requires_grad_(True)
    gradients = torch.autograd.grad(critic(interpolates).sum(), interpolates,
                                    create_graph=True)[0]
    return loss + penalty * (gradients.norm(dim=1) - 1).pow(2).mean()


def ranking_metrics(scores_per_task, agreements=None, spearman=True):
    """Best, Top-3 and MRR of the truth (index 0) over tasks' score vectors.

    With ``agreements`` (per task, each candidate's ARI with the truth),
    also how the scores order the *imperfect* candidates, the truth left
    out: ``regret`` (mean over tasks of the best ARI among them minus the
    ARI of the one scored highest, what a user picking among classical
    clusterings loses) and ``spearman`` (mean rank correlation of scores and
    ARI).
    """
    ranks = np.array([1 + int(np.sum(np.asarray(s)[1:] >= np.asarray(s)[0]))
                      for s in scores_per_task])
    metrics = {
        "best": float(np.mean(ranks == 1)),
        "top3": float(np.mean(ranks <= 3)),
        "mrr": float(np.mean(1.0 / ranks)),
    }
    if agreements is not None:
        from scipy.stats import spearmanr

        regrets, correlations = [], []
        for scores, agreement in zip(scores_per_task, agreements):
            scores, agreement = np.asarray(scores)[1:], np.asarray(agreement)[1:]
            if scores.size == 0:
                continue
            regrets.append(agreement.max() - agreement[np.argmax(scores)])
            if spearman and scores.size > 2 and np.ptp(agreement) > 0 and np.ptp(scores) > 0:
                correlations.append(spearmanr(scores, agreement)[0])
        metrics["regret"] = float(np.mean(regrets)) if regrets else 0.0
        if spearman:
            metrics["spearman"] = float(np.mean(correlations)) if correlations else 0.0
    return metrics


def train_critic(critic, train_embeddings, validation_embeddings, *, objective="rank",
                 weights=None, agreements=None, validation_agreements=None,
                 task_counts=None, n_epochs=150, n_iter_no_change=30, learning_rate=1e-3,
                 batch_size=1, temperature=ARI_TEMPERATURE, seed=0, verbose=0, desc="critic"):
    """Train (or continue training) one :class:`Critic`; keep its best validation epoch.

    Parameters
    ----------
    critic : Critic
    train_embeddings, validation_embeddings : list of Tensor
        Per task, the embeddings of its candidates, the truth first.
    objective : {"rank", "ari", "wgan"}, default="rank"
    weights : list of Tensor or None
        Per training task, the weights of its negatives (``"wgan"`` only).
    agreements, validation_agreements : list of Tensor or None
        Per training / validation task, each candidate's ARI with the truth
        (:func:`candidate_agreement`): the targets of ``"ari"`` (required
        then) and the validation ``regret`` and ``spearman``. With
        ``"ari"`` the checkpoint kept has the lowest validation regret
        (ties: the higher rank correlation, then MRR); otherwise the best
        MRR.
    task_counts : ndarray of int or None
        How many times each training task is used per epoch (a bootstrap
        resample); None uses each once.
    n_epochs, n_iter_no_change : int
    learning_rate : float
    batch_size : int, default=1
        Tasks per optimiser step (``"rank"`` and ``"ari"``: one forward pass
        for all, :func:`batch_loss`; ``"wgan"``: the mean of their losses).
    temperature : float, default=ARI_TEMPERATURE
        Temperature of the soft targets of ``"ari"`` (:func:`ari_loss`).
    seed : int
        Seed of the task order and the gradient-penalty interpolation.
    verbose : int
    desc : str

    Returns
    -------
    history : list of dict
        Per epoch, the schema of ``train_loop`` (``validation``: the MRR, or
        the regret with ``objective="ari"``), plus the validation ``best``,
        ``top3``, ``mrr``, ``regret`` and ``log_p_truth`` (mean log softmax
        probability of the truth among its candidates, the tie-break of
        checkpoint choice after the MRR).
    """
    # foreach: the same updates as the default loop, about 12 % faster per step here
    optimizer = torch.optim.Adam(critic.parameters(), lr=learning_rate, foreach=True)
    generator = make_generator(seed + 1)
    order_rng = np.random.default_rng(seed + 1)
    counts = np.ones(len(train_embeddings), dtype=int) if task_counts is None \
        else np.asarray(task_counts)
    schedule = np.repeat(np.arange(len(train_embeddings)), counts)

    if objective == "ari" and agreements is None:
        raise ValueError("objective='ari' needs the candidates' agreements.")

    def step(index):
        if batch_size > 1:
            return _batched_loss(critic, index, objective, train_embeddings, agreements,
                                 weights, generator, temperature)
        if objective == "rank":
            return rank_loss(critic(train_embeddings[index]))
        if objective == "ari":
            return ari_loss(critic(train_embeddings[index]), agreements[index], temperature)
        return wgan_loss(critic, train_embeddings[index], weights[index], generator=generator)

    def batches(epoch):
        order = order_rng.permutation(schedule)
        if batch_size == 1:
            return order
        return np.array_split(order, max(1, -(-order.size // batch_size)))

    return train_loop(
        critic, optimizer, n_epochs, batches, step,
        validate=_validator(critic, validation_embeddings, validation_agreements, objective),
        n_iter_no_change=n_iter_no_change, desc=desc, verbose=verbose,
        postfix=lambda r: {"best": f"{r['best']:.2f}", "mrr": f"{r['mrr']:.3f}"},
    )


def _batched_loss(critic, indices, objective, embeddings, agreements, weights, generator,
                  temperature=ARI_TEMPERATURE):
    """The mean loss of the training tasks ``indices`` (one optimiser step)."""
    if objective == "wgan":
        return torch.stack([wgan_loss(critic, embeddings[i], weights[i], generator=generator)
                            for i in indices]).mean()
    return batch_loss(critic, [embeddings[i] for i in indices], objective,
                      None if agreements is None else [agreements[i] for i in indices],
                      temperature)


def _validator(critic, embeddings, agreements, objective):
    """``validate(epoch) -> (metrics, key)`` of a critic on the validation tasks."""
    def validate(epoch):
        with torch.no_grad():
            scores = [critic(e).cpu().numpy() for e in embeddings]
        # per epoch: the regret, not the (slower) rank correlation
        metrics = ranking_metrics(scores, agreements, spearman=False)
        metrics["log_p_truth"] = float(np.mean([s[0] - np.logaddexp.reduce(s)
                                                for s in scores]))
        if objective == "ari" and agreements is not None:
            metrics["validation"] = metrics["regret"]
            return metrics, (-metrics["regret"], metrics["mrr"], metrics["log_p_truth"])
        metrics["validation"] = metrics["mrr"]
        return metrics, (metrics["mrr"], metrics["log_p_truth"])

    return validate


def train_ensemble(ensemble, train_embeddings, validation_embeddings, *, seed=0, **options):
    """Train every member of a :class:`CriticEnsemble`, then standardise them.

    Member 0 uses every training task once per epoch; member ``m > 0`` a
    bootstrap resample of the tasks (drawn with ``seed + m``). Options are
    those of :func:`train_critic`.

    Returns
    -------
    history : list of dict
        The epochs of all members, each with its ``member``.
    """
    history = []
    n_tasks = len(train_embeddings)
    for m, member in enumerate(ensemble.members):
        counts = None
        if m > 0:
            counts = np.bincount(np.random.default_rng(seed + 7919 * m).integers(
                n_tasks, size=n_tasks), minlength=n_tasks)
        epochs = train_critic(member, train_embeddings, validation_embeddings,
                              task_counts=counts, seed=seed + 7919 * m,
                              desc=f"critic {m + 1}/{ensemble.n_members}", **options)
        history += [{"member": m, **record} for record in epochs]
    ensemble.standardise(train_embeddings)
    return history
