"""Intake of an uploaded file: multipart form reading, gzip, CSV content checks, storage."""
