# Dedicated IP pools. A MANAGED pool: SES leases, sizes and warms up its IPs, so it takes no
# warmup schedule. Nothing sends through it until a configuration set names it
# (dedicated_ip_pool = "shop-managed"); the stack's blocklist monitor checks every dedicated IP
# of the account in us-east-1 against the zones below each hour. envs/example shows a STANDARD
# pool with a warm-up schedule and a slice moving to it.
dedicated_ip_pool "shop-managed" {
  account         = "shop"
  region          = "us-east-1"
  scaling_mode    = "MANAGED"
  blocklist_zones = ["bl.spamcop.net"] # add "<your DQS key>.zen.dq.spamhaus.net" for Spamhaus
  tags            = { owner = "shop" }
}
