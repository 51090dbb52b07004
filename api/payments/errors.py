"""Payment errors: what a caller can act on, with the detail a person reads (Chinese)."""

from api.core.errors import AppError


class LoanNotFound(AppError):
    status_code = 404
    message = "贷款不存在"


class PaymentConflict(AppError):
    # The processor's reference identifies one payment; reusing it for different data is
    # a mistake (or an attack) that must be looked at, never merged silently.
    status_code = 409
    message = "该支付流水号已登记为另一笔不同的还款"


class Overpayment(AppError):
    status_code = 422
    message = "还款金额超过该笔贷款当前应还总额，请核对后再登记"
