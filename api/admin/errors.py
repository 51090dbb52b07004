"""Admin import errors. Details never repeat the submitted ID number or phone (PD2)."""

from api.core.errors import AppError


class BorrowerExists(AppError):
    status_code = 409
    message = "该身份证号码的借款人已存在"


class ContractNoTaken(AppError):
    status_code = 409
    message = "合同编号已存在"


class InvalidBorrowerData(AppError):
    status_code = 422
    message = "借款人身份信息不正确"

    ID_NUMBER = "身份证号码格式或校验位不正确"
    BIRTH_DATE = "出生日期与身份证号码不符"
    PHONE = "手机号码格式不正确（应为 11 位中国大陆手机号）"
