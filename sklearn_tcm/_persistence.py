"""Safe model files: parameters and fitted state without pickle.

A model file is written with :func:`torch.save` but holds only plain data:
a JSON string (the estimator's class, parameters and non-tensor fitted
attributes), numeric arrays as tensors, and the state dicts of the torch
modules. It is read with ``torch.load(weights_only=True)``, which refuses
anything else, so loading a file from a stranger cannot run code. The
modules are rebuilt from the parameters by the estimator itself and their
weights loaded into them.
"""

import importlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._torch import module_to_cpu

__all__ = ["load", "PersistenceMixin"]

FORMAT = "sklearn_tcm-model"
FORMAT_VERSION = 1

# class name -> module that defines it: the only classes a file may name
_ESTIMATORS = {
    "DECClustering": "sklearn_tcm.dec",
    "DSCLClustering": "sklearn_tcm.dscl",
    "L2CClustering": "sklearn_tcm.l2c",
    "LearnedMetricClustering": "sklearn_tcm.learned_metric.estimator",
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
    raise ValueError("model file has an unknown entry.")


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
            Destination file (conventionally ``*.tcm``).

        Raises
        ------
        TypeError
            If a parameter cannot be stored safely (a user-supplied torch
            module, a ``RandomState`` instance as ``random_state``).
        """
        from sklearn.utils.validation import check_is_fitted

        from . import __version__

        check_is_fitted(self)
        tensors, params = {}, {}
        for key, value in self.get_params(deep=False).items():
            if isinstance(value, nn.Module):
                raise TypeError(
                    f"{type(self).__name__} with a user-supplied torch module as {key!r} "
                    "cannot be saved safely; use pickle or joblib instead."
                )
            if isinstance(value, np.random.RandomState):
                raise TypeError("random_state must be an int or None to save the model.")
            params[key] = _encode(value, f"param.{key}", tensors)
        modules, state = {}, {}
        for key, value in vars(self).items():
            if key in params:
                continue
            if isinstance(value, nn.Module):
                modules[key] = {k: v.detach().cpu().clone()
                                for k, v in value.state_dict().items()}
            else:
                state[key] = _encode(value, f"state.{key}", tensors)
        torch.save({
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "estimator": type(self).__name__,
            "meta": json.dumps({"params": params, "state": state}),
            "tensors": tensors,
            "modules": modules,
        }, Path(path))


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
        cls = getattr(importlib.import_module(_ESTIMATORS[name]), name)
        estimator = cls(**{k: _decode(v, tensors) for k, v in meta["params"].items()})
        for key, value in meta["state"].items():
            setattr(estimator, key, _decode(value, tensors))
        with torch.random.fork_rng():  # module construction must not touch global RNG
            modules = estimator._empty_modules()
        if set(modules) != set(payload["modules"]):
            raise ValueError("its networks do not match the estimator.")
        for key, module in modules.items():
            module.load_state_dict(payload["modules"][key])
            setattr(estimator, key, module_to_cpu(module))
    except (KeyError, TypeError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is a damaged sklearn_tcm model file: {exc}") from None
    return estimator

