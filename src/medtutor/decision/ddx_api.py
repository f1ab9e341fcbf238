"""JSON API of the differential-diagnosis engine: posterior and next best question after some answers."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from medtutor.core.permissions import EVERYONE, has_role
from medtutor.decision import ddx_services as ddx

router = Router()


class DdxAnswerIn(Schema):
    code: str = Field(description="Evidence code of the knowledge base, e.g. E_91")
    answer: str | list[str] | bool = Field(description="yes/no, a value code or scale number, or a list of value codes")


class DdxPredictIn(Schema):
    age: int = Field(description="Age in years (0-130)")
    sex: str = Field(description="M or F")
    initial_evidence: str = Field(description="Code of the presenting complaint (a yes/no evidence)")
    answers: list[DdxAnswerIn] = Field(default_factory=list, max_length=250)


class DdxDiagnosisOut(Schema):
    pathology: str
    probability: float
    severity: int


class DdxValueOut(Schema):
    code: str
    en: str
    fr: str


class DdxQuestionOut(Schema):
    code: str
    text_en: str
    text_fr: str
    kind: str
    gain_bits: float
    values: list[DdxValueOut]


class DdxStepOut(Schema):
    code: str
    answer: str
    likelihood_ratio: float
    leading_before: str
    gain_bits: float


class DdxPredictOut(Schema):
    model: str
    version: str
    decision_id: int
    for_education_only: str
    differential: list[DdxDiagnosisOut]
    differential_set: list[str]
    steps: list[DdxStepOut]
    stop_reason: str | None
    next_question: DdxQuestionOut | None


@router.post("/ddx/predict", response=DdxPredictOut, tags=["decision"])
def ddx_predict(request: HttpRequest, body: DdxPredictIn):
    """For education, not patient care: the engine's differential and next question (recorded in the audit log)."""
    if not has_role(request.auth, *EVERYONE):
        raise HttpError(403, "this needs a medtutor account")
    return ddx.predict(request.auth, age=body.age, sex=body.sex, initial_evidence=body.initial_evidence,
                       answers=[(a.code, a.answer) for a in body.answers])
