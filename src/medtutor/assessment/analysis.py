"""Item analysis of an exam's submitted attempts: builds the response matrix for the pure engine, and the CSV.

Columns are item versions (an edited item's versions are different questions). A blueprint exam draws a
form per attempt, so only the versions every submitted attempt saw are analysed; the rest are counted in
`excluded`, since an item a student never saw is neither right nor wrong.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from medtutor.assessment.engine import itemanalysis
from medtutor.assessment.models import AttemptItem, Exam

__all__ = ["ExamAnalysis", "analyse_exam", "to_csv"]


@dataclass(frozen=True, slots=True)
class ExamAnalysis:
    items: list[itemanalysis.ItemStats]
    test: itemanalysis.TestStats
    excluded: int            # item versions not seen by every submitted attempt
    item_ids: list[int]      # content Item id per analysed column, for links


def analyse_exam(exam: Exam) -> ExamAnalysis:
    rows = (AttemptItem.objects.filter(attempt__exam=exam, attempt__submitted_at__isnull=False)
            .select_related("item_version__item").order_by("attempt_id", "position"))
    answers: dict[int, dict[int, int | None]] = {}
    versions = {}
    for ai in rows:
        answers.setdefault(ai.attempt_id, {})[ai.item_version_id] = ai.chosen_index
        versions[ai.item_version_id] = ai.item_version
    attempt_ids = sorted(answers)
    common = [v for v in versions if all(v in answers[a] for a in attempt_ids)]
    common = [v for v in common if versions[v].key_index is not None and versions[v].options]
    position = {item_id: pos for item_id, pos in exam.exam_items.values_list("item_id", "position")}
    common.sort(key=lambda v: (position.get(versions[v].item_id, 10**9), versions[v].item.external_id,
                               versions[v].number))
    several = {versions[v].item_id for v in common if sum(versions[w].item_id == versions[v].item_id
                                                          for w in common) > 1}
    labels = [versions[v].item.external_id + (f" v{versions[v].number}" if versions[v].item_id in several else "")
              for v in common]
    matrix = [[answers[a][v] for v in common] for a in attempt_ids]
    items, test = itemanalysis.analyse(matrix, [versions[v].key_index for v in common],
                                       [len(versions[v].options) for v in common], labels)
    return ExamAnalysis(items=items, test=test, excluded=len(versions) - len(common),
                        item_ids=[versions[v].item_id for v in common])


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _cell(text: str) -> str:
    """Keep a spreadsheet from reading an authored label as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(result: ExamAnalysis) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["item", "key", "n", "facility", "sd", "discrimination", "point_biserial_rest",
                     "efficiency", "omitted", "options", "flags"])
    for stats in result.items:
        options = "; ".join(f"{o.letter}={o.count} (r={_num(o.rest_correlation) or 'n/a'})" for o in stats.options)
        writer.writerow([_cell(stats.label), stats.key_letter,
                         stats.n, _num(stats.facility), _num(stats.sd), _num(stats.discrimination),
                         _num(stats.point_biserial), _num(stats.efficiency), stats.omitted, options,
                         "; ".join(stats.flags)])
    return out.getvalue()
