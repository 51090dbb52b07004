"""Import every ORM module so metadata is complete (Alembic, tests)."""

from api.core.db import Base
from api.gateway import models as gateway_models  # noqa: F401
from api.loans import models as loan_models  # noqa: F401

metadata = Base.metadata
