"""Bundle heads from fitted regressors: a PLSR's coefficients, an MLP's layers as arrays (training side only).

Apart from :mod:`soilnb.apply.heads` so that predicting with a bundle never imports the training loops (an
import-linter contract keeps it so).
"""
from __future__ import annotations

import numpy as np
from torch import nn

from soilnb.apply.heads import BundleError, MLPHead, PLSHead, _f64
from soilnb.models.mlp import MLPRegressor
from soilnb.stats.pls import PLSR, PerTargetPLSR


def _mlp_layers(net: nn.Module) -> tuple[list, list]:
    """Weights and biases of an MLP built as Linear, SiLU[, Dropout], ..., Linear; anything else is refused."""
    weights, biases, expect_linear = [], [], True
    for layer in net.modules():
        if any(True for _ in layer.children()):          # containers (the MLP, its Sequential)
            continue
        if isinstance(layer, nn.Linear):
            if not expect_linear:
                raise BundleError("MLP head: two Linear layers without a SiLU between them; cannot store it as arrays")
            weights.append(_f64(layer.weight.detach().cpu().numpy()))
            biases.append(_f64(layer.bias.detach().cpu().numpy()))
            expect_linear = False
        elif isinstance(layer, nn.SiLU):
            expect_linear = True
        elif not isinstance(layer, nn.Dropout):             # dropout is the identity at prediction time
            raise BundleError(f"MLP head: layer {type(layer).__name__} is not supported (Linear, SiLU, Dropout)")
    if not weights or expect_linear:
        raise BundleError("MLP head: the network must end with a Linear layer")
    return weights, biases


def head_from_regressor(reg) -> PLSHead | MLPHead:
    """The head of a fitted :class:`soilnb.stages.strategies.Regressor` (``.model``, ``.targets``)."""
    model, tt = reg.model, reg.targets
    if isinstance(model, PerTargetPLSR):
        coef = np.vstack([np.atleast_2d(m.coef_) for m in model.models_])
        intercept = np.concatenate([np.ravel(m.intercept_) for m in model.models_])
        return PLSHead(_f64(coef), _f64(intercept), tt, list(model.n_components_))
    if isinstance(model, PLSR):
        return PLSHead(_f64(np.atleast_2d(model.coef_)), _f64(np.ravel(model.intercept_)), tt,
                       [model.n_components_] * np.atleast_2d(model.coef_).shape[0])
    if isinstance(model, MLPRegressor):
        weights, biases = _mlp_layers(model.model_)
        return MLPHead(weights, biases, _f64(model.x_mean_), _f64(model.x_scale_), _f64(model.y_mean_),
                       _f64(model.y_scale_), tt)
    raise BundleError(f"no bundle head for a {type(model).__name__} regressor (PLSR or MLPRegressor)")
