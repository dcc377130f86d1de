"""maggy-jupyter: run maggy's asynchronous hyperparameter optimization from Jupyter.

This package holds the Jupyter side of maggy (magics, widgets, the comm bridge to
the JupyterLab extension). The engine itself is the import package ``maggy``.

Keep this module light: no heavy imports (IPython, ipywidgets, bqplot, pyspark,
tensorflow) at import time.
"""

from __future__ import annotations

from typing import Any


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt labextension lives (relative to this package)."""
    return [{"src": "labextension", "dest": "maggy-jupyter"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext maggy_jupyter``: register the magics (%%searchspace, %%lagom, %maggy, ...).

    Called by IPython with its shell; imports the magics only now, so that importing this package
    stays light.
    """
    from maggy_jupyter.magics import register

    register(ipython)
