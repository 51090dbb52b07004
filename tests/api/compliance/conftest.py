from tests.api.users.builders import fast_password_hashing  # noqa: F401  (autouse)
