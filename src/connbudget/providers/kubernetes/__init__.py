"""Kubernetes: workloads and autoscalers as clients, PgBouncer deployments, and the PostgreSQL
operators' resources (CloudNativePG, Zalando, Crunchy)."""
