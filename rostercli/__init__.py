"""`roster`: the command-line client of the Rostering Upload API."""
