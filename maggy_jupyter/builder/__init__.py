"""The interactive Searchspace builder widget (ipywidgets + bqplot): ``SearchspaceBuilder``."""

from __future__ import annotations

from maggy_jupyter.builder.rows import ParameterRow
from maggy_jupyter.builder.widget import SearchspaceBuilder

__all__ = ["ParameterRow", "SearchspaceBuilder"]
