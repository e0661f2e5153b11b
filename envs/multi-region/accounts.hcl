# Two accounts, three account-regions: one Terraform stack per (environment, account, region),
# so every stack plans and applies on its own and a mistake stays inside one account-region.
# The two media stacks share an account: names AWS keeps unique per account (IAM roles,
# dashboards) carry the region, and synth refuses any name two stacks would both create.
# (These are not envs/example's accounts: two envs in one account must not claim one domain.)

environment = "multi-region"
tags = {
  team        = "platform"
  cost_center = "email"
}

backend "s3" {
  bucket     = "acme-ses-terraform-state"
  region     = "eu-central-1"
  key_prefix = "ses-platform/multi-region"
  kms_key_id = "alias/terraform-state"
}

account "media" {
  id       = "333333333333"
  role_arn = "arn:aws:iam::333333333333:role/ses-platform-terraform"

  # Both media regions run the whole set: slice, event pipeline, bounce report, heartbeat,
  # a warming-up dedicated IP pool and the suppression-list cleanup, side by side.
  region "eu-central-1" {
    max_send_rate    = 100
    max_24_hour_send = 500000

    heartbeat {
      headroom = 0.95
    }
  }
  region "eu-west-1" {
    max_send_rate    = 50
    max_24_hour_send = 200000

    heartbeat {}
  }
}

account "shop" {
  id          = "222222222222"
  role_arn    = "arn:aws:iam::222222222222:role/ses-platform-terraform"
  external_id = "ses-platform"

  region "us-east-1" {
    max_send_rate    = 200
    max_24_hour_send = 1000000

    # Share the quota among this region's two slices every second, by backlog; hand out at most
    # 95 % of max_send_rate (0 < headroom <= 1). Writing the block switches the heartbeat on.
    heartbeat {
      headroom = 0.95
    }

    # The event pipeline of this account-region's configuration sets: also send each event to
    # the SQS queue multi-region-ses-event-status, where the shop's order service reads it.
    events {
      status_queue    = true
      status_ttl_days = 90
    }
  }
}
