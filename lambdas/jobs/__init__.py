"""Import jobs: the record a caller polls, and its lifecycle."""
