"""Domain errors and the one handler that turns them into JSON responses."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


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


def error_response_doc(*errors: type[AppError]) -> dict[int, dict]:
    """`responses=` entries for a route's OpenAPI docs."""
    return {
        e.status_code: {"description": f"{e.__name__}: {e.message}"} for e in errors
    }


def install_error_handler(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _handle(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": type(exc).__name__, "detail": exc.detail},
        )
