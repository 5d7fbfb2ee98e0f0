"""Shared PyTorch helpers of the estimators (private).

Device choice, local seeding, numpy <-> tensor conversion, mini-batching and
CPU-only fitted state. No global random state is ever changed: seeding
happens inside :func:`torch.random.fork_rng` and through explicit
:class:`torch.Generator` objects.
"""

import contextlib
import copy
import os

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

_MAX_SEED = 2**31 - 1


def resolve_device(device):
    """Turn the ``device`` parameter of an estimator into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"} or torch.device
        ``"auto"`` picks CUDA when available, else the CPU.

    Returns
    -------
    torch.device
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; use "
            "device='cpu' or device='auto'."
        )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested but MPS is not available.")
    return resolved


def inference_device(device):
    """Device for inference with a fitted model.

    Like :func:`resolve_device`, but a model fitted on a GPU and loaded on a
    machine without one falls back to the CPU instead of failing.
    """
    if isinstance(device, str) and device == "auto":
        return resolve_device(device)
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        return torch.device("cpu")
    return resolved


def check_layer_sizes(sizes, name):
    """Validate a layer-size parameter: a sequence of positive integers.

    Returns the sizes as a list of int; raises a ValueError naming ``name``.
    """
    try:
        values = list(sizes)
    except TypeError:
        values = None
    if values is None or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        raise ValueError(f"{name} must be a sequence of positive integers, got {sizes!r}.")
    return [int(v) for v in values]


def draw_seed(random_state):
    """Draw an integer seed from ``random_state`` (int, RandomState or None)."""
    return int(check_random_state(random_state).randint(_MAX_SEED))


@contextlib.contextmanager
def limited_threads(n_threads):
    """Context in which torch, BLAS and OpenMP use at most ``n_threads`` threads.

    None leaves them as they are. The previous limits are restored on exit.
    """
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(n_threads):
            yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def seeded_torch(seed, device=None):
    """Context in which torch's default generators are seeded with ``seed``.

    The global generators are forked, so the caller's torch random state is
    restored on exit. Module construction (``nn.Linear`` initialisation) and
    dropout inside the context are reproducible.
    """
    devices = []
    if device is not None and torch.device(device).type == "cuda":
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        # the CPU generator and the one CUDA device in use only: torch.manual_seed
        # would reseed every CUDA device, including other users' devices
        torch.default_generator.manual_seed(seed)
        for index in devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def available_memory():
    """Bytes of memory available to new allocations (None when unknown).

    ``MemAvailable`` of ``/proc/meminfo`` on Linux, else the physical memory.
    """
    with contextlib.suppress(OSError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_dense_size(n_bytes, what, hint):
    """Refuse, with a clear error, work that would need more memory than there is.

    Called where the size of a dense array is quadratic in a user-controlled
    number (points per graph, points of a set), so that a too large request
    raises a :class:`MemoryError` that says what to change instead of
    getting the process killed by the operating system.

    Parameters
    ----------
    n_bytes : int
        Bytes the work will hold at once.
    what : str
        What needs them, for the message.
    hint : str
        What the user can change, for the message.
    """
    available = available_memory()
    if available is not None and n_bytes > available:
        raise MemoryError(
            f"{what} would need {n_bytes / 2**30:.1f} GiB of memory, more than the "
            f"{available / 2**30:.1f} GiB available; {hint}"
        )


def mlp(sizes, activation=nn.ReLU, *, last_activation=False):
    """The package's one fully connected network builder.

    ``nn.Sequential`` of ``Linear(sizes[i], sizes[i + 1])`` layers with an
    ``activation()`` module between them (and after the last one when
    ``last_activation``). Used by DEC's autoencoder, DSCL's network and the
    learned metric's critics; the layer indices (hence the state-dict keys)
    are those of a plain ``nn.Sequential``.

    Parameters
    ----------
    sizes : sequence of int
        Input size, hidden sizes, output size.
    activation : callable, default=torch.nn.ReLU
        Makes one activation module, e.g. ``lambda: nn.LeakyReLU(0.2)``.
    last_activation : bool, default=False
    """
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if index < len(sizes) - 2 or last_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


def make_generator(seed, device="cpu"):
    """A :class:`torch.Generator` on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def to_tensor(X, device, dtype=torch.float32):
    """Copy a numpy array into a tensor (read-only arrays are fine)."""
    return torch.as_tensor(np.array(X, dtype=np.float64, copy=True), dtype=dtype).to(
        device
    )


def iter_minibatches(n_samples, batch_size, *, generator=None, shuffle=True):
    """Yield index tensors of mini-batches covering ``range(n_samples)`` once.

    With ``shuffle`` the order comes from ``generator`` (a CPU
    :class:`torch.Generator`), so an epoch is reproducible.
    """
    if shuffle:
        order = torch.randperm(n_samples, generator=generator)
    else:
        order = torch.arange(n_samples)
    yield from torch.split(order, batch_size)


def module_on(module, device, dtype=None):
    """``module`` on ``device`` (and ``dtype``) in eval mode, the module given left as it is.

    The module itself when it is already there and in eval mode (inference
    then copies nothing: a fitted model scores on the CPU as it is), else
    a deep copy moved there. Inference only: the result may be the module
    given, so it must not be trained or changed.
    """
    device = torch.device(device)
    tensors = list(module.parameters()) + list(module.buffers())
    in_place = (not any(sub.training for sub in module.modules())
                and all(t.device == device for t in tensors)
                and (dtype is None or all(t.dtype == dtype for t in tensors
                                          if t.is_floating_point())))
    if in_place:
        return module
    return copy.deepcopy(module).to(device=device, dtype=dtype).eval()


@torch.no_grad()
def predict_batches(module, X, *, device, batch_size=1024, float64=None):
    """Apply a fitted ``module`` to ``X`` in mini-batches, returning numpy.

    The module is copied, so the fitted module (kept on the CPU) is never
    moved. On the CPU inference runs in float64 by default: cheap for these
    networks, and it makes the result of a row independent of the batch it
    is computed in (scikit-learn's subset-invariance checks rely on that).

    Parameters
    ----------
    module : torch.nn.Module
        Fitted module mapping a float tensor to a tensor (or tuple of
        tensors, of which the first is returned).
    X : ndarray of shape (n_samples, n_features)
    device : torch.device
    batch_size : int, default=1024
    float64 : bool or None, default=None
        None means float64 on the CPU, float32 elsewhere.

    Returns
    -------
    ndarray of shape (n_samples, ...)
    """
    if float64 is None:
        float64 = device.type == "cpu"
    dtype = torch.float64 if float64 else torch.float32
    module = module_on(module, device, dtype)
    outputs = []
    for start in range(0, X.shape[0], batch_size):
        batch = torch.tensor(np.asarray(X[start : start + batch_size]), dtype=dtype)
        out = module(batch.to(device))
        if isinstance(out, tuple):
            out = out[0]
        outputs.append(out.cpu().to(torch.float64).numpy())
    return np.concatenate(outputs)


def module_to_cpu(module):
    """Return ``module`` on the CPU in eval mode, its gradients dropped."""
    module = module.to("cpu").eval()
    for parameter in module.parameters():
        parameter.grad = None
        parameter.requires_grad_(False)
    return module


def _finite_gradients(module):
    """Whether every gradient of ``module`` is finite: one fused norm, one sync.

    (A finite gradient so large that its norm overflows counts as not finite.)
    """
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return True
    norms = torch._foreach_norm(grads)
    return bool(torch.isfinite(torch.stack(norms)).all())


def _one_unit(module, optimizer, batches, step):
    """Optimiser steps over one unit's batches: (mean loss stepped, batches tried, skipped)."""
    module.train()
    total, n_steps, n_batches, skipped = 0.0, 0, 0, 0
    for batch in batches:
        n_batches += 1
        loss = step(batch)
        if loss is None:
            continue
        loss, reported = loss if isinstance(loss, tuple) else (loss, None)
        optimizer.zero_grad()
        if not torch.isfinite(loss):
            skipped += 1
            continue
        loss.backward()
        if not _finite_gradients(module):
            optimizer.zero_grad()
            skipped += 1
            continue
        optimizer.step()
        total += float(loss.detach()) if reported is None else float(reported)
        n_steps += 1
    return total / max(n_steps, 1), n_batches, skipped


UNITS = ("epoch", "update interval", "validation interval")


def train_loop(module, optimizer, n_units, batches, step, *, unit="epoch", validate=None,
               n_iter_no_change=None, stop=None, desc="training", verbose=0, postfix=None):
    """The package's training loop: units of optimiser steps, each followed by a check.

    A *unit* is what the caller names it: an ``"epoch"`` (one pass over the
    data: DEC's pretraining, the graph auto-encoder, the critic), an
    ``"update interval"`` (DEC's self-training: the batches between two
    updates of the target distribution) or a ``"validation interval"``
    (L2C and DSCL: sampled batches between two validations).

    Each unit calls ``step(batch)`` for every item of ``batches(index)``;
    ``step`` returns the loss tensor of that batch (or None to skip it).
    The loop does the backward pass and the optimiser step, skips a batch
    whose loss or gradients are not finite (counted in ``skipped``), keeps
    the mean loss, and after each unit calls ``validate(index)``, which
    returns ``(metrics, key)``: a dict recorded in the history and a
    comparable key (higher is better) by which the best state is kept, or
    None to keep the last state. Training stops after ``n_iter_no_change``
    units without a better key, or when ``stop(record)`` gives a reason,
    and the best state is loaded back. Without ``validate`` every unit runs
    and the last state is kept. The progress bar counts units; it closes at
    the unit reached, saying why it stopped.

    Parameters
    ----------
    module : torch.nn.Module
    optimizer : torch.optim.Optimizer
    n_units : int
    batches : callable
        ``batches(index)`` returns an iterable of batches.
    step : callable
        ``step(batch)`` returns a scalar loss tensor, or None to skip the
        batch, or a pair ``(objective, loss)``: a tensor whose gradient is
        the one to follow (e.g. ``(F * dL_dF).sum()`` for a closed-form
        gradient) and the loss value to record.
    unit : {"epoch", "update interval", "validation interval"}, default="epoch"
    validate : callable or None, default=None
    n_iter_no_change : int or None, default=None
        Units without a better validation key before training stops.
    stop : callable or None, default=None
        ``stop(record)`` returns a reason to stop after this unit (e.g.
        convergence), shown on the progress bar, or None.
    desc : str, default="training"
        Progress-bar label.
    verbose : int, default=0
    postfix : callable or None, default=None
        ``postfix(record)`` returns a dict shown on the progress bar.

    Returns
    -------
    history : list of dict
        One record per unit, the schema of every estimator's ``history_``:
        ``unit``; ``iteration``, the batches tried since training began;
        ``loss``, the mean loss of the unit's optimiser steps; ``skipped``,
        its batches skipped for a non-finite loss or gradient;
        ``validation``, the figure early stopping follows (None without
        one); then the other metrics of ``validate``.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}.")
    from tqdm.auto import tqdm

    history, best_key, best_state, since_best, iteration = [], None, None, 0, 0
    bar = tqdm(total=n_units, desc=desc, disable=not verbose, unit=unit)
    reason = "done"
    try:
        for index in range(n_units):
            loss, n_batches, skipped = _one_unit(module, optimizer, batches(index), step)
            iteration += n_batches
            record = {"unit": unit, "iteration": iteration, "loss": loss, "skipped": skipped,
                      "validation": None}
            module.eval()
            if validate is not None:
                metrics, key = validate(index)
                record.update(metrics)
                if key is not None and (best_key is None or key > best_key):
                    best_key, since_best = key, 0
                    best_state = copy.deepcopy(module.state_dict())
                elif key is not None:
                    since_best += 1
            history.append(record)
            bar.update(1)
            if postfix is not None:
                bar.set_postfix(postfix(record))
            if n_iter_no_change is not None and since_best >= n_iter_no_change:
                reason = f"no better validation for {n_iter_no_change} {unit}s"
                break
            if stop is not None and (reason := stop(record) or "done") != "done":
                break
    finally:
        if reason != "done":
            bar.total = bar.n  # the bar ends where training ended
            bar.set_description(f"{desc} ({reason})")
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return history
