"""Audit chain verification result, as compliance reviewers see it."""

from pydantic import BaseModel, ConfigDict

from api.audit.service import BreakReason


class VerifyReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ok: bool
    checked: int
    head_seq: int | None
    head_hash: str | None
    broken_seq: int | None
    reason: BreakReason | None
    detail: str | None
