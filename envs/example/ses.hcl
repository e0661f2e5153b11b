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

    # Opt in to the heartbeat, which shares this quota among the region's slices every second
    # by backlog (modules/heartbeat/README.md; envs/multi-region shows it switched on):
    # heartbeat { headroom = 0.95 }

    # The event pipeline (every SES event of the configuration sets below logged, a status per
    # message id) keeps a status 30 days by default; also feed applications a status queue:
    # events {
    #   status_queue    = true # SQS queue <env>-ses-event-status, one message per event
    #   status_ttl_days = 30   # 1-3650; history_limit (10) and log_retention_days (365) too
    # }
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

# A capacity slice: 60 of the account's 100 recipients/s are guaranteed to "at-de", which sends
# as news.example.at. Applications enqueue on its transactional or bulk lane (queue URLs are
# outputs); the sender Lambda drains both within the rate. See modules/capacity_slice/README.md.
slice "at-de" {
  account           = "media"
  region            = "eu-central-1"
  rate_per_second   = 60
  from_domains      = ["news.example.at"]
  configuration_set = "transactional" # named in every send: its events, alarms and breaker apply
  # Shadow copy of every mail (a BCC counted against the rate; at most 49 other recipients):
  # SES receives it on a domain you declare for it and stores it encrypted in S3. Needs a real
  # receiving domain; envs/multi-region has one switched on (modules/shadow_archive/README.md).
  # archive {
  #   address                   = "archive@archive.example.at"
  #   activate_receipt_rule_set = true # the one active rule set of the account-region
  # }
  # max_receive_count      = 5               # receives before the DLQ
  # sender_max_concurrency = 5               # per lane
  # batch_size             = 10
  # log_retention_days     = 365
}

# A configuration set: how SES treats the mail sent with it, and where its events go. Defaults:
# TLS required, reputation metrics on, bounces and complaints go on the suppression list, every
# event type goes to a KMS-encrypted SNS topic only SES (for this set) may publish to, and alarms
# watch the bounce and complaint rates below SES's review thresholds (5 % and 0.1 %).
# See modules/configuration_set/README.md.
configuration_set "transactional" {
  account = "media"
  region  = "eu-central-1"
  # custom_redirect_domain = "track.news.example.at" # open/click tracking, HTTPS required
  # max_delivery_seconds   = 3600                    # stop retrying after an hour (SES: 14 h)
  # dedicated_ip_pool      = "at-pool"               # default: SES's shared pool
  # reputation_alarms {                              # percent of sends over period_seconds
  #   bounce_warning_percent     = 2
  #   bounce_critical_percent    = 4    # critical pauses the set and its slices (breaker)
  #   complaint_warning_percent  = 0.05
  #   complaint_critical_percent = 0.08
  # }
}

# The configuration set that sends through the dedicated IP pool below: slice "at-de" names it
# for the share of its mail the pool's warm-up allows, and "transactional" for the rest.
configuration_set "at-dedicated" {
  account           = "media"
  region            = "eu-central-1"
  dedicated_ip_pool = "at-pool"
}

# A dedicated IP pool that slice "at-de" moves to. STANDARD: lease IPs and put them in the pool,
# then warm them up: from the start date the sender sends up to each day's allowance through the
# pool's configuration set and the rest through the slice's own set (the shared pool); nothing
# waits and no day goes over its cap. When the schedule ends, all of the slice's mail uses the
# pool. An hourly monitor checks the account's dedicated IPs against DNS blocklists and alarms
# on any listing. See modules/dedicated_ip_pool/README.md.
dedicated_ip_pool "at-pool" {
  account      = "media"
  region       = "eu-central-1"
  scaling_mode = "STANDARD"         # or MANAGED: SES sizes and warms the pool, no schedule
  slices       = ["at-de"]          # slices whose mail moves here
  # configuration_set = "at-dedicated" # default: the one configuration set naming this pool (above)

  warmup {
    start       = "2026-12-01"                      # first day (UTC)
    weekly_caps = [2000, 5000, 10000, 15000, 20000] # recipients per week; or daily_caps = [...]
    full_volume = 20000                             # per week once warm; the last cap must reach it
  }

  # blocklist_zones = ["bl.spamcop.net", "b.barracudacentral.org"] # the default
}

# An SMTP user for a system that can only send over SMTP. Terraform creates the IAM user (allowed
# ses:SendRawEmail as news.example.at only), an empty secret and its rotation; the rotation Lambda
# puts working credentials in the secret right after creation and every rotation_days after.
# No access key or password ever passes through Terraform. Applications read the secret:
# modules/smtp_user/README.md shows how.
smtp_user "legacy-crm" {
  account       = "media"
  region        = "eu-central-1"
  identities    = ["news.example.at"]
  rotation_days = 30 # 1-90
  # from_addresses           = ["crm@news.example.at"]  # default: any address of the identities
  # readers                  = ["arn:aws:iam::111111111111:role/legacy-crm"] # may read the secret
  # previous_key_grace_hours = 24                        # the old key keeps working this long
  # replica_regions          = ["eu-west-1"]             # read-only copies of the secret
  # configuration_set        = "transactional"
  # test_smtp_login          = true                      # log in over SMTP before promoting
}

# An SES tenant: its own reputation and sending status inside the account, so one customer's
# bounces pause that customer only (modules/tenant/README.md; envs/multi-region/tenants.hcl has
# one switched on, and a multi-region endpoint):
# tenant "newsroom" {
#   account = "media"
#   region  = "eu-central-1"
#   domains = ["news.example.at"]
# }

# The weekly bounce report: every Monday a Lambda reads the week's mail from the status table and
# writes report.html (for people), summary.csv and failures.csv into an encrypted S3 bucket
# (output bounce_report_bucket_name); the mail below carries the totals and a console link.
# See modules/bounce_report/README.md.
bounce_report {
  schedule       = "cron(0 6 ? * MON *)" # EventBridge Scheduler, in timezone
  timezone       = "Europe/Vienna"
  retention_days = 400 # reports expire after this many days

  mail {
    from = "reports@news.example.at" # a domain identity in every account-region with a report
    to   = ["postmaster@example.at"]
  }
}

# The scheduled suppression-list cleanup (optional; the same filters as `ses-ops suppression
# clean`): a Lambda in every stack (or those `accounts` / `regions` name) reads the account's
# suppression list each week. With delete = false (the default) it only logs what it would remove
# (log lines "suppression_would_remove"); set delete = true once that list looks right. It removes
# about 850 addresses per run (SES allows 1 request/s); clean a large backlog once with the CLI.
# See modules/suppression_cleanup/README.md.
# suppression_cleanup {
#   recipient_domains = ["privaterelay.appleid.com"] # Apple Hide My Email relay addresses
#   reasons           = ["BOUNCE"]                    # BOUNCE and/or COMPLAINT; default both
#   older_than_days   = 1                             # last updated over a day before the run
#   schedule          = "cron(0 5 ? * MON *)"         # EventBridge Scheduler, in timezone
#   timezone          = "Europe/Vienna"
#   delete            = false                         # report only
# }
