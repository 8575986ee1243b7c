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
    paired_ratio: float | None = None  # the median of measured / floor pair by pair, when runs were paired

    @property
    def ratio(self) -> float:
        if self.paired_ratio is not None:
            return self.paired_ratio
        return self.measured / self.floor if self.floor else float("inf")

    @property
    def ok(self) -> bool:
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 3), "ok": self.ok}


@dataclass(frozen=True)
class Pairs:
    """Seconds of the measured code and of its floor, run alternately: pair ``i`` is ``ours[i]``
    and ``base[i]``, run back to back, so a drift of the shared machine's speed hits both."""

    ours: list[float]
    base: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(o / b for o, b in zip(self.ours, self.base, strict=True))

    def figure(self, name: str, target: float, *, unit: str = "ms", note: str = "") -> Figure:
        """The figure in milliseconds (medians), its ratio the median pair's."""
        measured, floor = statistics.median(self.ours), statistics.median(self.base)
        spread = (max(self.ours) - min(self.ours)) / measured
        return Figure(name, measured * 1000, floor * 1000, target, unit, spread, note=note, paired_ratio=self.ratio)


def interleaved(measured: Callable[[], object], floor: Callable[[], object], repeat: int) -> Pairs:
    """``repeat`` pairs of measured and floor, run alternately after one warm-up of each."""
    measured()
    floor()
    pairs = Pairs([], [])
    for _ in range(repeat):
        for function, samples in ((measured, pairs.ours), (floor, pairs.base)):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
    return pairs
