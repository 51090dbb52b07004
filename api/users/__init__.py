"""Staff users (collectors, compliance reviewers, admins), their roles and sign-in."""
