"""Front ends: each knows one input format and nothing about rules.

`sql`, `terraform`, `pgbouncer` and `kubernetes` turn text into plain data that carries its
source location (file, line); the capacity model and the role rules read only that data.
"""
