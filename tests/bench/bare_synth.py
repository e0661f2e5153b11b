"""Baseline for the synth benchmark: import the same cdktn bindings, synthesize one empty stack."""

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdktn import App, TerraformStack
from cdktn_provider_aws import (  # noqa: F401 - imported for their cost, as the real synth does
    data_aws_secretsmanager_secret_version,
    iam_role_policy,
    provider,
    route53_record,
    sesv2_email_identity,
    sesv2_email_identity_mail_from_attributes,
)

app = App(outdir=sys.argv[1])
TerraformStack(app, "empty")
app.synth()
