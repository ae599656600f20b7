"""Lazy package exports (PEP 562): a package's names are importable from it, their modules imported on first use.

The ``soilnb`` command must start at once (``soilnb --help``), and ``soilnb predict`` must not pay for the
training and benchmark stack; a package ``__init__`` that imported every module eagerly made every start import
torch, scikit-learn and matplotlib. This is the pattern of scientific-python's ``lazy_loader`` (SPEC 1) in a
dozen lines of the standard library, not a dependency for one function.
"""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]):
    """``(__getattr__, __dir__, __all__)`` for ``package``: ``exports`` maps a submodule (``".heads"``) to its names,
    and ``"."`` to submodules exported as themselves.

    Examples
    --------
    >>> getattr_, dir_, all_ = lazy_exports("soilnb.core", {".vocab": ("PROPERTIES",)})
    >>> all_, getattr_("PROPERTIES")[0]
    (['PROPERTIES'], 'TC')
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if where[name] == ".":                        # a subpackage or submodule itself
            return importlib.import_module("." + name, package)
        return getattr(importlib.import_module(where[name], package), name)

    def __dir__():
        return sorted(where)

    __getattr__.exports = where                      # name -> submodule, for the checks of tests/test_architecture.py

    return __getattr__, __dir__, sorted(where)
