# The embedded example: one account, one region, two domains.
# `make synth` builds it with no AWS credentials; copy this folder to start your own env.

environment = "example"
tags = {
  team        = "platform"
  cost_center = "email"
}

# State: a local file per stack by default. For a team, switch to S3:
# backend "s3" {
#   bucket     = "acme-terraform-state"
#   region     = "eu-central-1"
#   key_prefix = "ses-platform"
#   kms_key_id = "alias/terraform-state"
# }

account "media" {
  id = "111111111111"

  region "eu-central-1" {
    max_send_rate    = 100    # SES quota, recipients per second
    max_24_hour_send = 500000 # recipients per rolling 24 hours
  }
}

# DNS in Route 53: DKIM CNAMEs, MAIL FROM MX + SPF and DMARC are created for you.
domain "news.example.at" {
  account        = "media"
  hosted_zone_id = "Z0123456789ABCDEFGHIJ"

  mail_from {
    subdomain              = "bounce" # bounce.news.example.at
    behavior_on_mx_failure = "USE_DEFAULT_VALUE"
  }

  dkim {
    signing_key_length = "RSA_2048_BIT"
  }

  dmarc {
    policy = "quarantine"
    pct    = 50
    rua    = ["mailto:dmarc-reports@example.at"]
  }
}

# DNS run by another team: the same records become the zone-file output
# `dns_zone_file_shop_example_com` to paste into their zone.
domain "shop.example.com" {
  account = "media"
  dns     = "external"

  dmarc {
    policy = "none"
    rua    = ["mailto:dmarc@example.com"]
  }
}
