"""pandas' C parser without its DataFrames: the rows of a wide CSV as :func:`~soilnb.data.ossl.format.pandas_chunks`
gives them, built straight from the parser's column pieces.

For each chunk of rows, ``pd.read_csv(chunksize=...)`` has its C reader (``TextReader``) parse the rows in pieces
of a few hundred, one array per column and piece; it then joins each column's pieces (1,704 ``concatenate`` calls for
the KSSL table), builds a DataFrame of 1,704 Series, and :func:`~soilnb.data.ossl.format.from_pandas` copies the
columns out again. On the full KSSL MIR table that bookkeeping and those copies are about a fifth of the parse's CPU
time. :func:`column_chunks` calls the same reader's ``read_low_memory`` (what ``read_csv`` calls) and copies each
piece once, into the chunk's channels x rows array, then turns the kept rows as ``from_pandas`` does.

The reader is pandas' private API (``TextFileReader._engine._reader``), used only by the worker processes of the
parallel parse (:mod:`soilnb.data.ossl.parallel`), for tables whose first column is never the index
(``index_col=False``), and only with the pandas it was checked against: any other pandas, any reader that does not
look as expected, any piece that is not what ``read_csv`` would have made of it (a column without its label, a
number column that is not float32) is an exception there, and an exception in a worker makes the main process read
the whole file again in one process with :func:`~soilnb.data.ossl.format.pandas_chunks`, the reference (its values,
its error messages). The tests compare the two, array for array, on hostile tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from soilnb.data.ossl.format import csv_columns, empty_chunk, kept_rows

#: pandas releases whose private reader :func:`column_chunks` was checked against (major.minor).
CHECKED_PANDAS = ("3.1",)


def usable() -> bool:
    """Whether this pandas is one :func:`column_chunks` was checked against."""
    return ".".join(pd.__version__.split(".")[:2]) in CHECKED_PANDAS


def column_chunks(source, id_cols, read_names, dataset_col, dataset, *, chunksize, csv_options):
    """:func:`~soilnb.data.ossl.format.pandas_chunks`' tuples, the same values, built from the parser's pieces."""
    if not usable() or csv_options.get("index_col") is not False:
        raise RuntimeError(f"pandas {pd.__version__}'s reader is not the one checked (or an index column)")
    columns, dtypes = csv_columns(id_cols, read_names, dataset_col, dataset)
    reader = pd.read_csv(source, usecols=columns, dtype=dtypes, iterator=True, engine="c", low_memory=True,
                         **csv_options)
    engine, produced = reader._engine, False
    try:
        parser = engine._reader
        parser.defer_pa_wrap = False    # text pieces as arrays, not pyarrow's pending columns (pyarrow installed)
        while True:
            try:
                pieces = parser.read_low_memory(chunksize)
            except StopIteration:
                break
            if pieces:
                produced = True
                yield _from_pieces(pieces, engine._low_memory_column_labels(pieces), id_cols, read_names,
                                   dataset_col, dataset)
    finally:
        reader.close()
    if not produced:            # no data rows: the empty chunk pandas_chunks gives
        yield empty_chunk(id_cols, len(read_names), bool(dataset))


def _from_pieces(pieces, labels, id_cols, read_names, dataset_col, dataset):
    """One chunk's tuple (see :func:`~soilnb.data.ossl.format.from_pandas`) from the reader's pieces, each a dict
    {column position: array}; ``labels``: {position: column name}."""
    where = {name: pos for pos, name in labels.items()}
    missing = [c for c in list(id_cols) + list(read_names) + ([dataset_col] if dataset else []) if c not in where]
    if missing or len(where) != len(labels):
        raise RuntimeError(f"the reader's pieces lack columns {missing[:3]} (or repeat a label)")
    sizes = [len(next(iter(p.values()))) for p in pieces]
    n, starts = sum(sizes), np.cumsum([0] + sizes)
    X = np.empty((len(read_names), n), np.float32)
    for j, c in enumerate(read_names):
        pos = where[c]
        for p, s, m in zip(pieces, starts, sizes):
            a = p[pos]
            if not (isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (m,)):
                raise RuntimeError(f"column {c!r} came as {type(a).__name__} {getattr(a, 'dtype', '')}")
            X[j, s:s + m] = a

    def text(c):                        # each piece as read_csv's column of it: an array of its rows
        out = []
        for p, m in zip(pieces, sizes):
            a = p[where[c]]
            if not (isinstance(a, (np.ndarray, ExtensionArray)) and len(a) == m):
                raise RuntimeError(f"column {c!r} came as {type(a).__name__}")
            out.append(pd.Series(a, copy=False))
        return out
    keep = np.concatenate([(s == dataset).to_numpy(bool) for s in text(dataset_col)]) if dataset else None
    strings = {c: np.concatenate([s.to_numpy(dtype=str) for s in text(c)]) for c in id_cols}
    return kept_rows(X, keep, strings)
