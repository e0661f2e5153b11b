"""The warm-up controller: each day, how many recipients a dedicated IP pool may carry."""
