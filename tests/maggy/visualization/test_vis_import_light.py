"""``maggy.visualization`` loads no widget library until a plot is asked for."""

from __future__ import annotations

import subprocess
import sys

HEAVY = {
    "pyspark",
    "tensorflow",
    "IPython",
    "ipywidgets",
    "bqplot",
    "comm",
    "ipykernel",
    "sklearn",
    "pandas",
    "maggy_jupyter",
}


def test_the_computations_load_nothing_heavy():
    code = (
        "import sys, maggy.visualization as v; v.param_importances([]); "
        "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert set(out.split()) & HEAVY == set()
