"""The prebuilt JupyterLab extension is installed and seen by `jupyter labextension list`.

Needs the package installed as a wheel (`pip install .`) or in development mode with the
extension built (`pip install -e .` + `jupyter labextension develop . --overwrite`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXT_NAME = "maggy-jupyter"  # labextension (npm package) name
DIST_NAME = "maggy-jupyter"  # Python distribution name


def _installed_as_wheel() -> bool:
    """True when the distribution is installed from a wheel (not editable, not a bare checkout)."""
    try:
        dist = importlib.metadata.distribution(DIST_NAME)
    except importlib.metadata.PackageNotFoundError:
        return False
    direct_url = dist.read_text("direct_url.json")
    if direct_url:
        return not json.loads(direct_url).get("dir_info", {}).get("editable", False)
    return True


def _installed_extension_dirs() -> list[Path]:
    """Labextension folders named maggy-jupyter that JupyterLab would load (sys.prefix, user, develop links)."""
    from jupyter_core.paths import jupyter_path

    dirs = [Path(p) / EXT_NAME for p in jupyter_path("labextensions")]
    dirs.append(Path(sys.prefix) / "share" / "jupyter" / "labextensions" / EXT_NAME)
    return [d for d in dirs if (d / "package.json").is_file()]


def test_labextension_listed_enabled_and_ok() -> None:
    if importlib.util.find_spec("jupyterlab") is None:
        pytest.skip("jupyterlab is not installed in this environment")
    # A wheel install must ship the extension, so it is never skipped; otherwise (source checkout on
    # sys.path, editable install without `jupyter labextension develop`) skip unless JupyterLab can see it.
    if not _installed_as_wheel() and not _installed_extension_dirs():
        pytest.skip(
            f"{DIST_NAME} is not installed with its built labextension: not installed from a wheel, and no "
            f"{EXT_NAME}/package.json under any Jupyter labextensions path (e.g. "
            f"{sys.prefix}/share/jupyter/labextensions/{EXT_NAME}). Install with `pip install .`, or "
            "`pip install -e .` followed by `jupyter labextension develop . --overwrite`."
        )

    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    # `jupyter labextension list` writes its listing to stderr.
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # strip ANSI colours
    lines = [ln.strip() for ln in out.splitlines() if ln.strip().startswith(EXT_NAME + " ")]
    assert lines, f"{EXT_NAME} not listed by `jupyter labextension list`:\n{out}"
    line = lines[0]
    assert "enabled" in line.split() and "OK" in line.split(), f"not enabled and OK: {line!r}\n{out}"
    assert "disabled" not in line, line
