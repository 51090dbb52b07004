"""Sign-in and permission errors."""

from api.core.errors import AppError


class InvalidCredentials(AppError):
    # One message for unknown user, wrong password and inactive account alike, so the
    # response never tells an attacker which usernames exist.
    status_code = 401
    message = "用户名或密码错误"


class PermissionDenied(AppError):
    status_code = 403
    message = "当前角色无权执行此操作"


class UsernameTaken(AppError):
    status_code = 409
    message = "用户名已存在"
