"""SES event logger: SES events from SNS → log lines, the status table, metrics, status queue."""
