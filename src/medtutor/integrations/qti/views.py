"""An exam as a QTI 2.1 package (assessmentTest + items in the exam's order), for Canvas, Moodle, TAO."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

from medtutor.assessment.models import Exam
from medtutor.content import services as content_services
from medtutor.content.exporters.qti import export_qti
from medtutor.content.importers.records import ImportBundle
from medtutor.core.audit import record_action
from medtutor.core.errors import InvalidInput, NotFound
from medtutor.core.permissions import AUTHORS, roles_required


@roles_required(*AUTHORS)
def exam_qti(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        raise NotFound(f"there is no exam {exam_id}")
    ordered = [link.item for link in exam.exam_items.select_related("item").order_by("position")]
    if not ordered:
        raise InvalidInput("this exam draws its questions from a blueprint when each student starts; export the "
                           "matching questions from the item bank (QTI 2.1) instead")
    bundle = content_services.export_bundle(ordered, include_outline=False, include_cards=False)
    by_id = {record.external_id: record for record in bundle.items}
    in_order = tuple(by_id[item.external_id] for item in ordered if item.external_id in by_id)
    data = export_qti(ImportBundle(items=in_order), test_title=exam.title)
    record_action(request.user, "exam.export.qti", subject=exam, data={"items": len(in_order)})
    slug = re.sub(r"[^a-z0-9]+", "-", exam.title.lower()).strip("-")[:60] or f"exam-{exam.pk}"
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{slug}-qti21.zip"'
    return response
