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

# The newsletter moves to dedicated IPs in both of its regions: one STANDARD pool per region (a
# pool belongs to one account-region), each warmed up on its own schedule. The slice's own
# configuration set (newsletter) carries what the pool may not take yet.
dedicated_ip_pool "news-central" {
  account = "media"
  region  = "eu-central-1"
  slices  = ["at-news"]

  warmup {
    start       = "2027-01-04"
    weekly_caps = [5000, 15000, 40000, 80000]
    full_volume = 80000
  }
}

dedicated_ip_pool "news-west" {
  account = "media"
  region  = "eu-west-1"
  slices  = ["at-news-west"]

  warmup {
    start       = "2027-01-04"
    daily_caps  = [500, 1000, 2000, 4000, 8000]
    full_volume = 8000
  }
}
