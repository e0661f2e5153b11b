"""Suppression-list cleanup: find and remove account-level suppression list entries by filters."""
