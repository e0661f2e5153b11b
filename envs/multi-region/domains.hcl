# A domain in two regions gets each region's three DKIM CNAMEs. Its home region (the first
# listed) uses bounce.news.example.at as MAIL FROM; eu-west-1 gets bounce-eu-west-1.news.example.at,
# so bounces always return to the region that sent the mail.
domain "news.example.at" {
  account           = "media"
  regions           = ["eu-central-1", "eu-west-1"]
  hosted_zone_id    = "Z0MEDIA0NEWS0EXAMPLE0AT"
  configuration_set = "newsletter" # declared in both regions

  dmarc {
    policy           = "reject"
    subdomain_policy = "quarantine"
    rua              = ["mailto:dmarc-reports@example.at"]
    ruf              = ["mailto:dmarc-forensics@example.at"]
    adkim            = "s"
  }
}

domain "orders.shop.example.com" {
  account           = "shop"
  hosted_zone_id    = "Z9876543210ZYXWVUTSRQ"
  configuration_set = "transactional"

  mail_from {
    subdomain              = "mail"
    behavior_on_mx_failure = "REJECT_MESSAGE"
  }

  dmarc {
    policy = "quarantine"
    rua    = ["mailto:dmarc@shop.example.com"]
  }
}

domain "partner.example.net" {
  account = "shop"
  dns     = "external"
  tags    = { owner = "partnerships" }
}

# The receiving domain of slice shop-orders' shadow-copy archive: a subdomain kept for it (its MX
# points at SES's inbound endpoint, so no person's mail may use it).
domain "archive.shop.example.com" {
  account        = "shop"
  regions        = ["us-east-1"]
  hosted_zone_id = "Z9876543210ARCHIVE"

  dmarc {
    policy = "reject"
    rua    = ["mailto:dmarc-reports@example.com"]
  }
}
