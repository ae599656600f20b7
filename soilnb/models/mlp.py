"""Multi-task MLP regressor with a scikit-learn interface (paper Sect. 2.4: MIR-MLP, MIR-SSL-MLP, NIR-MLP, ...).

One network predicts all (already transformed) soil properties at once; training uses AdamW,
mini-batches and early stopping on a validation split grouped by sample, restoring the best
weights (the MLP-for-soil-spectra recipe of Wijewardane et al. 2018, doi:10.2136/sssaj2017.10.0361).

Schedule rule, so that a few hundred rows train as well as thousands (the VAE's rule,
:func:`soilnb.models.loop.capped_batch_size`): the batch is at most an eighth of the training rows (at least
16; a warning says when it is capped), and early stopping may end a run only after
:data:`~soilnb.models.loop.MIN_STEPS` (200) optimiser steps, so a patience counted in epochs cannot stop a
small set after a few dozen steps. A run that ends with its validation loss still falling, or that
``epochs`` leaves under 200 steps, draws a warning (:func:`~soilnb.models.loop.fit_loop`).
"""
from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from soilnb.models.loop import MIN_STEPS, capped_batch_size, fit_loop
from soilnb.models.nets import MLP
from soilnb.models.torchutil import resolve_device, seeded
from soilnb.stats.splits import grouped_split


class MLPRegressor(RegressorMixin, BaseEstimator):
    """Multi-output MLP regressor, deterministic on CPU for a given ``random_state``.

    Parameters
    ----------
    hidden : int, default=256
        Width of each hidden layer.
    depth : int, default=2
        Number of hidden layers.
    dropout : float, default=0.1
        Dropout after each hidden activation.
    weight_decay : float, default=1e-4
        AdamW decoupled weight decay.
    lr : float, default=1e-3
        AdamW learning rate.
    epochs : int, default=200
        Maximum number of epochs.
    batch_size : int, default=128
        Capped at an eighth of the training rows (at least 16), with a warning.
    patience : int or None, default=20
        Epochs without validation improvement before stopping (None: run all epochs); the run goes on
        regardless until ``min_steps`` optimiser steps.
    min_steps : int, default=200
        Optimiser steps before early stopping may end a run (:data:`soilnb.models.loop.MIN_STEPS`).
    val_fraction : float, default=0.2
        Fraction of groups held out for early stopping; 0 trains on everything for ``epochs``.
    random_state : int, RandomState or None, default=0
        Seeds the split, initialisation, dropout and batch order.
    device : {"auto", "cpu", "cuda"}, default="auto"
    standardize_X : bool, default=True
        Centre and scale each input column with the training rows' mean and standard deviation.
    standardize_Y : bool, default=True
        Train on standardized targets (so that all tasks weigh alike in the MSE); predictions are
        returned on the original scale.

    Attributes
    ----------
    model_ : MLP
    n_features_in_ : int
    n_outputs_ : int
    history_ : dict
        Per epoch ``train_loss``, ``val_loss`` (standardized MSE); ``best_epoch``, ``steps``,
        ``still_improving`` and the ``batch_size`` used.
    x_mean_, x_scale_, y_mean_, y_scale_ : ndarray
    """

    def __init__(self, hidden=256, depth=2, dropout=0.1, weight_decay=1e-4, lr=1e-3, epochs=200, batch_size=128,
                 patience=20, val_fraction=0.2, random_state=0, device="auto", standardize_X=True,
                 standardize_Y=True, min_steps=MIN_STEPS):
        self.hidden = hidden
        self.depth = depth
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.device = device
        self.standardize_X = standardize_X
        self.standardize_Y = standardize_Y
        self.min_steps = min_steps

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags

    def _check_params(self):
        for name in ("hidden", "epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not isinstance(self.min_steps, numbers.Integral) or self.min_steps < 0:
            raise ValueError(f"min_steps must be a non-negative int, got {self.min_steps!r}")
        if not isinstance(self.depth, numbers.Integral) or self.depth < 0:
            raise ValueError(f"depth must be a non-negative int, got {self.depth!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {self.lr!r}, {self.weight_decay!r}")

    def fit(self, X, Y, groups=None):
        """Fit on ``X`` (n, p) and ``Y`` (n,) or (n, t); ``groups`` (n,) keeps samples out of both splits."""
        self._check_params()
        X, Y = validate_data(self, X, Y, multi_output=True, dtype=np.float32, y_numeric=True)
        Y = np.asarray(Y, dtype=np.float32)
        self._y_1d = Y.ndim == 1
        Y = Y.reshape(len(Y), -1)
        n = len(X)
        groups = np.arange(n) if groups is None else np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max)) \
            if not isinstance(self.random_state, numbers.Integral) else int(self.random_state)
        if self.val_fraction > 0 and len(np.unique(groups)) >= 2:
            tr, va = grouped_split(groups, self.val_fraction, seed)
        else:
            tr, va = np.arange(n), np.arange(0)
        batch_size = capped_batch_size(self.batch_size, len(tr))
        if batch_size != self.batch_size:
            warnings.warn(f"MLP: batch {self.batch_size} capped at {batch_size} for {len(tr)} training rows "
                          f"(at most an eighth of them per batch)", stacklevel=2)
        self.x_mean_, self.x_scale_ = _moments(X[tr], self.standardize_X)
        self.y_mean_, self.y_scale_ = _moments(Y[tr], self.standardize_Y)
        dev = resolve_device(self.device)
        Xt = torch.from_numpy((X - self.x_mean_) / self.x_scale_).to(dev)
        Yt = torch.from_numpy((Y - self.y_mean_) / self.y_scale_).to(dev)
        with seeded(seed, dev):
            model = MLP(X.shape[1], Y.shape[1], self.hidden, self.depth, self.dropout).to(dev)
            va_t = torch.as_tensor(va, device=dev)

            def step(rows, epoch):
                return F.mse_loss(model(Xt[rows]), Yt[rows])

            def evaluate(epoch):
                if len(va_t) == 0:
                    return {}
                return {"val_loss": float(F.mse_loss(model(Xt[va_t]), Yt[va_t]))}

            self.history_ = fit_loop(model, train_rows=torch.as_tensor(tr, device=dev), step=step,
                                     evaluate=evaluate, monitor="val_loss" if len(va) else None,
                                     epochs=self.epochs,
                                     batch_size=batch_size, lr=self.lr, weight_decay=self.weight_decay,
                                     patience=self.patience if len(va) else None, seed=seed, device=dev,
                                     progress=False, desc="MLP", min_steps=self.min_steps)
        self.history_["batch_size"] = batch_size
        self.model_ = model
        self.n_outputs_ = Y.shape[1]
        return self

    def predict(self, X):
        """Predictions of shape (n, t) (or (n,) when fitted on a 1-D ``Y``) on the original scale."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        # float64 on the CPU: float32 BLAS results depend on the batch shape in the last bits, and
        # a prediction must not depend on which other rows are predicted with it
        net = copy.deepcopy(self.model_).to("cpu", torch.float64).eval()
        with torch.no_grad():
            Z = np.concatenate([net(torch.from_numpy((X[i:i + 8192].astype(np.float64) - self.x_mean_)
                                                     / self.x_scale_)).numpy()
                                for i in range(0, len(X), 8192)])
        Y = Z * self.y_scale_ + self.y_mean_
        return Y.ravel() if self._y_1d else Y


def _moments(A, standardize: bool):
    """Column mean and scale (std, 1 where the std is 0) as float32, or (0, 1) when not standardizing."""
    if not standardize:
        return np.zeros(A.shape[1], np.float32), np.ones(A.shape[1], np.float32)
    mean = A.mean(axis=0, dtype=np.float64)
    std = A.std(axis=0, dtype=np.float64)
    return mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)
