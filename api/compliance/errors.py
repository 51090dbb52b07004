"""Compliance workspace errors (one handler in api/core/errors.py renders them)."""

from api.core.errors import AppError


class AgreementNotFound(AppError):
    status_code = 404
    message = "协议不存在"
