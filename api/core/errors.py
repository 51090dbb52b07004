"""Domain errors and the one handler that turns them into JSON responses."""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException


class AppError(Exception):
    """Base for errors a client can act on; subclasses name the domain noun."""

    status_code = 400
    message = "请求无法处理"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.message
        super().__init__(self.detail)


class NotAuthenticated(AppError):
    status_code = 401
    message = "缺少或无效的访问凭证"


class ConversationNotFound(AppError):
    status_code = 404
    message = "会话不存在"


class TooManyMessages(AppError):
    status_code = 429
    message = "您发送消息太快了，请稍等片刻再发送"


class IdentityNotVerified(AppError):
    status_code = 403
    message = "身份尚未核验"


class VerificationLocked(AppError):
    status_code = 423
    message = "身份核验已暂时锁定"


def _app_error_response(exc: AppError) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": type(exc).__name__, "detail": exc.detail},
    )


def error_response_doc(*errors: type[AppError]) -> dict[int, dict]:
    """`responses=` entries for a route's OpenAPI docs."""
    return {
        e.status_code: {"description": f"{e.__name__}: {e.message}"} for e in errors
    }


class InvalidCharacters(AppError):
    status_code = 422
    message = "输入包含无法处理的字符"


class ServiceBusy(AppError):
    status_code = 503
    message = "系统繁忙，请稍后重试"


def _database_error_as_client_error(exc: DBAPIError) -> AppError | None:
    """Driver errors that are the input's or the load's fault, not a bug: a NUL byte
    PostgreSQL cannot store, or SQLite's single writer still busy after the timeout."""
    text = str(exc.orig)
    if "invalid byte sequence" in text or "0x00" in text:
        return InvalidCharacters()
    if "database is locked" in text:
        return ServiceBusy()
    return None


def install_error_handler(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _handle(_: Request, exc: AppError) -> JSONResponse:
        return _app_error_response(exc)

    @app.exception_handler(DBAPIError)
    async def _database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        client_error = _database_error_as_client_error(exc)
        if client_error is None:
            raise exc  # anything else is a bug: let it be a logged 500
        return _app_error_response(client_error)

    @app.exception_handler(StarletteHTTPException)
    async def _undecodable_body(request: Request, exc: StarletteHTTPException):
        # FastAPI answers a JSON body that is not valid UTF-8 with an undocumented 400
        # ("There was an error parsing the body"), while malformed JSON gets the
        # documented 422. Give both the same documented 422 validation shape; every
        # other HTTPException keeps FastAPI's own handling.
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            return JSONResponse(status_code=422, content=UNDECODABLE_BODY)
        return await http_exception_handler(request, exc)


UNDECODABLE_BODY = {
    "detail": [
        {
            "type": "json_invalid",
            "loc": ["body"],
            "msg": "JSON decode error: the body is not valid UTF-8",
            "input": {},
        }
    ]
}

