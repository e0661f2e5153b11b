"""Test doubles that run the real sender code in virtual time: clock, SES model, SQS model."""
