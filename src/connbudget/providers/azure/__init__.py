"""Microsoft Azure: Database for PostgreSQL flexible server, its built-in PgBouncer, Container
Apps and App Service."""
