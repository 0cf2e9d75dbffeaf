"""What each platform decides about connections: its defaults, limits and reserved slots, read
from sourced data tables (one package per provider, its tables under its own `data/`)."""
