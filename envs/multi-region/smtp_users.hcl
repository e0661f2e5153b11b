# SMTP users: for systems that can only send over SMTP. Each gets an IAM user allowed to send as
# the listed identities, and a Secrets Manager secret whose credentials a Lambda rotates; no
# access key or password passes through Terraform. See modules/smtp_user/README.md.

# The shop's ERP sends order mail from two fixed addresses. Its role (in the same account) reads
# the secret; a replica in us-west-2 serves the ERP's standby site.
smtp_user "shop-erp" {
  account                  = "shop"
  region                   = "us-east-1"
  identities               = ["orders.shop.example.com"]
  from_addresses           = ["orders@orders.shop.example.com", "no-reply@orders.shop.example.com"]
  configuration_set        = "transactional"
  rotation_days            = 60
  previous_key_grace_hours = 48
  replica_regions          = ["us-west-2"]
  readers                  = ["arn:aws:iam::222222222222:role/shop-erp"]
}
