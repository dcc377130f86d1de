"""The Jupyter frontend of an experiment (entry point ``maggy.frontends: jupyter``).

Found by ``maggy.frontend.discover`` for every ``lagom`` call; active only inside a Jupyter
kernel. Importing this module must stay light (no IPython or widgets at import time): it is
loaded in plain Python processes too, just to learn that it does not apply there.
"""

from __future__ import annotations

import sys
from typing import Any


def in_jupyter_kernel() -> bool:
    """True when running inside a Jupyter kernel (IPython is then already imported)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class JupyterFrontend:
    """Attaches the notebook's views to a running experiment."""

    def active(self) -> bool:
        return in_jupyter_kernel()

    def attach(self, handle: Any) -> None:
        """Show the experiment in the notebook (the live view arrives with the notebook issue)."""
