"""PostgreSQL itself, 12 to 18: connection defaults, reserved slots, refusal texts, and how the
official and bitnami images take their settings (for self-managed servers)."""
