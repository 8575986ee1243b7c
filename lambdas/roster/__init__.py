"""Roster import rules: TAO templates, row validation, the roster store and password hashing."""
