"""Compliance workspace (issue 7): search, transcript review, flags, reviews, evidence packs."""
