# The shop's customers sign in with Apple and may hide their address behind Apple's relay. Mail
# sent before the shop's domains were registered with Apple bounced, and SES suppressed those
# relay addresses: this weekly Lambda lists them. Report only (delete = false): its log names
# each address it would remove (suppression_would_remove); set delete = true once the list
# looks right. Every stack gets one (the suppression list is per account-region); narrow it
# with accounts = [...] and regions = [...].
suppression_cleanup {
  recipient_domains = ["privaterelay.appleid.com"]
  reasons           = ["BOUNCE"]
  schedule          = "cron(0 5 ? * MON *)" # Mondays 05:00 in timezone
  timezone          = "America/New_York"
  delete            = false
}
