"""Console errors. A claim lost to another collector and a draft the guard refused are
not exceptions but answers (api/console/routes.py returns them as 409 / 422 bodies), so
their audit events commit with the request instead of being rolled back."""

from api.core.errors import AppError


class NotInConsole(AppError):
    """Collectors read conversations that asked for a person, not every chat (PD1)."""

    status_code = 404
    message = "该会话不在人工处理范围内"


class NotYourConversation(AppError):
    status_code = 409
    message = "该会话当前不由您处理，请先接入"


class AlreadyClaimed(AppError):
    """Documentation only: the 409 body also names who has the conversation."""

    status_code = 409
    message = "该会话已被其他客服接入"


class MessageBlocked(AppError):
    """Documentation only: the 422 body lists each violated rule (rule_id, category,
    reason)."""

    status_code = 422
    message = "消息未发送：内容违反合规规则"
