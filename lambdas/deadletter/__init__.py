"""Dead-letter Lambda: ends the jobs whose import messages failed after every retry."""
