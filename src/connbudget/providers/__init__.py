"""What each platform knows: how its resources become databases, poolers and clients, and its
data tables (every number with its source and the date it was read)."""
