"""Reputation alarms per configuration set, the environment dashboard and the reputation breaker."""
