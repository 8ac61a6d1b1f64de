from __future__ import annotations

import pytest

from handoff import CenterDirectory, load_centers


@pytest.fixture(scope="session")
def directory() -> CenterDirectory:
    """The shipped demo centers file, loaded once."""
    return load_centers()
