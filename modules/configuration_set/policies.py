"""Key and topic policies of a configuration set's SNS destination, as JSON strings."""

from __future__ import annotations

import json

from modules.configuration_set.props import ConfigurationSetProps
from modules.shared.kms import account_administers_key


def _ses_of_this_set(props: ConfigurationSetProps) -> dict[str, object]:
    """SES acting for this account and this configuration set only (confused-deputy guard)."""
    return {
        "StringEquals": {"aws:SourceAccount": props.account_id},
        "ArnEquals": {"aws:SourceArn": props.arn},
    }


def events_key_policy_json(props: ConfigurationSetProps) -> str:
    """The account administers the key through IAM; SES may encrypt for this set's topic only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                account_administers_key(props.partition, props.account_id),
                {
                    # Publishing to an SSE-KMS topic needs a data key from the publisher's side.
                    "Sid": "SesPublishesThisSetsEvents",
                    "Effect": "Allow",
                    "Principal": {"Service": "ses.amazonaws.com"},
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": _ses_of_this_set(props),
                },
            ],
        }
    )


def events_topic_policy_json(props: ConfigurationSetProps, topic_arn: str) -> str:
    """Only SES of this account, for this configuration set, may publish to the topic."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SesOfThisAccountAndSet",
                    "Effect": "Allow",
                    "Principal": {"Service": "ses.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": _ses_of_this_set(props),
                }
            ],
        }
    )
