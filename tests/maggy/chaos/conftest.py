"""The chaos suite: hostile trials, dying workers, full disks and stray connections, on real processes.

Every test in this folder is marked ``chaos`` and ``integration`` (select them with ``-m chaos``);
each is bounded in time by its own ``pytest.mark.timeout``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.chaos)
            item.add_marker(pytest.mark.integration)
