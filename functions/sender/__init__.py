"""The sender: SQS-triggered Lambda that sends each queued email through SES within the slice's
recipient-per-second budget, exactly once or to the DLQ with a reason."""
