"""The event pipeline: SES events from SNS → event logger, status table, status queue, alarm."""
