"""Dedicated IP pools: the pool, its warm-up controller and the blocklist monitor."""
