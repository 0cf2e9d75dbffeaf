"""connbudget: PostgreSQL connection budgets checked at review time."""

__version__ = "0.1.0"
