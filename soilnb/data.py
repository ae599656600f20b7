"""The data layer behind one interface: the simulated soil world (embedded default) or the real
OSSL v1.2 files, both returned as a :class:`~soilnb.library.World` of five spectral libraries.

>>> from soilnb import data
>>> world = data.simulate_world(n_kssl=20, n_paired=10, n_test=5)
>>> world.kssl.X.shape, world.paired_nir.X.shape
((80, 1701), (10, 601))
"""
from __future__ import annotations

from .library import OSSL_COLUMNS, PROPERTIES, SpectralLibrary, World, estimated_organic_carbon
from .ossl import download, load_kssl, load_neospectra, load_test_set
from .ossl import load_world as load_ossl_world
from .simulate import simulate_world

__all__ = ["PROPERTIES", "OSSL_COLUMNS", "SpectralLibrary", "World", "estimated_organic_carbon", "simulate_world",
           "download", "load_kssl", "load_neospectra", "load_test_set", "load_ossl_world", "load_world"]


def load_world(cfg) -> World:
    """The world a :class:`soilnb.config.Config` asks for (``source`` = "simulated" or "ossl"), cached."""
    from .pipeline import get_world

    return get_world(cfg)
