"""Every finding is made here, from the model and the budgets: role rules (embedded Rego),
capacity rules, notes on what was not read, and the suppressions."""
