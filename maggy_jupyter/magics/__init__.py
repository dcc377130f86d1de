"""IPython magics for maggy: ``%%searchspace``, ``%%ablation``, ``%%lagom``/``%lagom``, ``%maggy``,
``%searchspace_builder``.

Loaded by ``%load_ext maggy_jupyter`` (see :func:`maggy_jupyter.load_ipython_extension`). The pure
parts are ``searchspace_syntax`` (the ``%%searchspace`` body), ``ablation_syntax`` (the
``%%ablation`` body), ``parse`` (``%%lagom`` arguments to ``lagom()`` keyword arguments) and
``arguments`` (every magic's line, an unknown flag named with the closest known one); ``cells``
holds the Magics class.
"""

from __future__ import annotations

from typing import Any

__all__ = ["register"]


def register(ipython: Any) -> None:
    """Register maggy's magics with the IPython shell ``ipython``."""
    from maggy_jupyter.magics.cells import MaggyMagics

    ipython.register_magics(MaggyMagics)
