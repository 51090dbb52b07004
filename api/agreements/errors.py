"""Errors of the quotes/agreements domain. Their Chinese details live in texts.zh.yml."""

from api.agreements.texts import error_text
from api.core.errors import AppError, error_response_doc


class _TextFromResource:
    """`message` read from texts.zh.yml on first use (by class name), not at import."""

    def __get__(self, instance: object, owner: type) -> str:
        return error_text(owner.__name__)


class AgreementsError(AppError):
    message = _TextFromResource()  # type: ignore[assignment]


class QuoteNotFound(AgreementsError):
    """Unknown, or not this conversation's (the two are not told apart: P4)."""

    status_code = 404


class QuoteTampered(AgreementsError):
    """The stored terms no longer hash to what was quoted and audited."""

    status_code = 409


class QuoteAlreadyAccepted(AgreementsError):
    status_code = 409


class QuoteWithdrawn(AgreementsError):
    """Another quote for the same loan became an agreement first."""

    status_code = 409


class QuoteExpired(AgreementsError):
    status_code = 410


class QuotePolicyChanged(AgreementsError):
    status_code = 409


class QuoteStale(AgreementsError):
    """The loan's balances changed since the quote was computed."""

    status_code = 409


class IdempotencyKeyReused(AgreementsError):
    status_code = 409


class LoanNotFound(AgreementsError):
    status_code = 404


class LoanNotSpecified(AgreementsError):
    status_code = 422


class CollectionPausedForLoan(AgreementsError):
    """O5: nothing binds while the lender's breathing-space flag is set."""

    status_code = 409


class ConsentMessageInvalid(AgreementsError):
    status_code = 422


def responses_for(*errors: type[AppError]) -> dict[int, dict]:
    """`responses=` for a route: error_response_doc per error, merged so that several
    errors sharing a status code (409 here has five) are all listed."""
    merged: dict[int, dict] = {}
    for error in errors:
        for status, doc in error_response_doc(error).items():
            if status in merged:
                merged[status] = {
                    "description": f"{merged[status]['description']}; {doc['description']}"
                }
            else:
                merged[status] = doc
    return merged
