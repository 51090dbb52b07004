"""Import every ORM module so metadata is complete (Alembic, tests)."""

from api.agreements import models as agreement_models  # noqa: F401
from api.audit import models as audit_models  # noqa: F401
from api.compliance import models as compliance_models  # noqa: F401
from api.console import models as console_models  # noqa: F401
from api.contact_preferences import models as contact_preference_models  # noqa: F401
from api.core.db import Base
from api.gateway import models as gateway_models  # noqa: F401
from api.loans import models as loan_models  # noqa: F401
from api.outreach import models as outreach_models  # noqa: F401
from api.users import models as user_models  # noqa: F401

metadata = Base.metadata
