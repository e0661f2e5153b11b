# Capacity slices: each guarantees part of one account-region's SES rate (recipients per second)
# and gets its own queues (transactional + bulk lanes, a DLQ) and sender Lambda. The slices of an
# account-region may not ask for more than its max_send_rate together.

# media, eu-central-1 (quota 100/s): 40 guaranteed to the newsletter, 60 left for bursts.
slice "at-news" {
  account           = "media"
  region            = "eu-central-1"
  rate_per_second   = 40
  from_domains      = ["news.example.at"]
  configuration_set = "newsletter"
}

# The same domain sends from eu-west-1 too: a slice belongs to one region.
slice "at-news-west" {
  account                      = "media"
  region                       = "eu-west-1"
  rate_per_second              = 20
  from_domains                 = ["news.example.at"]
  oldest_message_alarm_seconds = 900 # bulk mail may wait longer
}

# shop, us-east-1 (quota 200/s): the two slices take all of it.
slice "shop-orders" {
  account                = "shop"
  region                 = "us-east-1"
  rate_per_second        = 150
  from_domains           = ["orders.shop.example.com"]
  configuration_set      = "transactional" # the identity's default set, named in every send
  max_receive_count      = 3
  sender_max_concurrency = 10
  log_retention_days     = 731

  # Shadow copy: every mail of this slice also goes (BCC) to the archive address, counted against
  # the rate (and the 50 recipients per message: send at most 49). SES receives the copy on
  # archive.shop.example.com (MX created in its zone) and stores it encrypted in S3 for 7 years.
  # Only one receipt rule set can be active per account-region: activating this one deactivates
  # any other (an existing inbound-mail setup of the shop account in us-east-1 would stop).
  archive {
    address                   = "orders@archive.shop.example.com"
    activate_receipt_rule_set = true
    retention_days            = 2557
  }
}

slice "shop-partner" {
  account             = "shop"
  region              = "us-east-1"
  rate_per_second     = 50
  from_domains        = ["partner.example.net", "orders.shop.example.com"]
  batch_size          = 5
  dlq_alarm_threshold = 10
  configuration_set   = "legacy-crm" # managed elsewhere (configuration_sets.hcl: external = true)
}
