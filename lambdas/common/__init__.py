"""Foundations shared by every function: configuration, errors, observability, caller identity.

Nothing here imports anything else of ours.
"""
