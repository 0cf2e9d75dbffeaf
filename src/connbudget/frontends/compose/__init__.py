"""docker compose files: services with their image, command, environment and replicas."""

from connbudget.frontends.compose.model import ComposeService, load_compose

__all__ = ["ComposeService", "load_compose"]
