"""Regression metrics of the paper (Sect. 2.4, Eqs. 10-14), computed on the original scale.

All functions are pure: ``f(y, y_pred) -> float`` with ``y`` the observed and ``y_pred`` the
predicted values. :func:`regression_metrics` bundles them, :func:`metrics_table` builds the
Appendix B style long table (one row per property x strategy).

References
----------
Lin, L. I.-K. (1989). A concordance correlation coefficient to evaluate reproducibility.
Biometrics 45, 255-268. doi:10.2307/2532051
Bellon-Maurel, V. et al. (2010). Critical review of chemometric indicators commonly used for
assessing the quality of the prediction of soil attributes by NIR spectroscopy.
TrAC 29, 1073-1081. doi:10.1016/j.trac.2010.05.006 (RPIQ)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from soilnb.core.vocab import PAPER_NAMES

METRIC_NAMES: tuple[str, ...] = ("rmse", "me", "r2", "ccc", "rpiq")


def _check_pair(y, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Return ``y`` and ``y_pred`` as 1-d float arrays; raise ValueError on bad input."""
    y = np.asarray(y, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y.ndim != 1 or y_pred.ndim != 1:
        y, y_pred = np.squeeze(y), np.squeeze(y_pred)
        if y.ndim != 1 or y_pred.ndim != 1:
            raise ValueError(f"y and y_pred must be 1-d, got shapes {y.shape} and {y_pred.shape}")
    if y.shape[0] != y_pred.shape[0]:
        raise ValueError(f"length mismatch: y has {y.shape[0]} values, y_pred has {y_pred.shape[0]}")
    if y.shape[0] < 2:
        raise ValueError(f"need at least 2 observations, got {y.shape[0]}")
    if np.isnan(y).any():
        raise ValueError(f"y contains {int(np.isnan(y).sum())} NaN value(s)")
    if np.isnan(y_pred).any():
        raise ValueError(f"y_pred contains {int(np.isnan(y_pred).sum())} NaN value(s)")
    if not (np.isfinite(y).all() and np.isfinite(y_pred).all()):
        raise ValueError("y and y_pred must be finite (inf found)")
    return y, y_pred


def rmse(y, y_pred) -> float:
    """Root mean squared error, Eq. 10: ``sqrt(mean((y - y_pred)**2))``.

    Parameters
    ----------
    y, y_pred : array-like of shape (n,)

    Examples
    --------
    >>> rmse([1, 2, 3, 4], [2, 3, 4, 5])
    1.0
    """
    y, y_pred = _check_pair(y, y_pred)
    return float(np.sqrt(np.mean((y - y_pred) ** 2)))


def mean_error(y, y_pred) -> float:
    """Mean error (bias), Eq. 11 with the paper's reversed sign: ``mean(y_pred - y)``.

    Negative values mean the model under-predicts on average.

    Examples
    --------
    >>> mean_error([1, 2, 3], [0, 2, 3])
    -0.3333333333333333
    """
    y, y_pred = _check_pair(y, y_pred)
    return float(np.mean(y_pred - y))


def r2(y, y_pred) -> float:
    """Coefficient of determination, Eq. 12: ``1 - SSE / SST`` (SST around the mean of ``y``)."""
    y, y_pred = _check_pair(y, y_pred)
    sst = np.sum((y - y.mean()) ** 2)
    if sst == 0:
        raise ValueError("y is constant: R2 is undefined")
    return float(1.0 - np.sum((y - y_pred) ** 2) / sst)


def ccc(y, y_pred) -> float:
    """Lin's concordance correlation coefficient, Eq. 13 (population moments).

    ``CCC = 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2)`` with the 1/N (biased) moments;
    doi:10.2307/2532051.
    """
    y, y_pred = _check_pair(y, y_pred)
    dy, dp = y - y.mean(), y_pred - y_pred.mean()
    n = y.shape[0]
    denom = dy @ dy + dp @ dp + n * (y.mean() - y_pred.mean()) ** 2
    if denom == 0:
        raise ValueError("y and y_pred are constant and equal: CCC is undefined")
    return float(2.0 * (dy @ dp) / denom)


def rpiq(y, y_pred) -> float:
    """Ratio of performance to interquartile range, Eq. 14: ``(Q3(y) - Q1(y)) / RMSE``.

    Quartiles use numpy's default (linear, R type 7) interpolation.
    """
    y, y_pred = _check_pair(y, y_pred)
    q1, q3 = np.quantile(y, [0.25, 0.75])
    err = np.sqrt(np.mean((y - y_pred) ** 2))
    if err == 0:
        return float("inf")
    return float((q3 - q1) / err)


def regression_metrics(y, y_pred) -> dict[str, float]:
    """All five metrics of Sect. 2.4 as ``dict(rmse, me, r2, ccc, rpiq)``."""
    y, y_pred = _check_pair(y, y_pred)
    return {"rmse": rmse(y, y_pred), "me": mean_error(y, y_pred), "r2": r2(y, y_pred),
            "ccc": ccc(y, y_pred), "rpiq": rpiq(y, y_pred)}


def _as_frame(values, columns, name: str, index=None) -> pd.DataFrame:
    """``values`` as a DataFrame: itself, a Series as one column, an array with one column per ``columns`` (the
    properties; its rows on ``index`` when the lengths agree); else a TypeError saying what to pass."""
    if isinstance(values, pd.DataFrame):
        return values
    if isinstance(values, pd.Series):
        return values.to_frame(values.name if values.name is not None else (columns or ["value"])[0])
    arr = np.asarray(values, dtype=float) if isinstance(values, (np.ndarray, list, tuple)) else None
    if arr is not None and columns is not None:
        arr = arr.reshape(len(arr), -1) if arr.ndim == 1 else arr
        if arr.ndim == 2 and arr.shape[1] == len(columns):
            return pd.DataFrame(arr, columns=list(columns),
                                index=index if index is not None and len(index) == len(arr) else None)
    raise TypeError(f"metrics_table: {name} must be a DataFrame with one column per property (got "
                    f"{type(values).__name__}{' of shape ' + str(np.shape(values)) if arr is not None else ''}); "
                    "pass properties=[...] naming an array's columns, or wrap it: pd.DataFrame(values, columns=[...])")


def metrics_table(y_true: pd.DataFrame, predictions: Mapping[str, pd.DataFrame],
                  properties: Sequence[str] | None = None) -> pd.DataFrame:
    """Appendix B style table: one row per property x strategy.

    Parameters
    ----------
    y_true : DataFrame of shape (n, >= len(properties))
        Observed values, one column per property.
    predictions : dict of str -> DataFrame of shape (n, >= len(properties))
        Predicted values per strategy name (e.g. ``"MIR-PLSR"``), rows aligned with ``y_true``.
    properties : sequence of str, optional
        Properties to evaluate (outer loop, in this order; default: the columns of ``y_true``); strategies
        follow dict order.

    Returns
    -------
    DataFrame with columns ``property, strategy, rmse, me, r2, ccc, rpiq``.
    """
    y_true = _as_frame(y_true, properties, "y_true")
    predictions = {k: _as_frame(v, list(y_true.columns), f"predictions[{k!r}]", y_true.index)
                   for k, v in predictions.items()}
    rows = []
    for prop in (list(y_true.columns) if properties is None else properties):
        if prop not in y_true.columns:
            raise ValueError(f"y_true has no column {prop!r}")
        for strategy, pred in predictions.items():
            if prop not in pred.columns:
                raise ValueError(f"predictions[{strategy!r}] has no column {prop!r}")
            if len(pred) != len(y_true):
                raise ValueError(f"length mismatch: predictions[{strategy!r}] has {len(pred)} rows, "
                                 f"y_true has {len(y_true)}")
            if not pred.index.equals(y_true.index):
                raise ValueError(f"predictions[{strategy!r}] and y_true have different row indexes (other "
                                 f"samples or another order); align them, e.g. pred.loc[y_true.index]")
            try:
                m = regression_metrics(y_true[prop].to_numpy(), pred[prop].to_numpy())
            except ValueError as err:
                raise ValueError(f"{prop} / {strategy}: {err}") from err
            rows.append({"property": prop, "strategy": strategy, **m})
    return pd.DataFrame(rows, columns=["property", "strategy", *METRIC_NAMES])


def paper_metrics_table(y_true: pd.DataFrame, predictions: dict, properties=None) -> pd.DataFrame:
    """:func:`soilnb.stats.metrics.metrics_table` with the paper's property names (Appendix B layout)."""
    table = metrics_table(y_true, predictions, properties=properties)
    table["property"] = table["property"].map(lambda p: PAPER_NAMES.get(p, p))
    return table
