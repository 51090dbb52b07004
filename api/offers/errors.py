"""Errors of the offers domain."""

from api.core.errors import AppError


class PolicyNotFound(AppError):
    """No policy file names this product: the product has no self-service offers."""

    status_code = 404
    message = "该产品暂无可在线办理的还款方案，请联系人工客服"


class PolicyInvalid(ValueError):
    """A policy file does not validate. A deployment bug, never a client's fault (500)."""


class PolicyMismatch(ValueError):
    """A position was priced with another product's policy, or with stale balances."""
