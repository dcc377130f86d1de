"""maggy-jupyter: run maggy's asynchronous hyperparameter optimization from Jupyter.

This package holds the Jupyter side of maggy (magics, widgets, the comm bridge to
the JupyterLab extension). The engine itself is the import package ``maggy``.

Keep this module light: no heavy imports (IPython, ipywidgets, bqplot, pyspark,
tensorflow) at import time.
"""


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt labextension lives (relative to this package)."""
    return [{"src": "labextension", "dest": "maggy-jupyter"}]
