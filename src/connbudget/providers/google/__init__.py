"""Google Cloud: Cloud SQL for PostgreSQL, Cloud Run and the Cloud SQL Auth Proxy."""
