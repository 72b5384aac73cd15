"""Run diagnostics: progress reporting, budgets."""
