"""Adversarial training: search under the critic, add what fools it, retrain.

The evolutionary search (:mod:`.search`) finds the labellings the current
critic scores highest. Where those are not the truth, they are exactly the
critic's errors, so each round adds *every* distinct elite of the searches
on a batch of training tasks (ARI below 0.9 to the truth, duplicates
removed) as new negatives of those tasks, and the critic is trained on.
Rounds go on while the share of validation searches whose result the
critic scores above the truth (the *beats-truth rate*) keeps falling (they
end after ``ROUND_PATIENCE`` rounds without a new lowest rate), up to a
cap.

The clusterer is an adversary too: on the same training tasks, the
partitions :class:`~sklearn_tcm.CriticClustering` chooses among (its
candidate pool, :func:`.candidates.candidate_pool`) that the critic scores
above the truth become negatives, and the round kept is the one whose best
pool candidate clusters the validation tasks best (``pool_nmi``), the
choice the clusterer makes.

The search's objective is the critic ensemble's score
(:class:`.critic.CriticEnsemble`: mean minus ``caution`` times the spread
of its members), the same in training, validation and ``predict``.
"""

import copy
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.metrics import normalized_mutual_info_score

from .._base import inline_task
from .._torch import module_to_cpu
from ..metrics import adjusted_rand_matrix
from .candidates import candidate_pool
from .critic import candidate_agreement, ranking_metrics
from .gae import embed_task
from .graph import build_context, clustering_graphs, graphs_per_batch
from .search import SearchSpace, evolve, select
from .tasks import deduplicate, preprocess_task

__all__ = [
    "CriticObjective",
    "search_dataset",
    "training_search_options",
    "search_tasks",
    "pool_scores",
    "add_search_negatives",
    "validate_round",
    "run_rounds",
    "NEAR_TRUTH_ARI",
    "beats_truth",
]

#: Search solutions closer than this to the truth (ARI) are not negatives. Lower
#: than the seed negatives' 0.95 on purpose: a search that lands within 0.9 of the
#: truth has done its job, and teaching the critic to rank such a solution below
#: the truth would only sharpen it around the truth, not against its errors.
NEAR_TRUTH_ARI = 0.9
#: Rounds end after this many rounds without a lower validation beats-truth rate
#: (measured on a few tens of searches, the rate is noisy).
ROUND_PATIENCE = 2


def beats_truth(score, truth_score, labels, truth):
    """Whether a labelling other than the truth scores above the truth.

    A labelling equal to the truth up to names does not beat it; scores
    within 1e-6 (relative) count as ties, since the search and the direct
    score may differ by rounding.
    """
    if adjusted_rand_matrix(truth, labels)[0, 0] >= 1.0 - 1e-12:
        return False
    return bool(score > truth_score + 1e-6 * max(1.0, abs(truth_score)))


class CriticObjective:
    """Batched critic-ensemble scores of labellings of fixed subsamples.

    ``contexts`` are the :class:`~.graph.DatasetContext` of each scoring
    subsample; calling the objective with one ``(B, n_j)`` label array per
    subsample returns the B scores averaged over subsamples.
    """

    def __init__(self, gae, critic, contexts, device, caution=0.0, batch_size=64):
        self.gae = gae
        self.critic = critic
        self.contexts = contexts
        self.device = device
        self.caution = caution
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, subset_labels):
        total = 0.0
        for context, labels in zip(self.contexts, subset_labels):
            scores = []
            batch = min(self.batch_size, graphs_per_batch(labels.shape[1]))
            for start in range(0, labels.shape[0], batch):
                graphs = clustering_graphs(context, labels[start:start + batch],
                                           self.gae.n_graph_scalars)
                embedding = self.gae.embed(*(part.to(self.device) for part in graphs),
                                           inplace=True)
                scores.append(self.critic(embedding, self.caution).cpu().numpy())
            total = total + np.concatenate(scores).astype(np.float64)
        return total / len(self.contexts)


def training_search_options(metric, k_high):
    """The micro-cluster search's settings in a metric's training (and ``search="evolve"``).

    ``metric`` gives ``max_points``, ``n_subsamples`` and ``caution`` (a
    :class:`~sklearn_tcm.LearnedMetricClustering`, fitted or not); the
    other settings are the search's own: 150 micro-clusters, 24 survivors
    over at most 30 generations, candidates within ARI 0.85 of a classical
    clustering, ``select`` deciding the round kept.
    """
    return {
        "search": "select", "n_clusters": None, "k_range": (min(2, k_high), k_high),
        "n_micro": 150, "max_points": metric.max_points, "n_subsamples": metric.n_subsamples,
        "population_size": 24, "n_generations": 30, "caution": metric.caution,
        "trust_region": 0.85,
    }


def search_dataset(X, gae, critic, options, device, seed, verbose=0):
    """One search for the clustering of ``X`` the critic prefers.

    ``X`` is a raw dataset; the micro-clusters live in its preprocessed
    space and each scoring subsample is preprocessed on its own, like a
    training task. ``options``: ``search`` (``"select"`` or ``"evolve"``),
    ``n_clusters``, ``k_range``, ``n_micro``, ``max_points``,
    ``n_subsamples``, ``population_size``, ``n_generations``, ``caution``,
    ``trust_region`` and ``n_elites``.

    Returns
    -------
    SearchResult
    """
    X_pre = preprocess_task(X, random_state=seed)
    space = SearchSpace(X_pre, n_micro=options["n_micro"], max_points=options["max_points"],
                        n_subsamples=options["n_subsamples"], random_state=seed)
    contexts = [build_context(preprocess_task(X[subset], random_state=seed),
                              dtype=torch.float32) for subset in space.subsets]
    objective = CriticObjective(gae.to(device), critic.to(device), contexts, device,
                                caution=options["caution"])
    common = {"k_range": options["k_range"], "n_clusters": options["n_clusters"],
              "random_state": seed, "n_elites": options.get("n_elites", 0)}
    if options["search"] == "select":
        return select(space, objective, **common)
    return evolve(space, objective, population_size=options["population_size"],
                  n_offspring=2 * options["population_size"],
                  n_generations=options["n_generations"],
                  trust_region=options.get("trust_region", 0.0), verbose=verbose, **common)


def search_tasks(gae, critic, tasks, options, device, seeds, n_jobs=None):
    """Searches on the points of several tasks, in parallel with joblib.

    With several jobs the searches run on the CPU (one copy of the networks
    per task); with one they use ``device``.
    """
    return _on_tasks(search_dataset, gae, critic, tasks, device, seeds, n_jobs,
                     lambda task, gae, critic, device, seed:
                     (task["X"], gae, critic, options, device, seed))


def _on_tasks(function, gae, critic, tasks, device, seeds, n_jobs, arguments):
    """``function(*arguments(task, gae, critic, device, seed))`` per task, with joblib.

    The networks are copied to the CPU once; with several jobs the work runs
    there, with one on ``device``.
    """
    gae, critic = module_to_cpu(copy.deepcopy(gae)), module_to_cpu(copy.deepcopy(critic))
    device = torch.device("cpu") if n_jobs not in (None, 1) else device
    return Parallel(n_jobs=n_jobs)(
        delayed(inline_task)(function, arguments(task, gae, critic, device, int(seed)))
        for task, seed in zip(tasks, seeds))


def add_search_negatives(tasks, embeddings, results, gae, device):
    """Add the distinct elites of each task's search as negatives of that task.

    A find is kept when its ARI to the truth is below :data:`NEAR_TRUTH_ARI`
    and it is no duplicate of a candidate already in the task or kept before
    (:func:`~.tasks.deduplicate`). ``tasks`` and ``embeddings`` (per task,
    its candidates' embeddings) are updated in place. Returns the number of
    negatives added.
    """
    return add_negatives(tasks, embeddings, {
        index: [("search", labels) for labels in [result.labels] + list(result.elites)]
        for index, result in results.items()}, gae, device)


def add_negatives(tasks, embeddings, finds_by_task, gae, device):
    """Add ``{task index: [(family, labels), ...]}`` as negatives (see above)."""
    n_new = 0
    for index, finds in finds_by_task.items():
        task = tasks[index]
        truth = task["labels"][0]
        # below, not at, the threshold: deduplicate drops ARI > near_truth
        new, agreement = deduplicate(truth, finds, existing=task["labels"][1:],
                                     near_truth=np.nextafter(NEAR_TRUTH_ARI, 0))
        if not new:
            continue
        task["families"] += [family for family, _ in new]
        new = [labels for _, labels in new]
        task["labels"] = np.vstack([task["labels"], np.stack(new)])
        task["weights"] = np.append(task["weights"], 1.0 - agreement)
        embeddings[index] = torch.cat(
            [embeddings[index], embed_task(gae, {"X": task["X"], "labels": np.stack(new)},
                                           device)])
        n_new += len(new)
    return n_new


def pool_scores(gae, critic, task, device, seed, caution=0.0):
    """``(pool labels, their scores, the truth's score)`` of CriticClustering's pool on a task.

    The pool is what :class:`~sklearn_tcm.CriticClustering` would choose
    among on the task's points (every number of clusters up to its default
    largest), scored by the critic on the task's own graphs.
    """
    from .critic_clustering import default_max_clusters

    X, truth = task["X"], task["labels"][0]
    pool = candidate_pool(X, (2, default_max_clusters(X.shape[0])), random_state=seed)
    if not len(pool):
        return pool.labels, np.zeros(0), 0.0
    with torch.no_grad():
        embedded = embed_task(gae, {"X": X, "labels": np.vstack([truth[None], pool.labels])},
                              device)
        scores = critic(embedded, caution).cpu().numpy()
    return pool.labels, scores[1:], float(scores[0])


def _pool_all(gae, critic, tasks, device, seeds, caution, n_jobs):
    """:func:`pool_scores` of several tasks, in parallel as :func:`search_tasks`."""
    return _on_tasks(pool_scores, gae, critic, tasks, device, seeds, n_jobs,
                     lambda task, gae, critic, device, seed:
                     (gae, critic, task, device, seed, caution))


def pool_finds(labels, scores, truth_score, truth, max_finds=8):
    """The pool's partitions scored above the truth (not the truth itself), best first."""
    order = np.argsort(-scores)
    return [labels[i] for i in order[:max_finds]
            if beats_truth(scores[i], truth_score, labels[i], truth)]


def _pool_figures(tasks, pooled):
    nmi, beats = [], []
    for task, (labels, scores, truth_score) in zip(tasks, pooled):
        truth = task["labels"][0]
        if not scores.size:
            continue
        best = int(np.argmax(scores))
        nmi.append(normalized_mutual_info_score(truth, labels[best]))
        beats.append(beats_truth(scores[best], truth_score, labels[best], truth))
    return {"pool_nmi": float(np.mean(nmi)) if nmi else 0.0,
            "pool_beats_truth_rate": float(np.mean(beats)) if beats else 0.0}


def _search_figures(tasks, truth_scores, results, prefix):
    nmi, k_error, beats = [], [], []
    for task, truth_score, result in zip(tasks, truth_scores, results):
        truth = task["labels"][0]
        nmi.append(normalized_mutual_info_score(truth, result.labels))
        k_error.append(result.n_clusters - (int(truth.max()) + 1))
        beats.append(beats_truth(result.score, truth_score, result.labels, truth))
    return {f"{prefix}nmi": float(np.mean(nmi)), f"{prefix}k_error": float(np.mean(k_error)),
            f"{prefix}beats_truth_rate": float(np.mean(beats))}


def validate_round(gae, critic, tasks, embeddings, options, device, seeds, n_searches,
                   n_jobs=None):
    """Ranking and search figures of the critic on validation tasks.

    Returns a dict: ``best``, ``top3``, ``mrr`` (the truth among each
    task's candidates, under the ensemble's score), then for the
    evolutionary search on the first ``n_searches`` tasks ``evolve_nmi``,
    ``evolve_k_error`` and ``beats_truth_rate`` (share of searches whose
    result scores above the truth), ``search_nmi`` /
    ``search_k_error`` / ``search_beats_truth_rate`` for the search mode
    ``options["search"]`` (the same numbers when it is ``"evolve"``), and,
    for the best-scored partition of CriticClustering's pool on the same
    tasks, ``pool_nmi`` and ``pool_beats_truth_rate``.
    """
    caution = options["caution"]
    with torch.no_grad():
        scores = [critic(e, caution).cpu().numpy() for e in embeddings]
    record = ranking_metrics(scores, [candidate_agreement(task) for task in tasks])
    items = tasks[:n_searches]
    truth_scores = [s[0] for s in scores[:n_searches]]
    evolve_options = {**options, "search": "evolve", "n_elites": 0}
    results = search_tasks(gae, critic, items, evolve_options, device, seeds, n_jobs)
    evolved = _search_figures(items, truth_scores, results, "evolve_")
    record.update(evolve_nmi=evolved["evolve_nmi"],
                  evolve_k_error=evolved["evolve_k_error"],
                  beats_truth_rate=evolved["evolve_beats_truth_rate"])
    if options["search"] != "evolve":
        results = search_tasks(gae, critic, items, {**options, "n_elites": 0}, device,
                               seeds, n_jobs)
        record.update(_search_figures(items, truth_scores, results, "search_"))
    else:
        record.update({f"search_{key[len('evolve_'):]}": value
                       for key, value in evolved.items()})
    record.update(_pool_figures(items, _pool_all(gae, critic, items, device, seeds, caution,
                                                 n_jobs)))
    return record


def _stop_reason(round_index, max_rounds, n_new, rate, stale):
    """Why the adversarial rounds end after this round, or None to go on."""
    if round_index > 0 and n_new == 0:
        return "the search found no new negatives"
    if rate == 0:
        return "no search beat the truth"
    if stale >= ROUND_PATIENCE:
        return "the beats-truth rate stopped falling"
    if round_index == max_rounds:
        return "round cap reached" if max_rounds else "no adversarial rounds"
    return None


def _adversarial_search(gae, critic, tasks, embeddings, adversary, n_search_tasks, device,
                        rng, n_jobs):
    """Search ``n_search_tasks`` training tasks under the critic; add what it finds.

    The evolutionary search's elites and the partitions of CriticClustering's
    pool that the critic scores above the truth become negatives. Returns
    the number of new negatives (see :func:`add_negatives`).
    """
    chosen = rng.choice(len(tasks), size=min(n_search_tasks, len(tasks)), replace=False)
    seeds = rng.integers(2**31 - 1, size=chosen.size)
    results = search_tasks(gae, critic, [tasks[i] for i in chosen], adversary, device,
                           seeds, n_jobs)
    pooled = _pool_all(gae, critic, [tasks[i] for i in chosen], device, seeds,
                       adversary["caution"], n_jobs)
    finds = {}
    for index, result, (labels, scores, truth_score) in zip(chosen.tolist(), results, pooled):
        found = [("search", found) for found in [result.labels] + list(result.elites)]
        if scores.size:
            found += [("pool", found) for found in
                      pool_finds(labels, scores, truth_score, tasks[index]["labels"][0])]
        finds[index] = found
    return add_negatives(tasks, embeddings, finds, gae, device)


def _round_record(round_index, epochs, figures, n_new, started):
    """A round's record in the training loop's schema, then its validation ``figures``."""
    last = {epoch.get("member", 0): epoch for epoch in epochs}  # each critic's last epoch
    return {"unit": "adversarial round", "iteration": round_index,
            "loss": float(np.mean([epoch["loss"] for epoch in last.values()])),
            "skipped": int(sum(epoch["skipped"] for epoch in epochs)),
            "validation": figures["pool_nmi"], **figures, "round": round_index,
            "n_new_negatives": n_new, "seconds": time.perf_counter() - started}


def run_rounds(gae, critic, tasks, embeddings, train, *, options, max_rounds,
               n_search_tasks, n_validation_searches, device, rng, n_jobs=None,
               verbose=0):
    """Warm start, then adversarial rounds until the beats-truth rate stops falling.

    Parameters
    ----------
    gae : GraphAutoEncoder
    critic : CriticEnsemble
        Trained in place; the kept round's weights are loaded at the end.
    tasks, embeddings : dict
        ``"train"`` and ``"validation"`` lists of tasks and of their
        candidates' embeddings (training ones grow with the search's
        negatives).
    train : callable
        ``train(critic, round_index)`` trains the critic on the current
        training embeddings and returns its epoch history.
    options : dict
        Search options (see :func:`search_dataset`); ``options["search"]``
        is the mode of ``predict`` and decides the kept round.
    max_rounds : int
        Most adversarial rounds after the warm start.
    n_search_tasks : int
        Training tasks searched per round.
    n_validation_searches : int
        Validation tasks searched after each round.
    device : torch.device
    rng : numpy.random.Generator
    n_jobs : int or None
    verbose : int

    Returns
    -------
    history : list of dict
        Per round (0 = warm start), in the schema of the training loop's
        records (``unit`` ``"adversarial round"``, ``iteration`` the round,
        ``loss`` the critics' mean last training loss, ``skipped``,
        ``validation`` the clusterer's pool NMI), then the figures of
        :func:`validate_round`, ``round``, ``n_new_negatives``, ``seconds``,
        and ``stopped`` on the last round (why the rounds ended).
    critic_history : list of dict
        The critic's epochs, each with its ``round``.
    kept : dict
        The kept round's record.
    """
    # the adversary searches everywhere (no trust region): every error it finds is a
    # lesson, wherever predict's search may later be allowed to go
    adversary = {**options, "search": "evolve", "trust_region": 0.0,
                 "n_elites": options["population_size"]}
    history, critic_history, kept, best_rate, stale = [], [], None, np.inf, 0
    for round_index in range(max_rounds + 1):
        started = time.perf_counter()
        n_new = 0 if round_index == 0 else _adversarial_search(
            gae, critic, tasks["train"], embeddings["train"], adversary,
            n_search_tasks, device, rng, n_jobs)
        epochs = train(critic, round_index)
        critic_history += [{"round": round_index, **epoch} for epoch in epochs]
        record = validate_round(
            gae, critic, tasks["validation"], embeddings["validation"], options, device,
            rng.integers(2**31 - 1, size=n_validation_searches), n_validation_searches,
            n_jobs)
        record = _round_record(round_index, epochs, record, n_new, started)
        history.append(record)
        if verbose:
            print(f"round {round_index}: beats-truth rate {record['beats_truth_rate']:.2f} "
                  f"(search), {record['pool_beats_truth_rate']:.2f} (clusterer's pool); "
                  f"pool NMI {record['pool_nmi']:.3f}, {n_new} new negatives", flush=True)
        key = (record["pool_nmi"], -record["pool_beats_truth_rate"], record["mrr"])
        if kept is None or key > kept[0]:
            kept = (key, copy.deepcopy(critic.state_dict()), record)
        # the rate the rounds drive down: the search's and the clusterer's, together
        rate = record["beats_truth_rate"] + record["pool_beats_truth_rate"]
        stale = stale + 1 if rate >= best_rate else 0
        best_rate = min(best_rate, rate)
        stop = _stop_reason(round_index, max_rounds, n_new, rate, stale)
        if stop:
            record["stopped"] = stop
            break
    critic.load_state_dict(kept[1])
    return history, critic_history, kept[2]
