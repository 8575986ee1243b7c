"""Operator commands run against a deployed stack (``python -m ops.<command>``)."""
