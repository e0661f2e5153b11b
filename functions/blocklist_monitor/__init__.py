"""The blocklist monitor: checks the account's dedicated IPs against DNS blocklists (DNSBLs)."""
