"""Validation errors that never echo what was sent (PD2).

FastAPI's 422 lists each error with its `input`; for a missing field that input is the
whole enclosing object, so a borrower import with one field missing would return the ID
number and phone number it carried. Routes of this router drop `input` and `ctx`."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

REDACTED_KEYS = ("input", "ctx", "url")


class RedactedValidationRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def redacted_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {k: v for k, v in error.items() if k not in REDACTED_KEYS}
                    for error in exc.errors()
                ]
                raise RequestValidationError(errors) from None

        return redacted_handler
