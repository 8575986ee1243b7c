"""Status and download routes: read a job and fetch its result report."""
