"""A study plan from today to the exam: pure and deterministic.

Inputs: the exam date, minutes per day, the blueprint (competency weights), current mastery per
competency and the forecast of card reviews per day. Each day first gets its due reviews (they
protect what is already learned), then the remaining minutes are split between new material and
practice blocks, in proportion to each competency's weighted gap (weight x (1 - mastery)); the last
days before the exam are review and mixed practice only. Re-planning is simply planning again from
the current state, so falling behind or getting ahead changes the remaining days and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

REVIEW_MINUTES = 0.2      # about 12 s per card review
QUESTION_MINUTES = 1.5    # about 90 s per practice question
TAPER_DAYS = 3            # the last days: no new material


@dataclass(frozen=True, slots=True)
class PlanInput:
    today: date
    exam_date: date
    minutes_per_day: int
    weights: Mapping[str, float]                  # competency code -> blueprint weight
    mastery: Mapping[str, float]                  # competency code -> P(knows)
    reviews_due: Sequence[int] = ()               # reviews due on today, today+1, ...
    names: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if self.exam_date <= self.today:
            found.append("the exam date must be after today")
        elif (self.exam_date - self.today).days > 730:
            found.append("the exam date must be within two years")
        if not 10 <= self.minutes_per_day <= 720:
            found.append("daily minutes must be between 10 and 720")
        if not self.weights:
            found.append("the blueprint has no competencies")
        if any(w < 0 for w in self.weights.values()):
            found.append("blueprint weights cannot be negative")
        return found


@dataclass(frozen=True, slots=True)
class Task:
    kind: str          # "review", "new", "practice"
    minutes: int
    competency: str | None = None
    count: int = 0     # cards or questions
    label: str = ""


@dataclass(frozen=True, slots=True)
class PlanDay:
    day: date
    tasks: tuple[Task, ...]

    @property
    def minutes(self) -> int:
        return sum(t.minutes for t in self.tasks)


def plan(data: PlanInput) -> list[PlanDay]:
    problems = data.problems()
    if problems:
        raise ValueError("; ".join(problems))
    days = (data.exam_date - data.today).days
    gaps = {code: max(0.0, w) * (1.0 - min(1.0, max(0.0, data.mastery.get(code, 0.0))))
            for code, w in data.weights.items()}
    total_gap = sum(gaps.values())
    # Cumulative "credit" per competency so minutes rotate fairly over days instead of being
    # sliced into uselessly small pieces every day.
    credit = dict.fromkeys(gaps, 0.0)
    result: list[PlanDay] = []
    for offset in range(days):
        day = data.today + timedelta(days=offset)
        budget = data.minutes_per_day
        tasks: list[Task] = []
        due = data.reviews_due[offset] if offset < len(data.reviews_due) else 0
        if due:
            review_minutes = min(budget, max(1, round(due * REVIEW_MINUTES)))
            tasks.append(Task("review", review_minutes, None, due, f"Review {due} due card{'s' if due != 1 else ''}"))
            budget -= review_minutes
        tapering = days - offset <= TAPER_DAYS
        blocks = budget // 15
        if total_gap > 0:
            for code in credit:
                credit[code] += blocks * gaps[code] / total_gap
        for _ in range(blocks):
            if total_gap > 0:
                code = max(credit, key=lambda c: (credit[c], c))
                credit[code] -= 1
            else:
                code = None
            name = data.names.get(code, code) if code else "mixed topics"
            mastered = code is not None and data.mastery.get(code, 0.0) >= 0.6
            kind = "practice" if tapering or mastered else "new"
            count = round(15 / QUESTION_MINUTES) if kind == "practice" else 0
            label = (f"Practice {count} questions: {name}" if kind == "practice" else f"Study new material: {name}")
            tasks.append(Task(kind, 15, code, count, label))
        leftover = budget - 15 * blocks
        if leftover >= 5:
            count = max(1, round(leftover / QUESTION_MINUTES))
            tasks.append(Task("practice", leftover, None, count, f"Mixed practice: {count} questions"))
        result.append(PlanDay(day, tuple(_merge(tasks))))
    return result


def _merge(tasks: list[Task]) -> list[Task]:
    """Adjacent blocks of the same kind and competency become one longer block."""
    merged: list[Task] = []
    for task in tasks:
        last = merged[-1] if merged else None
        if last and last.kind == task.kind and last.competency == task.competency and task.kind != "review":
            count = last.count + task.count
            label = last.label if task.kind == "new" else last.label.replace(str(last.count), str(count), 1)
            merged[-1] = Task(last.kind, last.minutes + task.minutes, last.competency, count, label)
        else:
            merged.append(task)
    return merged


def to_ics(days: Sequence[PlanDay], *, calendar_name: str = "medtutor study plan", uid_prefix: str = "plan",
           created: datetime | None = None) -> str:
    """An iCalendar file: one all-day event per study day listing its tasks."""
    stamp = (created or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//medtutor//study plan//EN", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_escape(calendar_name)}"]
    for plan_day in days:
        if not plan_day.tasks:
            continue
        start = plan_day.day.strftime("%Y%m%d")
        end = (plan_day.day + timedelta(days=1)).strftime("%Y%m%d")
        summary = f"Study {plan_day.minutes} min"
        description = "\\n".join(_escape(f"{t.label} ({t.minutes} min)") for t in plan_day.tasks)
        lines += ["BEGIN:VEVENT", f"UID:{uid_prefix}-{start}@medtutor", f"DTSTAMP:{stamp}",
                  f"DTSTART;VALUE=DATE:{start}", f"DTEND;VALUE=DATE:{end}", f"SUMMARY:{_escape(summary)}",
                  f"DESCRIPTION:{description}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on the next line after a space."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)
