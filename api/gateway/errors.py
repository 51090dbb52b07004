"""Errors of the conversation state machine and of handing a conversation over."""

from api.core.errors import AppError


class IllegalTransition(AppError):
    """The conversation is not in a state this step may start from (or another request
    moved it first): e.g. handing back a conversation nobody has claimed."""

    status_code = 409
    message = "会话当前的状态不允许此操作"


class NoOpenEscalation(AppError):
    status_code = 409
    message = "该会话没有待处理的人工转接"


class TrackerControlFailed(AppError):
    """Rasa did not confirm resuming its tracker, so the bot cannot take over yet; the
    conversation stays with the collector (never a silent bot)."""

    status_code = 503
    message = "机器人暂时无法接回会话，会话仍由人工处理，请稍后重试"


class NotConversationHolder(AppError):
    """Only the collector who claimed the conversation writes to its borrower."""

    status_code = 403
    message = "该会话不由您处理，不能发送消息"
