"""`import maggy` stays light: no Spark, TensorFlow, IPython, widgets or comm."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["pyspark", "tensorflow", "IPython", "ipywidgets", "bqplot", "comm", "ipykernel", "sklearn", "pandas"]


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_import_maggy_loads_nothing_heavy():
    assert _loaded_after("import maggy; maggy.Searchspace") & set(HEAVY) == set()


def test_the_engine_modules_load_nothing_heavy_either():
    loaded = _loaded_after("from maggy import experiment, Searchspace; import maggy.worker.loop, maggy.store")
    assert loaded & set(HEAVY) == set()
