"""An SES SMTP user whose credentials Secrets Manager rotates (see ``construct``)."""
