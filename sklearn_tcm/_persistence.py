"""Safe model files: parameters and fitted state without pickle.

A model file is written with :func:`torch.save` but holds only plain data:
a JSON string (the estimator's class, parameters and non-tensor fitted
attributes), numeric arrays as tensors, and the state dicts of the torch
modules. It is read with ``torch.load(weights_only=True)``, which refuses
anything else, so loading a file from a stranger cannot run code. The
modules are rebuilt from the parameters by the estimator itself and their
weights loaded into them.

Every file the package writes goes through :func:`atomic_write`: the bytes
go to a temporary file in the target's directory, which is flushed, synced
to disk and only then renamed over the target (:func:`os.replace`, atomic on
POSIX and Windows). A crash, a full disk or a kill during a write leaves the
previous file untouched; readers see either the old or the new complete file.
"""

import contextlib
import importlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._torch import module_to_cpu

__all__ = ["load", "PersistenceMixin", "atomic_write"]

FORMAT = "sklearn_tcm-model"
FORMAT_VERSION = 1

def _file_mode():
    """Permission bits of a newly created file under the current umask."""
    with contextlib.suppress(OSError):  # Linux exposes the umask without changing it
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    return 0o644


@contextlib.contextmanager
def atomic_write(path, mode="wb", **open_kwargs):
    """Open a temporary file that replaces ``path`` only if the block succeeds.

    The file object yielded writes to a temporary file in the directory of
    ``path``. When the ``with`` block ends normally the data are flushed and
    synced to disk, and the temporary file is renamed over ``path`` in one
    atomic step. When the block raises (any exception, ``KeyboardInterrupt``
    included), the temporary file is removed and ``path`` is left exactly as
    it was. A process killed during the block leaves ``path`` intact too (and
    possibly a ``.<name>.*.tmp`` file beside it).

    Parameters
    ----------
    path : str or path-like
        The file to write.
    mode : {"wb", "w"}, default="wb"
        Binary or text.
    **open_kwargs
        Passed to :func:`open` (``encoding``, ``newline``...).

    Yields
    ------
    file : file object

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_tcm._persistence import atomic_write
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.csv")
    >>> with atomic_write(path, "w") as f:
    ...     _ = f.write("0,1,1")
    >>> open(path).read()
    '0,1,1'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}.")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory.")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        # said with the user's path, not the temporary file's name
        raise FileNotFoundError(f"cannot write {str(path)!r}: directory {str(directory)!r} "
                                "does not exist.")
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, mode, **open_kwargs) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        # keep an existing file's permissions; a new file gets the umask's
        os.chmod(temporary, path.stat().st_mode & 0o7777 if path.exists() else _file_mode())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        directory_descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_descriptor)
        finally:
            os.close(directory_descriptor)


# class name -> module that defines it: the only classes a file may name
_ESTIMATORS = {
    "DECClustering": "sklearn_tcm.dec",
    "DSCLClustering": "sklearn_tcm.dscl",
    "L2CClustering": "sklearn_tcm.l2c",
    "LearnedMetricClustering": "sklearn_tcm.learned_metric.estimator",
    "CriticClustering": "sklearn_tcm.learned_metric.critic_clustering",
}


def _encode(value, name, tensors):
    """JSON-able form of an attribute value; arrays go to ``tensors``."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            tensors[name] = torch.from_numpy(np.ascontiguousarray(value).copy())
            return {"__ndarray__": name, "dtype": value.dtype.str}
        return {"__ndarray_json__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if type(value).__name__ in _ESTIMATORS and isinstance(value, PersistenceMixin):
        # an estimator held by another (CriticClustering's metric): saved whole
        return {"__estimator__": _encode_estimator(value, name, tensors)}
    if type(value).__name__ == "FrozenEstimator":
        return {"__frozen__": _encode(value.estimator, f"{name}.frozen", tensors)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"cannot save {name!r}: dictionary keys must be strings.")
        return {"__dict__": {k: _encode(v, f"{name}.{k}", tensors) for k, v in value.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save {name!r} of type {type(value).__name__} safely.")


def _decode(value, tensors):
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return tensors[value["__ndarray__"]].numpy().astype(np.dtype(value["dtype"]))
    if "__ndarray_json__" in value:
        return np.array(value["__ndarray_json__"], dtype=np.dtype(value["dtype"]))
    if "__device__" in value:
        return torch.device(value["__device__"])
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
    if "__estimator__" in value:
        return _decode_estimator(value["__estimator__"], tensors)
    if "__frozen__" in value:
        from sklearn.frozen import FrozenEstimator

        return FrozenEstimator(_decode(value["__frozen__"], tensors))
    raise ValueError("model file has an unknown entry.")


def _encode_estimator(estimator, name, tensors):
    """JSON-able parameters, fitted state and module weights of a fitted estimator."""
    params, state, modules = {}, {}, {}
    for key, value in estimator.get_params(deep=False).items():
        if isinstance(value, nn.Module):
            raise TypeError(
                f"{type(estimator).__name__} with a user-supplied torch module as {key!r} "
                "cannot be saved safely; use pickle or joblib instead."
            )
        if isinstance(value, np.random.RandomState):
            raise TypeError("random_state must be an int or None to save the model.")
        params[key] = _encode(value, f"{name}.param.{key}", tensors)
    for key, value in vars(estimator).items():
        if key in params:
            continue
        if isinstance(value, nn.Module):
            modules[key] = {}
            for k, v in value.state_dict().items():
                tensor_name = f"{name}.module.{key}.{k}"
                tensors[tensor_name] = v.detach().cpu().clone()
                modules[key][k] = tensor_name
        else:
            state[key] = _encode(value, f"{name}.state.{key}", tensors)
    return {"class": type(estimator).__name__, "params": params, "state": state,
            "modules": modules}


def _decode_estimator(entry, tensors):
    """The fitted estimator of an :func:`_encode_estimator` entry."""
    name = entry["class"]
    if name not in _ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}.")
    weights = {key: {k: tensors[t] for k, t in names.items()}
               for key, names in entry["modules"].items()}
    return _build_estimator(name, entry["params"], entry["state"], weights, tensors)


def _build_estimator(name, params, state, weights, tensors):
    cls = getattr(importlib.import_module(_ESTIMATORS[name]), name)
    estimator = cls(**{k: _decode(v, tensors) for k, v in params.items()})
    for key, value in state.items():
        setattr(estimator, key, _decode(value, tensors))
    with torch.random.fork_rng():  # module construction must not touch global RNG
        modules = estimator._empty_modules()
    if set(modules) != set(weights):
        raise ValueError("its networks do not match the estimator.")
    for key, module in modules.items():
        module.load_state_dict(weights[key])
        setattr(estimator, key, module_to_cpu(module))
    return estimator


class PersistenceMixin:
    """``save(path)`` for the estimators; modules come from ``_empty_modules``."""

    def _empty_modules(self):
        """Freshly built modules (attribute name -> module) to load weights into.

        Each estimator defines it from its parameters and fitted attributes.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define _empty_modules.")

    def save(self, path):
        """Save the fitted estimator to a safe model file.

        The file holds parameters, fitted attributes and network weights
        only (no pickle); read it back with :func:`sklearn_tcm.load`.

        Parameters
        ----------
        path : str or path-like
            Destination file (conventionally ``*.tcm``). It is written
            atomically: if saving fails or is interrupted, an existing file
            at ``path`` is left unchanged.

        Raises
        ------
        TypeError
            If a parameter cannot be stored safely (a user-supplied torch
            module, a ``RandomState`` instance as ``random_state``).
        """
        from sklearn.utils.validation import check_is_fitted

        from . import __version__

        check_is_fitted(self)
        tensors = {}
        entry = _encode_estimator(self, "top", tensors)
        # the top level keeps its module weights as state dicts (format version 1)
        modules = {key: {k: tensors.pop(t) for k, t in names.items()}
                   for key, names in entry["modules"].items()}
        params, state = entry["params"], entry["state"]
        payload = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "estimator": type(self).__name__,
            "meta": json.dumps({"params": params, "state": state}),
            "tensors": tensors,
            "modules": modules,
        }
        with atomic_write(path) as file:
            torch.save(payload, file)


def load(path):
    """Load an estimator saved with ``save``.

    Uses ``torch.load(weights_only=True)``: a file holding anything but
    plain data and tensors (for instance a pickle) is refused, so a model
    file from an untrusted source cannot execute code.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator : DECClustering, DSCLClustering, L2CClustering or LearnedMetricClustering
        The fitted estimator, on the CPU.

    Raises
    ------
    ValueError
        If the file is not a sklearn_tcm model file, was written by an
        incompatible format version, or is damaged.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {str(path)!r}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors, zip errors, torch errors
        raise ValueError(
            f"{str(path)!r} is not a sklearn_tcm model file (or it is damaged): "
            f"{type(exc).__name__}."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a sklearn_tcm model file.")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} was written in model format version "
            f"{payload.get('format_version')!r}; this sklearn_tcm reads version "
            f"{FORMAT_VERSION}."
        )
    name = payload.get("estimator")
    if name not in _ESTIMATORS:
        raise ValueError(f"{str(path)!r} names an unknown estimator {name!r}.")
    try:
        meta = json.loads(payload["meta"])
        tensors = payload["tensors"]
        estimator = _build_estimator(name, meta["params"], meta["state"],
                                     payload["modules"], tensors)
    except (KeyError, TypeError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is a damaged sklearn_tcm model file: {exc}") from None
    return estimator

