"""The scheduled suppression-list cleanup: schedule, Lambda, least-privilege role, alarm."""
