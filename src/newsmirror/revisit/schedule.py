"""When an article is fetched again: at fixed ages since it was first seen (revisit.schedule, in hours).

An edit or a deletion is likeliest soon after publication, so the checks are dense at first and sparse later;
after the last one, never again. What is due waits for the run's budget, the longest overdue first.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def steps_done(first_seen: datetime, at: datetime, schedule: list[float]) -> int:
    """How many of the schedule's ages `at` has reached."""
    age = (at - first_seen).total_seconds() / 3600
    return sum(1 for h in schedule if h <= age)


def next_due(first_seen: datetime, at: datetime, schedule: list[float]) -> tuple[int, datetime | None]:
    """(steps done, when the next revisit is due, or None: never again) after a check at `at`."""
    step = steps_done(first_seen, at, schedule)
    return step, (first_seen + timedelta(hours=schedule[step]) if step < len(schedule) else None)
