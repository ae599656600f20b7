"""Spiked PLS refits for :mod:`soilnb.apply.adaptation`: a PLS head refit on its library plus local samples counted
``w`` times, the weight, a local bias correction and the number of components chosen per property by
cross-validation inside the local samples.

**The refit.** Counting a sample ``w`` times is weighting it by ``w`` in the Gram matrices ``X^T X`` and ``X^T Y``
of batched PLS1 (:func:`soilnb.stats.pls.pls1_from_gram`, one model per property). Every refit of one adaptation
uses rows of the same set (the library and the local samples, the left-out ones weighted 0), so all of them are
done in an orthonormal basis of that set's row space (a thin SVD, rank at most ``n_library + k``; PLS weights,
loadings and coefficients of a centred fit lie in the row space, so the coefficients are exactly those of the
fit on the full spectra, mapped back): ``(n + k)^2`` per component instead of ``K^2`` for ``K`` wavenumbers.
The weights of one set of rows are solved as one batch, and the corrections of a weight share its refit
(:meth:`Spiker.bases`): the same numbers as one refit per candidate (up to rounding, about 1e-13), at a third of
the cost. The batch never forms a ``(r, r)`` matrix per weight: the library's Gram matrix times every weight's
vectors is one product, the local rows' term a product of ``k`` rows (:class:`LibraryPlusLocal`).

**The choice.** Candidates are the weights of :data:`WEIGHTS` (1 = a local sample counts as a library sample; 64
makes the library a mere regulariser; ``inf`` drops it: a PLSR of the local samples alone), each with and
without a local bias correction (the local training rows' mean residual: a pure offset of the new instrument,
which a refit on spectra that look like the library's cannot learn), and every number of components up to the
parent head's (one refit gives all of them). Per property the candidate with the smallest K-fold out-of-fold
squared error (:data:`INNER_FOLDS` grouped folds of the local samples, the whole library in every training fold)
wins; ties go to the smaller weight, no bias, fewer components.

**Residuals for the intervals** (:func:`nested_residuals`): each local sample's residual comes from a refit
without it, with the option a CV on the other local samples alone chose (nested), so neither the choice nor the
sample itself shrink the intervals. :data:`OUTER_FOLDS` folds (leave-one-out below that many samples): each
residual's model sees all but a tenth of the local samples, close to the final refit on all of them; a 5-fold
residual comes from a model with a fifth fewer local samples, and with 25 local samples that made the intervals
measurably wider than needed (over-coverage; notebook 09).
"""
from __future__ import annotations

import numpy as np

from soilnb.apply.defaults import OUTER_FOLDS, WEIGHTS  # noqa: F401 - the adaptation's constants, read from here
from soilnb.apply.heads import PLSHead
from soilnb.stats.pls import pls1_from_gram

#: The corrections tried on top of each refit: none, the local mean residual (bias), a local linear
#: recalibration of the output (slope and bias).
CORRECTIONS = (False, True, "slope")
#: How each correction is written in a candidate's label and in the adapted bundle's record.
CORRECTION_LABELS = {False: ("", "none"), True: ("+bias", "bias"), "slope": ("+slope", "slope and bias")}
#: Per property the refits of this many best options (by CV error) are averaged (a linear model still).
TOP = 5
#: Folds of the CV that chooses the option (inside the local samples, or inside an outer fold's training part).
INNER_FOLDS = 5


def deal_folds(ids, n_folds: int, seed: int = 0) -> np.ndarray:
    """The fold of each row: samples (ids) dealt at random into ``min(n_folds, n_samples)`` folds."""
    uniq, inverse = np.unique(np.asarray(ids).astype(str), return_inverse=True)
    k = min(n_folds, uniq.size)
    order = np.random.default_rng(seed).permutation(uniq.size)
    fold_of = np.empty(uniq.size, int)
    fold_of[order] = np.arange(uniq.size) % k
    return fold_of[inverse]


class LibraryPlusLocal:
    """``X^T X`` of the library plus the local rows ``Z`` counted ``w`` times, for several weights at once, as the
    product :func:`~soilnb.stats.pls.pls1_from_gram` asks of it: ``(g G + w Z^T Z) R`` computed as ``g (G R) +
    w Z^T (Z R)``. ``G R`` of every weight is one matrix product (``G`` read once, not once per weight), and the
    local term costs ``k`` rows, so no ``(K, K)`` matrix is formed per weight (``g`` = 0, ``w`` = 1: the local
    rows alone). The same products as the formed matrices up to rounding (the order of the sums differs). ``R``
    is ``(W, K, m)``, one block per weight, as :meth:`Spiker.bases` batches them."""

    def __init__(self, G, Z, gram_weights, local_weights):
        self.G, self.Z = G, Z
        self.g, self.w = np.asarray(gram_weights, float), np.asarray(local_weights, float)

    def __matmul__(self, R):
        W, K, m = R.shape                                   # one (K, m) block per weight, side by side:
        Rf = np.moveaxis(R, 0, 1).reshape(K, W * m)         # every product below is one BLAS call
        out = (self.G @ Rf) * np.repeat(self.g, m) + (self.Z.T @ (self.Z @ Rf)) * np.repeat(self.w, m)
        return np.moveaxis(out.reshape(K, W, m), 1, 0)


class Spiker:
    """Weighted PLS1 refits of one PLS head on the library (``X_lib``, outputs ``T_lib``) plus weighted rows of the
    local samples ``X_loc``, in the basis of their common row space (module docstring)."""

    def __init__(self, head: PLSHead, X_lib, T_lib, X_loc):
        self.head, self.A = head, max(int(a) for a in head.n_components)
        X_lib, X_loc = np.asarray(X_lib, np.float64), np.asarray(X_loc, np.float64)
        _, s, Vt = np.linalg.svd(np.vstack([X_lib, X_loc]), full_matrices=False)
        self.V = Vt[s > s[0] * 1e-10].T                                       # (K, r)
        Z_lib = X_lib @ self.V
        self.G = (Z_lib.T @ Z_lib, Z_lib.T @ T_lib, Z_lib.sum(0), np.asarray(T_lib).sum(0), len(Z_lib))
        self.Z = X_loc @ self.V

    def fit(self, rows, T, w: float, bias: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(coef (A, m, r), intercept (A, m))`` of the refits with 1..A components on the library plus the local
        ``rows`` (outputs ``T``) weighted ``w``; ``bias``: plus those rows' mean residual."""
        return self.correct(*self.base(rows, T, w), rows, T, bias)

    def base(self, rows, T, w: float) -> tuple[np.ndarray, np.ndarray]:
        """The refits of :meth:`fit` before any correction (the corrections of one weight share it)."""
        return self.bases(rows, T, (w,))[w]

    def bases(self, rows, T, weights) -> dict:
        """``{w: base refit}`` of several weights, their PLS fits solved as one batch."""
        Z = self.Z[rows]
        XTX, XTY, xs, ys, n = self.G
        gram_w, local_w, cross, x_sums, y_sums, counts = [], [], [], [], [], []
        for w in weights:
            if np.isinf(w):                                 # the local rows alone
                gram_w.append(0.0), local_w.append(1.0)
                cross.append(Z.T @ T), x_sums.append(Z.sum(0)), y_sums.append(T.sum(0)), counts.append(len(Z))
            else:
                gram_w.append(1.0), local_w.append(float(w))
                cross.append(XTY + w * Z.T @ T), x_sums.append(xs + w * Z.sum(0)), y_sums.append(ys + w * T.sum(0))
                counts.append(n + w * len(Z))
        gram = LibraryPlusLocal(XTX, Z, gram_w, local_w)
        ys, n = np.stack(y_sums), np.asarray(counts, float)
        xs = np.stack(x_sums)
        coef = np.swapaxes(pls1_from_gram(gram, np.stack(cross), self.A, xs, ys, n), -1, -2)    # (W, A, m, r)
        return {w: (coef[i], ys[i] / n[i] - coef[i] @ (xs[i] / n[i])) for i, w in enumerate(weights)}

    def correct(self, coef, intercept, rows, T, bias) -> tuple[np.ndarray, np.ndarray]:
        """A :meth:`base` refit with the local correction ``bias`` (False, True or "slope") of the ``rows``."""
        if bias == "slope":                 # T ~ c + s * output per output and component count (least squares)
            out = self.outputs(coef, intercept, rows)                          # (A, n, m)
            om, tm = out.mean(1, keepdims=True), T.mean(0)[None, None]
            var = ((out - om) ** 2).sum(1)
            slope = np.where(var > 0, ((out - om) * (T[None] - tm)).sum(1) / np.where(var > 0, var, 1), 1.0)
            coef = coef * slope[:, :, None]
            intercept = tm[:, 0] + slope * (intercept - om[:, 0])
        elif bias:
            intercept = intercept + (T[None] - self.outputs(coef, intercept, rows)).mean(1)
        return coef, intercept

    def outputs(self, coef, intercept, rows) -> np.ndarray:
        """``(A, n_rows, m)`` outputs of the local ``rows`` under each number of components."""
        return (coef @ self.Z[rows].T).transpose(0, 2, 1) + intercept[:, None, :]

    def combined(self, rows, T, choice) -> tuple[np.ndarray, np.ndarray]:
        """``(coef (m, r), intercept (m,))``: per output the mean of its options' refits on the local ``rows``."""
        coef, icpt, bases, fits = np.zeros((len(choice), self.Z.shape[1])), np.zeros(len(choice)), {}, {}
        for j, options in enumerate(choice):
            for w, bias, a in options:
                if (w, bias) not in fits:
                    if w not in bases:
                        bases[w] = self.base(rows, T, w)
                    fits[w, bias] = self.correct(*bases[w], rows, T, bias)
                c, i = fits[w, bias]
                coef[j] += c[a - 1, j] / len(options)
                icpt[j] += i[a - 1, j] / len(options)
        return coef, icpt

    def refit_head(self, T, rows, choice) -> PLSHead:
        """The head refit on the local ``rows`` with each output's options (:func:`choose`), on the spectra."""
        coef, icpt = self.combined(rows, T, choice)
        return PLSHead(coef @ self.V.T, icpt, self.head.targets, [max(a for _, _, a in o) for o in choice])


def cv_errors(sp: Spiker, rows, T, folds, cands) -> dict:
    """Per candidate ``(weight, bias)``: the ``(A, m)`` mean squared out-of-fold errors over the local ``rows``."""
    oof = {c: np.empty((sp.A, *T.shape)) for c in cands}
    for f in np.unique(folds):
        te = folds == f
        bases = sp.bases(rows[~te], T[~te], tuple(dict.fromkeys(w for w, _ in cands)))   # one refit per weight
        for c in cands:
            oof[c][:, te] = sp.outputs(*sp.correct(*bases[c[0]], rows[~te], T[~te], c[1]), rows[te])
    return {c: ((o - T[None]) ** 2).mean(1) for c, o in oof.items()}


def choose(errors: dict, top: int = TOP) -> list[list[tuple]]:
    """Per output, the ``top`` options ``(weight, bias, components)`` with the smallest CV errors (ties: lighter,
    unbiased, fewer components first)."""
    m = next(iter(errors.values())).shape[1]
    options = [(w, b, a + 1) for (w, b), e in errors.items() for a in range(e.shape[0])]
    order = {c: i for i, c in enumerate(CORRECTIONS)}
    return [sorted(options, key=lambda o: (errors[o[:2]][o[2] - 1, j], o[0], order[o[1]], o[2]))[:top]
            for j in range(m)]


def select(sp: Spiker, rows, T, ids, cands, seed: int = 0) -> tuple[list, dict]:
    """``(choice per output, CV errors)`` by :data:`INNER_FOLDS`-fold CV over the local ``rows``."""
    errors = cv_errors(sp, rows, T, deal_folds(ids, INNER_FOLDS, seed), cands)
    return choose(errors), errors


def nested_residuals(sp: Spiker, T, ids, folds, cands, seed: int = 0) -> np.ndarray:
    """The ``(n, m)`` out-of-fold outputs of the local samples: each from a refit without its fold (``folds``, e.g.
    :data:`OUTER_FOLDS` of :func:`deal_folds`), with the option a CV on the other folds alone chose."""
    rows = np.arange(len(T))
    oof = np.empty_like(T, dtype=np.float64)
    for f in np.unique(folds):
        te = folds == f
        choice, _ = select(sp, rows[~te], T[~te], np.asarray(ids)[~te], cands, seed)
        coef, icpt = sp.combined(rows[~te], T[~te], choice)
        oof[te] = sp.Z[rows[te]] @ coef.T + icpt
    return oof
