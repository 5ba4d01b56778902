"""Results: scores and targets, and the HTML reports."""
