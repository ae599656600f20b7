"""The fitted regressors of a run as plain arrays: inference-only heads that a bundle stores without pickle.

A strategy's regressor (:class:`soilnb.stages.strategies.Regressor`: a PLSR or MLP on transformed targets plus
its :class:`~soilnb.stats.targets.TargetTransformer`) becomes a *head*:

* :class:`PLSHead`: one row of coefficients and an intercept per output (``Y = X @ coef.T + intercept`` in
  float64, the computation of :class:`~soilnb.stats.pls.PLSR`);
* :class:`MLPHead`: the input/output standardisation and the weights of each ``Linear`` layer, SiLU between them
  (the network of :class:`~soilnb.models.mlp.MLPRegressor`, evaluated in float64 NumPy as its ``predict`` does in
  float64 torch).

Each head keeps the target transformer (its constructor parameters and fitted attributes, see
:func:`targets_state`) and maps outputs back to properties with the transformer's ``inverse_transform``: the
fitted :class:`~soilnb.stats.targets.TargetTransformer` in a bundle a run builds, a
:class:`~soilnb.stats.fitted.FittedTargets` (the same arithmetic, without scikit-learn) in a loaded one.
``tests/test_bundle.py`` checks every head against the regressor it came from.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from soilnb.apply.defaults import BundleError  # noqa: F401 - raised by the readers of heads, imported from here
from soilnb.apply.encoders import linear_silu
from soilnb.stats.fitted import FittedTargets, TargetArithmetic


# ------------------------------------------------------------------------------------------ target transforms
def targets_state(tt) -> tuple[dict, dict]:
    """``(json_part, arrays)``: a fitted TargetTransformer's (or FittedTargets') constructor parameters and
    fitted attributes.

    Every instance attribute that is not a constructor parameter counts as fitted state (``properties_``,
    ``log_``, ``mean_``, ``scale_`` and the private ones); arrays go to ``arrays``, the rest must be JSON
    (str, int, float, bool, lists or tuples of them), else a BundleError names the attribute.
    """
    params = tt.get_params()
    out, arrays = {"params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}, "fitted": {}}, {}
    for k, v in vars(tt).items():
        if k in params:
            continue
        if isinstance(v, np.ndarray):
            arrays[k] = np.asarray(v, dtype=np.float64)
        elif isinstance(v, (str, int, float, bool)) or (isinstance(v, (list, tuple))
                                                        and all(isinstance(x, (str, int, float)) for x in v)):
            out["fitted"][k] = list(v) if isinstance(v, tuple) else v
        else:
            raise BundleError(f"target transformer attribute {k!r} ({type(v).__name__}) cannot be stored without pickle")
    return out, arrays


def targets_from_state(state: dict, arrays: dict) -> FittedTargets:
    """The fitted transform of :func:`targets_state`, ready for ``inverse_transform`` and ``transform``."""
    tt = FittedTargets(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()})
    for k, v in state["fitted"].items():
        setattr(tt, k, v)
    for k, v in arrays.items():
        setattr(tt, k, np.asarray(v, dtype=np.float64))
    return tt


# ------------------------------------------------------------------------------------------ heads
@dataclass
class PLSHead:
    """Per-target PLSR as coefficients: ``coef`` (n_outputs, n_features), ``intercept`` (n_outputs,)."""

    coef: np.ndarray
    intercept: np.ndarray
    targets: TargetArithmetic          # a TargetTransformer, or FittedTargets once loaded
    n_components: list

    kind = "pls"

    def outputs(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return X @ self.coef.T + self.intercept

    def predict(self, X) -> pd.DataFrame:
        """Properties on their original scale (the columns the targets were fitted on)."""
        return self.targets.inverse_transform(self.outputs(X))

    @property
    def n_features(self) -> int:
        return self.coef.shape[1]

    def arrays(self) -> dict:
        return {"coef": self.coef, "intercept": self.intercept}

    def spec(self) -> dict:
        return {"kind": self.kind, "n_components": [int(a) for a in self.n_components]}


@dataclass
class MLPHead:
    """The MLP as arrays: ``weights``/``biases`` of each Linear layer (SiLU between them) and the standardisation."""

    weights: list
    biases: list
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray
    targets: TargetArithmetic          # a TargetTransformer, or FittedTargets once loaded

    kind = "mlp"

    def outputs(self, X) -> np.ndarray:
        h = (np.asarray(X, dtype=np.float64) - self.x_mean) / self.x_scale
        return linear_silu(h, self.weights, self.biases) * self.y_scale + self.y_mean

    def predict(self, X) -> pd.DataFrame:
        return self.targets.inverse_transform(self.outputs(X))

    @property
    def n_features(self) -> int:
        return self.weights[0].shape[1]

    def arrays(self) -> dict:
        out = {"x_mean": self.x_mean, "x_scale": self.x_scale, "y_mean": self.y_mean, "y_scale": self.y_scale}
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            out[f"weight{i}"], out[f"bias{i}"] = W, b
        return out

    def spec(self) -> dict:
        return {"kind": self.kind, "layers": len(self.weights), "activation": "silu"}


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def head_from_arrays(spec: dict, arrays: dict, targets: TargetArithmetic) -> PLSHead | MLPHead:
    """Rebuild a head from :meth:`spec` and :meth:`arrays` (a BundleError when something is missing)."""
    try:
        if spec["kind"] == "pls":
            return PLSHead(_f64(arrays["coef"]), _f64(arrays["intercept"]), targets, list(spec["n_components"]))
        if spec["kind"] == "mlp":
            n = int(spec["layers"])
            return MLPHead([_f64(arrays[f"weight{i}"]) for i in range(n)], [_f64(arrays[f"bias{i}"]) for i in range(n)],
                           _f64(arrays["x_mean"]), _f64(arrays["x_scale"]), _f64(arrays["y_mean"]),
                           _f64(arrays["y_scale"]), targets)
    except KeyError as exc:
        raise BundleError(f"head arrays incomplete: no {exc.args[0]!r}") from None
    raise BundleError(f"unknown head kind {spec.get('kind')!r}")
