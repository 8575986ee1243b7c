"""The import pipeline: S3 upload events and chunk messages in, roster rows and a result report out."""
