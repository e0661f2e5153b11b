"""Secrets Manager rotation of an SES SMTP user's credentials (see ``handler``)."""
