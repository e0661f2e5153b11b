"""Shadow-copy archive: SES receives each slice's BCC copy and stores it in an encrypted bucket."""
