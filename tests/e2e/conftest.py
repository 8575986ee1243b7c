"""The local stack of ``testkit.local_stack``, one per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.local_stack import RunningStack, free_port, start_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    running = start_stack(free_port())
    yield running
    running.stop()
