"""Concise run progress for a terminal: a line when a step starts and a line when it ends, and progress within
long steps (``orchestration.progress``): a bar on an interactive terminal, a line every few seconds elsewhere.

Dagster's console logger prints every event at debug level; ``tokenbooks run`` uses this logger instead,
so a run reads as a short list of steps (the full event log stays in the instance, for the UI).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg
from tqdm import tqdm

from orchestration.progress import PROGRESS_ATTRIBUTE, ProgressFigures

# Dagster attaches its structured event to each log record under this attribute.
DAGSTER_RECORD_METADATA = "dagster_meta"
ASSET_CHECK_EVALUATION = "ASSET_CHECK_EVALUATION"
POOL_METADATA = "pool"  # on the engine event of a step blocked by its pool's limit


@dataclass
class StepTally:
    started: float
    assets: set[dg.AssetKey] = field(default_factory=set)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)


def failure_reason(event: dg.DagsterEvent) -> str:
    """The message of the error that made a step fail (Dagster wraps it in its own execution errors)."""
    error = event.step_failure_data.error
    if error is None:
        return "no error recorded; see the run in the Dagster UI"
    while error.cause is not None:
        error = error.cause
    return error.message.strip() or error.cls_name or "unknown error"


class StepProgressHandler(logging.Handler):
    def __init__(self, stream: TextIO):
        super().__init__()
        self.stream = stream
        self.steps: dict[str, StepTally] = {}
        self.bars: dict[str, tqdm] = {}
        self.interactive = stream.isatty()

    def emit(self, record: logging.LogRecord) -> None:
        figures = getattr(record, PROGRESS_ATTRIBUTE, None)
        if isinstance(figures, ProgressFigures):
            self._progress(figures)
            return
        event = (getattr(record, DAGSTER_RECORD_METADATA, None) or {}).get("dagster_event")
        if event is None or event.step_key is None:
            return
        step = event.step_key
        if event.is_step_start:
            self.steps[step] = StepTally(started=time.monotonic())
            self._write(f"{step:<28} started")
            return
        tally = self.steps.setdefault(step, StepTally(started=time.monotonic()))
        if event.is_step_materialization and event.asset_key is not None:
            tally.assets.add(event.asset_key)
        elif event.event_type_value == ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if evaluation.passed:
                tally.checks_passed += 1
            else:
                tally.checks_failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
        elif event.is_step_success:
            self._write(f"{step:<28} done in {self._elapsed(tally)}: {self._counts(tally)}")
        elif event.is_engine_event and POOL_METADATA in event.engine_event_data.metadata:
            # e.g. another run holds the DuckDB pool's only slot: say why nothing happens
            self._write(f"{step:<28} waiting: {event.message}")
        elif event.is_step_failure:
            reason = failure_reason(event).splitlines()[0]
            self._write(f"{step:<28} FAILED after {self._elapsed(tally)}: {reason}")

    def _progress(self, figures: ProgressFigures) -> None:
        if not self.interactive:
            self._write(f"  {figures.message}")
            return
        bar = self.bars.get(figures.label)
        if bar is None:
            bar = tqdm(
                total=1000, desc=figures.label, file=self.stream, leave=False, bar_format="{desc} {bar} {postfix}"
            )
            self.bars[figures.label] = bar
        bar.n = round(figures.fraction * 1000)
        bar.set_postfix_str(figures.message.partition(": ")[2], refresh=True)
        if figures.fraction >= 1:
            bar.close()
            del self.bars[figures.label]

    @staticmethod
    def _elapsed(tally: StepTally) -> str:
        return f"{time.monotonic() - tally.started:.1f} s"

    @staticmethod
    def _counts(tally: StepTally) -> str:
        counts = f"{len(tally.assets)} asset(s), {tally.checks_passed} check(s) passed"
        if tally.checks_failed:
            counts += f", {len(tally.checks_failed)} FAILED: {', '.join(sorted(set(tally.checks_failed)))}"
        return counts

    def _write(self, line: str) -> None:
        self.stream.write(f"[{time.strftime('%H:%M:%S')}] {line}\n")
        self.stream.flush()


def progress_logger(stream: TextIO) -> dg.LoggerDefinition:
    """A Dagster logger writing one line per step start and end, with its assets and checks, to ``stream``."""

    @dg.logger(description="One line per step start and end, with its assets and checks.")
    def _progress(init_context: dg.InitLoggerContext) -> logging.Logger:
        # step and check events are logged at debug level
        logger = logging.Logger("tokenbooks.progress", level=logging.DEBUG)
        logger.addHandler(StepProgressHandler(stream))
        return logger

    return _progress
