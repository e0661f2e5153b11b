# SES tenants and a multi-region endpoint (modules/tenant/README.md,
# modules/multi_region_endpoint/README.md).

# A tenant lives in one account-region and groups identities and configuration sets of it.
tenant "shop-orders" {
  account            = "shop"
  region             = "us-east-1"
  domains            = ["orders.shop.example.com"]
  configuration_sets = ["transactional"]
}

# A global endpoint: applications send with its EndpointId and SES uses both regions. The first
# region is the primary: its stack (multi-region-media-eu-central-1) creates the endpoint. The
# sending domains must be verified in both regions (news.example.at is).
multi_region_endpoint "news-global" {
  account = "media"
  regions = ["eu-central-1", "eu-west-1"]
}
