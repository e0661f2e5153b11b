"""An SES configuration set with secure defaults and its event destinations (SNS by default)."""
