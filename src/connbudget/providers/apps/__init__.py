"""Applications: the pool size and processes a client opens, from its environment, its command
line and its framework's configuration."""
