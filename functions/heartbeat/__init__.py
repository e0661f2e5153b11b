"""The heartbeat: shares an account-region's SES rate among its slices each second."""
