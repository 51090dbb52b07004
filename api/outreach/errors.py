"""Outreach errors."""

from api.core.errors import AppError


class BorrowerNotFound(AppError):
    status_code = 404
    message = "借款人不存在"


class LoanNotFound(AppError):
    status_code = 404
    message = "贷款不存在"
