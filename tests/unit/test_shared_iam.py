from __future__ import annotations

import json

import pytest

from modules.shared.iam import policy_document


def test_a_document_holds_its_statements_in_order_under_the_iam_version() -> None:
    first = {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "arn:aws:sqs:eu-central-1:1:q"}
    second = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    assert json.loads(policy_document("sender", first, second)) == {
        "Version": "2012-10-17",
        "Statement": [first, second],
    }


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}, "named one by one, got sqs:*"),
        ({"Effect": "Allow", "Action": ["kms:Decrypt", "s3:Get*"], "Resource": "*"}, "got s3:Get*"),
        ({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}, "NotAction grants everything"),
    ],
)
def test_a_wildcard_action_is_refused_naming_the_policy(statement: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match="policy 'heartbeat'") as refused:
        policy_document("heartbeat", statement)
    assert says in str(refused.value)
