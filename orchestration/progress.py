"""Progress within a long step: ``done of total`` for each thing a step works through, the share done, the rate and
an estimate of the time left.

A step reports as it goes (``advance``/``update``); a line goes to the step's log at most every
``REPORT_SECONDS`` and once at the end, so the Dagster event log holds a readable trail and no flood. Each line
carries its figures as the log record's ``tokenbooks_progress`` attribute: ``tokenbooks run`` draws them as a
progress bar on an interactive terminal (``cli.progress``), and prints the lines as they are elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

REPORT_SECONDS = 5.0
PROGRESS_ATTRIBUTE = "tokenbooks_progress"
MIN_FRACTION_FOR_ESTIMATE = 0.05  # below it, the time left is mostly a guess from the step's start-up
BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_bytes(count: float) -> str:
    for unit in BYTE_UNITS:
        if count < 1000 or unit == BYTE_UNITS[-1]:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ProgressFigures:
    """What a progress line says, for a renderer: the step's label and the share done (0 to 1)."""

    label: str
    fraction: float
    message: str


class StepProgress:
    """Counters of one step (``{"files": 12, "bytes": 2_400_000_000}``), reported to ``log`` every few seconds.

    ``measure`` names the counter the share done and the time left are computed from (default: all counters
    summed); a counter named ``bytes`` is shown in bytes, with its rate.
    """

    def __init__(
        self,
        log: logging.Logger | logging.LoggerAdapter,
        label: str,
        totals: Mapping[str, int],
        *,
        measure: str | None = None,
        interval: float = REPORT_SECONDS,
        clock=time.monotonic,
    ):
        self.log = log
        self.label = label
        self.totals = dict(totals)
        self.done: dict[str, int] = {}
        self.measure = measure
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last_report = self.started
        self.reported: tuple[dict[str, int], dict[str, int]] | None = None  # figures of the last line

    def advance(self, counter: str, amount: int = 1) -> None:
        self.update({counter: self.done.get(counter, 0) + amount})

    def update(self, done: Mapping[str, int], totals: Mapping[str, int] | None = None) -> None:
        """New figures (and totals, for a step that learns them as it starts); a line when one is due."""
        self.totals.update(totals or {})
        self.done.update(done)
        if self.clock() - self.last_report >= self.interval:
            self.report()

    def finish(self) -> None:
        """The last line, unless the last one reported already said it all."""
        if self.reported != (self.done, self.totals):
            self.report()

    @property
    def fraction(self) -> float:
        names = [self.measure] if self.measure else list(self.totals)
        total = sum(self.totals.get(name, 0) for name in names)
        return 1.0 if total == 0 else min(1.0, sum(self.done.get(name, 0) for name in names) / total)

    def message(self) -> str:
        elapsed = self.clock() - self.started
        parts = []
        for name, total in self.totals.items():
            done = self.done.get(name, 0)
            if name == "bytes":
                parts.append(f"{human_bytes(done)} of {human_bytes(total)}")
            else:
                parts.append(f"{done:,} of {total:,} {name}")
        fraction = self.fraction
        text = f"{self.label}: {', '.join(parts)} ({fraction:.0%})"
        if self.done.get("bytes") and elapsed > 0:
            text += f", {human_bytes(self.done['bytes'] / elapsed)}/s"
        if MIN_FRACTION_FOR_ESTIMATE <= fraction < 1:
            text += f", about {elapsed * (1 - fraction) / fraction:.0f} s left"
        elif fraction >= 1:
            text += f", in {elapsed:.1f} s"
        return text

    def report(self) -> None:
        self.last_report = self.clock()
        self.reported = (dict(self.done), dict(self.totals))
        message = self.message()
        figures = ProgressFigures(self.label, self.fraction, message)
        self.log.info(message, extra={PROGRESS_ATTRIBUTE: figures})
