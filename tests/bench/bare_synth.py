"""Baseline for the synth benchmark: import the same cdktn bindings, synthesize one empty stack."""

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdktn import App, TerraformStack
from cdktn_provider_aws import (  # noqa: F401 - imported for their cost, as the real synth does
    cloudwatch_log_group,
    cloudwatch_metric_alarm,
    data_aws_secretsmanager_secret_version,
    dynamodb_table,
    iam_role,
    iam_role_policy,
    kms_alias,
    kms_key,
    lambda_event_source_mapping,
    lambda_function,
    provider,
    route53_record,
    scheduler_schedule,
    sesv2_email_identity,
    sesv2_email_identity_mail_from_attributes,
    sfn_state_machine,
    sns_topic,
    sns_topic_policy,
    sqs_queue,
    sqs_queue_redrive_allow_policy,
)

app = App(outdir=sys.argv[1])
TerraformStack(app, "empty")
app.synth()
