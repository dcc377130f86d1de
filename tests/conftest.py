"""Suite-wide fixtures: keep every test away from the user's real experiment store."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_maggy_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAGGY_HOME", str(tmp_path_factory.mktemp("maggy_home")))
