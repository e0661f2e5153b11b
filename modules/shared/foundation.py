"""``StackFoundation``: what the parts of one stack share - key, state table, alarm topic. The
stack creates it once, on the first request, and hands it to the slices, the heartbeat, the
reputation alarms, the pools and the housekeeping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktn import TerraformOutput
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy
from constructs import Construct

from modules.shared.iam import policy_document
from modules.shared.kms import KEY_LOGS_ACTIONS, account_administers_key
from modules.shared.storage import customer_key, encrypted_table
from modules.shared.validation import check_account_id, check_name, partition


@dataclass(frozen=True, kw_only=True)
class FoundationProps:
    """Inputs of :class:`StackFoundation`: what every slice of a stack shares.

    Attributes:
        environment: the environment name; prefixes every resource name.
        account_id: the stack's AWS account id (key policy, topic policy).
        region: the stack's region.
        tags: tags on every resource, merged over the provider's default tags. Default - none.
    """

    environment: str
    account_id: str
    region: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("environment", self.environment)
        check_account_id(self.account_id)

    @property
    def partition(self) -> str:
        return partition(self.region)


def key_policy_json(props: FoundationProps) -> str:
    """Key policy: the account administers (through IAM); CloudWatch Logs encrypts the
    environment's Lambda log groups; CloudWatch alarms publish to the encrypted alarm topic."""
    arn = f"arn:{props.partition}"
    log_groups = f"{arn}:logs:{props.region}:{props.account_id}:log-group:/aws/lambda/{props.environment}-*"
    return policy_document(
        "stack foundation",
        account_administers_key(props.partition, props.account_id),
        {
            "Sid": "CloudWatchLogsForLambdaLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{props.region}.amazonaws.com"},
            "Action": list(KEY_LOGS_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        },
        {
            # Alarm notifications to an SSE-KMS topic need the key; AWS documents no narrower form.
            "Sid": "CloudWatchAlarmsToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        },
    )


def alarm_topic_policy_json(props: FoundationProps, topic_arn: str) -> str:
    """Only CloudWatch alarms of this account and region may publish to the alarm topic."""
    alarms = f"arn:{props.partition}:cloudwatch:{props.region}:{props.account_id}:alarm:*"
    return policy_document(
        "stack foundation",
        {
            "Sid": "CloudWatchAlarmsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": props.account_id},
                "ArnLike": {"aws:SourceArn": alarms},
            },
        },
    )


STATE_TABLE_KEY = "pk"  # ledger (the account's send ledger), msg#<slice>#<message id>, warmup#<pool>#<day>
STATE_TABLE_TTL = "expires_at"  # epoch seconds


class StackFoundation(Construct):
    """One customer-managed KMS key, one DynamoDB state table and one alarm topic per stack.

    * ``aws_kms_key.sending`` (rotation on) + ``aws_kms_alias.sending`` (``alias/<env>-ses-sending``):
      encrypts the queues, the table, the topic, the log groups and the Lambda environments.
    * ``aws_dynamodb_table.sending_state`` (``<env>-ses-sending-state``): the slices' rate limiters
      and idempotency records; key ``pk`` (string), on-demand, point-in-time recovery, TTL on
      ``expires_at``, SSE with the key, deletion protection.
    * ``aws_sns_topic.alarms`` (``<env>-ses-alarms``): every alarm of the stack notifies it; only
      CloudWatch alarms of this account may publish. Subscribe your on-call to it.

    Example::

        foundation = StackFoundation(stack, "sending", FoundationProps(
            environment="prod", account_id="111111111111", region="eu-central-1"))
    """

    def __init__(self, scope: Construct, id_: str, props: FoundationProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        env = props.environment
        tags = dict(props.tags) or None
        self.key = customer_key(
            self,
            description=f"SES platform {env}: sending queues, state table, alarm topic, Lambda logs",
            alias=f"{env}-ses-sending",
            policy=key_policy_json(props),
            logical_id="sending",
            tags=tags,
        )
        self.state_table = encrypted_table(
            self, "state", name=f"{env}-ses-sending-state", hash_key=STATE_TABLE_KEY,
            ttl_attribute=STATE_TABLE_TTL, key=self.key, logical_id="sending_state", tags=tags,
        )  # fmt: skip
        self.alarm_topic = SnsTopic(
            self, "alarms", name=f"{env}-ses-alarms", kms_master_key_id=self.key.arn, tags=tags
        )
        self.alarm_topic.override_logical_id("alarms")
        SnsTopicPolicy(
            self,
            "alarms_policy",
            arn=self.alarm_topic.arn,
            policy=alarm_topic_policy_json(props, self.alarm_topic.arn),
        ).override_logical_id("alarms")
        TerraformOutput(
            self,
            "alarm_topic_arn_output",
            value=self.alarm_topic.arn,
            description=f"SNS topic all sending alarms of {env} in {props.region} notify; subscribe on-call",
        ).override_logical_id("alarm_topic_arn")
        TerraformOutput(
            self,
            "state_table_output",
            value=self.state_table.name,
            description="DynamoDB table holding the slices' rate limiters and idempotency records",
        ).override_logical_id("sending_state_table_name")

    @property
    def key_arn(self) -> str:
        return self.key.arn

    @property
    def table_name(self) -> str:
        return self.state_table.name

    @property
    def table_arn(self) -> str:
        return self.state_table.arn

    @property
    def alarm_topic_arn(self) -> str:
        return self.alarm_topic.arn
