# Configuration sets: a name is unique per account-region, as in SES. Every configuration_set a
# domain or slice names must be declared here, in its account-region.

# The shop's transactional mail: events to the encrypted SNS topic (default), bounces and
# complaints also to EventBridge for the CRM, and delivery counts per sending slice in CloudWatch.
configuration_set "transactional" {
  account                = "shop"
  region                 = "us-east-1"
  custom_redirect_domain = "track.shop.example.com" # open/click links over HTTPS
  max_delivery_seconds   = 7200
  engagement_metrics     = true # VDM

  event_destination "sns" {} # every event type

  event_destination "crm" {
    type        = "event_bridge" # the account's default bus
    event_types = ["BOUNCE", "COMPLAINT"]
  }

  event_destination "per-slice" {
    type        = "cloud_watch"
    event_types = ["SEND", "DELIVERY"]
    dimensions  = { slice = "none" } # the sender tags every send with its slice
  }

  reputation_alarms {
    bounce_warning_percent  = 1.5
    bounce_critical_percent = 3
    minimum_sends           = 500
  }
}

# The newsletter's set in both of its regions (one block per account-region).
configuration_set "newsletter" {
  account = "media"
  region  = "eu-central-1"
}

configuration_set "newsletter" {
  account = "media"
  region  = "eu-west-1"

  reputation_alarms {
    breaker = false # alarm only; do not pause sending
  }
}

# The sets that send through the newsletter's dedicated IP pools (pools.hcl), one per region.
configuration_set "newsletter-dedicated" {
  account           = "media"
  region            = "eu-central-1"
  dedicated_ip_pool = "news-central"
}

configuration_set "newsletter-dedicated" {
  account           = "media"
  region            = "eu-west-1"
  dedicated_ip_pool = "news-west"

  reputation_alarms {
    breaker = false # as the newsletter's shared-pool set in this region
  }
}

# A set created outside this repository (by hand, or another team's Terraform): declared so
# names resolve and typos fail at validation; nothing is created or changed for it.
configuration_set "legacy-crm" {
  account  = "shop"
  region   = "us-east-1"
  external = true
}

# The weekly bounce report, built in every account-region with a status table (all three here).
# No mail block: reports stay in each stack's bucket (output bounce_report_bucket_name); a mail's
# from-domain would have to be an identity in every one of them.
bounce_report {
  schedule       = "cron(0 7 ? * MON *)"
  timezone       = "UTC"
  retention_days = 731
  top_domains    = 20
}
