"""Bayesian online change-point detection (Adams & MacKay, 2007) on a sequence of
verified outcomes, with a Beta-Bernoulli segment model and a constant hazard of one
change per EXPECTED_SEGMENT outcomes. Pure; learning.py turns it into beliefs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXPECTED_SEGMENT = 100.0  # outcomes between changes a priori (hazard 1 %)
HAZARD = 1.0 / EXPECTED_SEGMENT
_PRUNE = 1e-5  # run lengths less probable than this are dropped
MAX_RUN_LENGTHS = 24  # and at most this many are followed


@dataclass(frozen=True)
class Segment:
    weight: float
    start: int  # index of its first outcome
    fixes: int
    misses: int


class ChangeTracker:
    """The run-length posterior of one outcome sequence. Segments are scored with a
    uniform Beta(1, 1) segment prior, so a tracker can be kept and updated one outcome at
    a time; the earned prior is applied to the segments afterwards (`belief`). Kept as
    parallel lists: this runs once per outcome per record on every selection."""

    def __init__(self) -> None:
        self.n = 0
        self.fixes = 0
        self._w: list[float] = [1.0]
        self._start: list[int] = [0]
        self._f: list[int] = [0]  # fixes since each start (misses: the rest)

    @property
    def runs(self) -> list[Segment]:
        return [
            Segment(w, s, f, self.n - s - f)
            for w, s, f in zip(self._w, self._start, self._f, strict=True)
        ]

    def update(self, fixed: bool) -> None:
        keep = 1.0 - HAZARD
        ws, fs, starts, n = self._w, self._f, self._start, self.n
        for i in range(len(ws)):
            p = (fs[i] + 1) / (n - starts[i] + 2)
            ws[i] *= keep * (p if fixed else 1.0 - p)
            fs[i] += fixed
        ws.append(HAZARD * 0.5)  # a fresh segment predicts either outcome with 1/2
        starts.append(n)
        fs.append(int(fixed))
        total = sum(ws)
        alive = [i for i, w in enumerate(ws) if w >= _PRUNE * total]
        if len(alive) > MAX_RUN_LENGTHS:
            alive = sorted(alive, key=lambda i: -ws[i])[:MAX_RUN_LENGTHS]
            alive.sort()
        if len(alive) < len(ws):
            self._w = [ws[i] for i in alive]
            self._start = [starts[i] for i in alive]
            self._f = [fs[i] for i in alive]
        norm = sum(self._w)
        self._w = [w / norm for w in self._w]
        self.n += 1
        self.fixes += fixed

    def extend(self, outcomes: Iterable[bool]) -> ChangeTracker:
        for fixed in outcomes:
            self.update(fixed)
        return self

    def break_probability(self) -> float:
        """How probable it is that the rate changed somewhere in the sequence."""
        if self.n == 0:
            return 0.0
        return 1.0 - sum(w for w, s in zip(self._w, self._start, strict=True) if s == 0)

    def likely_start(self) -> int:
        """Where the current segment most probably starts, given that it broke."""
        broken = [(w, s) for w, s in zip(self._w, self._start, strict=True) if s > 0]
        return max(broken)[1] if broken else 0

    def expected_counts(self) -> tuple[float, float]:
        fixes = sum(w * f for w, f in zip(self._w, self._f, strict=True))
        runs = sum(w * (self.n - s) for w, s in zip(self._w, self._start, strict=True))
        return fixes, runs - fixes

    def prior_weight(self, fresh: float) -> float:
        """How much of the prior the current segment keeps: all of it if the segment is
        the whole record, `fresh` of it after a change."""
        return sum(
            w * (1.0 if s == 0 else fresh) for w, s in zip(self._w, self._start, strict=True)
        )


def track(outcomes: Iterable[tuple[int, bool]]) -> ChangeTracker:
    return ChangeTracker().extend(fixed for _, fixed in outcomes)
