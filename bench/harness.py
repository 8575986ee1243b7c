"""Measure a figure against its floor in the same run: medians of repeated runs, with spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Figure:
    name: str
    measured: float
    floor: float
    target: float
    unit: str
    spread: float  # (max - min) / median of the measured runs
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.measured / self.floor if self.floor else float("inf")

    @property
    def ok(self) -> bool:
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 3), "ok": self.ok}


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median seconds of ``repeat`` runs (after one warm-up) and the relative spread."""
    function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    median = statistics.median(samples)
    return median, (max(samples) - min(samples)) / median


def interleaved(measured: Callable[[], object], floor: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median of measured and floor run alternately (so machine noise hits both alike), and the spread."""
    measured()
    floor()
    ours: list[float] = []
    base: list[float] = []
    for _ in range(repeat):
        for function, samples in ((measured, ours), (floor, base)):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
    median = statistics.median(ours)
    return median, statistics.median(base), (max(ours) - min(ours)) / median
