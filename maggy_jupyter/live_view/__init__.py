"""The live in-cell view of a running experiment (ipywidgets + bqplot).

``show(handle)`` is what the Jupyter frontend calls for every ``lagom`` run. Importing this
package is light: ipywidgets and bqplot load only when a view is built (``LiveView`` is
resolved lazily), so a kernel without them can still import it and fall back to text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .view import LiveView

__all__ = ["LiveView", "show", "widgets_available"]


def widgets_available() -> bool:
    """Whether ipywidgets and bqplot import here."""
    try:
        import bqplot  # noqa: F401
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def show(handle: Any, **options: Any) -> LiveView | None:
    """Build a ``LiveView`` of ``handle``'s experiment, subscribe it, display it, return it.

    Called from the kernel's main thread when ``lagom`` starts (before any worker), with a
    ``maggy.frontend.ExperimentHandle``; ``options`` go to ``LiveView``. Returns None, having
    displayed nothing, when ipywidgets or bqplot cannot be imported: the caller then shows text.
    """
    if not widgets_available():
        return None
    from IPython.display import display

    from .view import LiveView

    view = LiveView(handle, **options)
    view.attach()
    display(view.widget)
    return view


def __getattr__(name: str) -> Any:
    if name == "LiveView":
        from .view import LiveView

        return LiveView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
