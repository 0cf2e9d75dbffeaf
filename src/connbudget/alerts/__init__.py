"""Alert rules computed from the budget: what a database and its roles should be watched for."""
