"""Job control and webhook settings Lambda."""
