"""One way to turn whatever the user passes as a seed into a ``numpy.random.Generator``.

Every random choice in the engine (searchspace sampling, optimizers) draws from a Generator made
here, so a single seed reproduces a whole run.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

SeedLike = Any  # None | int | random.Random | np.random.Generator | SeedSequence | BitGenerator


def as_generator(seed_or_rng: SeedLike = None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed_or_rng``.

    - ``None``: a fresh, OS-seeded generator (not reproducible);
    - an int (>= 0): ``numpy.random.default_rng(seed)``; the same int always gives the same stream;
    - a ``random.Random``: a generator seeded from it (this advances the ``Random`` by 128 bits, so
      the result is reproducible from the ``Random``'s state);
    - a ``numpy.random.Generator``: returned as is (shared, not copied);
    - a ``numpy.random.SeedSequence`` or ``BitGenerator``: wrapped by ``default_rng``.

    Raises TypeError for anything else (bools included: ``True`` is almost always a mistake) and
    ValueError for a negative int.
    """
    if seed_or_rng is None:
        return np.random.default_rng()
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if isinstance(seed_or_rng, (bool, np.bool_)):
        raise TypeError(f"seed must be an int, random.Random or numpy.random.Generator, got {seed_or_rng!r}")
    if isinstance(seed_or_rng, (int, np.integer)):
        if seed_or_rng < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed_or_rng}")
        return np.random.default_rng(int(seed_or_rng))
    if isinstance(seed_or_rng, random.Random):
        return np.random.default_rng(seed_or_rng.getrandbits(128))
    if isinstance(seed_or_rng, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(seed_or_rng)
    raise TypeError(
        "seed must be None, an int, a random.Random or a numpy.random.Generator, "
        f"got {seed_or_rng!r} ({type(seed_or_rng).__name__})"
    )
