"""SES tenants and multi-region endpoints: env HCL → config → constructs → the owning stack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.multi_region_endpoint.props import MultiRegionEndpointProps
from modules.tenant.props import TenantProps
from tests.unit.test_config import account, domain, load_tmp, problems_of, region, ses

TWO_REGIONS = region("eu-central-1") + region("eu-west-1")
ENDPOINT = 'multi_region_endpoint "global" {{\n account = "media"\n regions = [{regions}]\n}}'


def test_a_tenant_block_is_read_into_its_stack(tmp_path: Path) -> None:
    env = load_tmp(
        tmp_path,
        ses(
            account(),
            domain(),
            'tenant "acme" {\n account = "media"\n region = "eu-central-1"\n domains = ["news.example.at"]\n'
            ' configuration_sets = ["transactional"]\n}',
            'configuration_set "transactional" {\n account = "media"\n region = "eu-central-1"\n}',
        ),
    )
    (stack,) = env.stacks()
    assert [t.name for t in stack.tenants] == ["acme"]
    assert stack.tenants[0].domains == ("news.example.at",)
    assert stack.tenants[0].configuration_sets == ("transactional",)


def test_a_tenant_domain_must_be_a_domain_of_its_account_region(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        ses(account(), domain(), 'tenant "acme" {\n account = "media"\n region = "eu-central-1"\n'
            ' domains = ["other.example.at"]\n}'),
    )  # fmt: skip
    assert problems == [
        'bad/ses.hcl: tenant "acme".domains[0]: "other.example.at" is not a domain of account "media" '
        "in eu-central-1 (domains there: news.example.at)"
    ]


def test_a_tenant_configuration_set_must_be_declared_in_its_account_region(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        ses(account(), domain(), 'tenant "acme" {\n account = "media"\n region = "eu-central-1"\n'
            ' configuration_sets = ["transactionl"]\n}',
            'configuration_set "transactional" {\n account = "media"\n region = "eu-central-1"\n}'),
    )  # fmt: skip
    assert problems == [
        'bad/ses.hcl: tenant "acme".configuration_sets[0]: no configuration_set "transactionl" in account '
        '"media" eu-central-1 (declared there: transactional; one managed elsewhere needs a block with '
        "external = true)"
    ]


def test_a_tenant_with_an_unknown_key_or_bad_name_is_rejected(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, ses(account(), 'tenant "a b" {\n account = "media"\n region = "eu-central-1"\n}')
    )
    assert problems == ['bad/ses.hcl: tenant "a b": tenant name must be 1-64 letters, digits, _ and -']


def test_a_multi_region_endpoint_belongs_to_the_stack_of_its_primary_region(tmp_path: Path) -> None:
    env = load_tmp(
        tmp_path,
        ses(
            account(region=TWO_REGIONS),
            domain('regions = ["eu-central-1", "eu-west-1"]'),
            ENDPOINT.format(regions='"eu-west-1", "eu-central-1"'),
        ),
    )
    owners = {s.region.name: [m.name for m in s.multi_region_endpoints] for s in env.stacks()}
    assert owners == {"eu-central-1": [], "eu-west-1": ["global"]}


def test_a_multi_region_endpoint_needs_exactly_two_regions(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        ses(
            account(), 'multi_region_endpoint "global" {\n account = "media"\n regions = ["eu-central-1"]\n}'
        ),
    )
    assert len(problems) == 1
    assert problems[0].startswith('bad/ses.hcl: multi_region_endpoint "global".regions: [primary, secondary]')


def test_a_multi_region_endpoint_needs_a_domain_verified_in_both_regions(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        ses(
            account(region=TWO_REGIONS),
            domain('regions = ["eu-central-1"]'),
            ENDPOINT.format(regions='"eu-central-1", "eu-west-1"'),
        ),
    )
    assert problems == [
        'bad/ses.hcl: multi_region_endpoint "global".regions: no domain of account "media" is in both '
        "eu-central-1 and eu-west-1; SES sends through the endpoint only for identities verified in "
        "both regions"
    ]


def test_tenant_props_reject_a_name_ses_would_refuse() -> None:
    with pytest.raises(ValueError, match="tenant_name must be 1-64 letters, digits, _ and -, got 'a b'"):
        TenantProps(tenant_name="a b", account_id="111111111111", region="eu-central-1")


def test_endpoint_props_reject_the_same_region_twice() -> None:
    with pytest.raises(ValueError, match="secondary_region must differ"):
        MultiRegionEndpointProps(endpoint_name="x", primary_region="eu-west-1", secondary_region="eu-west-1")


def test_a_tenant_associates_each_identity_and_configuration_set(
    synth: Callable[..., dict[str, Any]],
) -> None:
    from modules.tenant.construct import Tenant

    props = TenantProps(
        tenant_name="acme",
        account_id="111111111111",
        region="eu-central-1",
        identity_arns=["arn:aws:ses:eu-central-1:111111111111:identity/news.example.at"],
        configuration_set_names=["transactional"],
        tags={"owner": "acme"},
    )
    document = synth(lambda stack: Tenant(stack, "tenant", props))
    resources = document["resource"]
    assert resources["aws_sesv2_tenant"]["tenant_acme"]["tenant_name"] == "acme"
    assert resources["aws_sesv2_tenant"]["tenant_acme"]["tags"] == {"owner": "acme"}
    associations = resources["aws_sesv2_tenant_resource_association"]
    assert {a["resource_arn"] for a in associations.values()} == {
        "arn:aws:ses:eu-central-1:111111111111:identity/news.example.at",
        "arn:aws:ses:eu-central-1:111111111111:configuration-set/transactional",
    }
    # Each association names the tenant through the resource, so Terraform creates the tenant first.
    assert all("aws_sesv2_tenant.tenant_acme" in a["tenant_name"] for a in associations.values())
    assert set(document["output"]) == {"tenant_acme_arn", "tenant_acme_id"}


def test_an_endpoint_routes_to_its_secondary_region(synth: Callable[..., dict[str, Any]]) -> None:
    from modules.multi_region_endpoint.construct import MultiRegionEndpoint

    props = MultiRegionEndpointProps(
        endpoint_name="global", primary_region="eu-central-1", secondary_region="eu-west-1"
    )
    document = synth(lambda stack: MultiRegionEndpoint(stack, "mre", props))
    endpoint = document["resource"]["aws_sesv2_multi_region_endpoint"]["multi_region_endpoint_global"]
    assert endpoint["endpoint_name"] == "global"
    assert endpoint["details"] == [{"routes_details": [{"region": "eu-west-1"}]}]
    assert document["output"]["multi_region_endpoint_global_id"]["description"].startswith("EndpointId")


def test_the_multi_region_env_creates_its_endpoint_and_tenant_in_the_owning_stacks(
    synthesized_env: Any,
) -> None:
    documents = synthesized_env("multi-region").documents()
    endpoints = {
        name: list(doc["resource"].get("aws_sesv2_multi_region_endpoint", {}))
        for name, doc in documents.items()
    }
    tenants = {name: list(doc["resource"].get("aws_sesv2_tenant", {})) for name, doc in documents.items()}
    assert endpoints == {
        "multi-region-media-eu-central-1": ["multi_region_endpoint_news_global"],
        "multi-region-media-eu-west-1": [],
        "multi-region-shop-us-east-1": [],
    }
    assert tenants["multi-region-shop-us-east-1"] == ["tenant_shop_orders"]
    shop = documents["multi-region-shop-us-east-1"]["resource"]
    association = shop["aws_sesv2_tenant_resource_association"][
        "tenant_shop_orders_configuration_set_transactional"
    ]
    assert association["depends_on"] == ["aws_sesv2_configuration_set.transactional"]  # the set exists first
