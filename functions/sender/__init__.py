"""The sender: SQS-triggered Lambda that sends each queued email through SES within the slice's
recipients-per-second share of the account, exactly once or to the DLQ with a reason."""
