"""tf-check's parts that need no terraform: finding the provider mirror, what an older provider
lacks (left out by the provider's schema against the bindings, never by name alone), and the
generated test file. The real runs are in tests/integration/test_tf_check.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modules.platform.tf_prepare import leave_out, required_version, tftest_file
from modules.platform.tf_provider import bindings, cli_config, find_mirror

# The part of a provider schema (`terraform providers schema -json`) these tests need.
SCHEMA: dict[str, Any] = {
    "provider": {
        "block": {
            "attributes": {
                "region": {"type": "string", "optional": True},
                "allowed_account_ids": {"type": ["set", "string"], "optional": True},
            }
        }
    },
    "resource_schemas": {
        "aws_kms_replica_key": {
            "block": {
                "attributes": {
                    "primary_key_arn": {"type": "string", "required": True},
                    "arn": {"type": "string", "computed": True},
                    "key_id": {"type": "string", "computed": True},
                }
            }
        },
        "aws_sesv2_email_identity": {
            "block": {
                "attributes": {
                    "email_identity": {"type": "string", "required": True},
                    "arn": {"type": "string", "computed": True},
                },
                "block_types": {
                    "dkim_signing_attributes": {
                        "nesting_mode": "list",
                        "max_items": 1,
                        "block": {
                            "attributes": {
                                "next_signing_key_length": {"type": "string", "optional": True},
                                "tokens": {"type": ["list", "string"], "computed": True},
                            }
                        },
                    }
                },
            }
        },
        "aws_sqs_queue": {
            "block": {
                "attributes": {
                    "name": {"type": "string", "optional": True},
                    "url": {"type": "string", "computed": True},
                }
            }
        },
    },
    "data_source_schemas": {},
}


def stack(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "6.69.1"}}},
        "provider": {"aws": [{"region": "eu-central-1", "allowed_account_ids": ["111111111111"]}]},
        "resource": resources,
        "output": outputs or {},
    }


def test_a_type_the_provider_lacks_but_the_bindings_know_is_left_out_with_what_refers_to_it() -> None:
    document = stack(
        {
            "aws_sesv2_tenant": {"shop": {"tenant_name": "shop"}},
            "aws_sqs_queue": {
                "q": {"name": "q"},
                "per_tenant": {"name": "${aws_sesv2_tenant.shop.tenant_name}"},
            },
        },
        {
            "tenant_arn": {"value": "${aws_sesv2_tenant.shop.arn}"},
            "queue": {"value": "${aws_sqs_queue.q.url}"},
        },
    )
    kept, left = leave_out(document, SCHEMA, provider_version="5.100.0")
    assert [str(item) for item in left] == [
        "resource aws_sesv2_tenant.shop: type aws_sesv2_tenant is in the bindings' provider 6.69.1, "
        "not in 5.100.0",
        "resource aws_sqs_queue.per_tenant: refers to aws_sesv2_tenant.shop, left out",
        "output tenant_arn: refers to aws_sesv2_tenant.shop, left out",
    ]
    assert list(kept["resource"]) == ["aws_sqs_queue"]
    assert list(kept["resource"]["aws_sqs_queue"]) == ["q"]
    assert list(kept["output"]) == ["queue"]
    assert "aws_sesv2_tenant" in document["resource"]  # the input is not changed


def test_a_type_unknown_to_the_bindings_too_is_kept_for_terraform_to_refuse() -> None:
    document = stack({"aws_sesv2_tenantt": {"typo": {"tenant_name": "t"}}})
    kept, left = leave_out(document, SCHEMA, provider_version="5.100.0")
    assert left == []
    assert "aws_sesv2_tenantt" in kept["resource"]


def test_an_argument_the_provider_lacks_is_stripped_only_if_the_bindings_document_it() -> None:
    document = stack(
        {
            "aws_kms_replica_key": {
                "k": {"primary_key_arn": "arn", "region": "us-west-2", "regionn": "typo"}
            },
            "aws_sesv2_email_identity": {
                "d": {
                    "email_identity": "a.example",
                    "dkim_signing_attributes": {"next_signing_key_length": "X"},
                }
            },
        }
    )
    kept, left = leave_out(document, SCHEMA, provider_version="5.100.0")
    assert [str(item) for item in left] == [
        "argument aws_kms_replica_key.k.region: in the bindings' provider 6.69.1, not in 5.100.0"
    ]
    assert kept["resource"]["aws_kms_replica_key"]["k"] == {"primary_key_arn": "arn", "regionn": "typo"}


def test_the_bindings_name_their_provider_version_and_arguments_from_their_docs() -> None:
    known = bindings("resource", "aws_kms_replica_key")
    assert known.version == "6.69.1"
    assert {"region", "primary_key_arn", "deletion_window_in_days"} <= known.names
    assert not bindings("resource", "aws_no_such_thing").known


def test_the_test_file_mocks_arns_urls_and_dkim_tokens_then_plans_and_applies() -> None:
    document = stack(
        {
            "aws_sesv2_email_identity": {"d": {"email_identity": "a.example"}},
            "aws_sqs_queue": {"q": {"name": "q"}},
            "aws_kms_replica_key": {"k": {"primary_key_arn": "x"}},
        }
    )
    text = tftest_file(document, SCHEMA)
    assert 'mock_provider "aws" {' in text
    assert '"arn" = "arn:aws:ses:eu-central-1:111111111111:sesv2_email_identity/mock"' in text
    assert '"dkim_signing_attributes" = { "tokens" = [' in text  # one block: an object, as mocks want
    assert '"url" = "https://sqs.eu-central-1.amazonaws.com/111111111111/mock"' in text
    assert '"key_id" = "11111111-2222-3333-4444-555555555555"' in text
    assert 'run "plan" {\n  command = plan\n}' in text
    assert 'run "apply" {\n  command = apply\n}' in text


def test_each_provider_alias_gets_its_own_mocked_provider() -> None:
    document = stack({"aws_sqs_queue": {"q": {"name": "q"}}})
    document["provider"]["aws"].append({"alias": "west", "region": "eu-west-1"})
    text = tftest_file(document, SCHEMA)
    assert text.count('mock_provider "aws" {') == 2
    assert 'alias = "west"' in text


def test_the_pinned_version_is_read_from_required_providers() -> None:
    assert required_version(stack({})) == "6.69.1"
    assert required_version({"terraform": {}}) is None


# --- the mirror ------------------------------------------------------------------------------


def unpacked(root: Path, version: str, host: str = "registry.terraform.io") -> Path:
    folder = root / host / "hashicorp" / "aws" / version / "linux_amd64"
    folder.mkdir(parents=True)
    (folder / f"terraform-provider-aws_v{version}_x5").write_text("binary")
    return root


def test_a_named_mirror_lists_its_versions_oldest_first_packed_or_unpacked(tmp_path: Path) -> None:
    unpacked(tmp_path, "5.100.0")
    unpacked(tmp_path, "5.9.0")
    (
        tmp_path / "registry.terraform.io/hashicorp/aws/terraform-provider-aws_6.1.0_linux_amd64.zip"
    ).write_text("")
    mirror = find_mirror(str(tmp_path), host="registry.terraform.io")
    assert mirror is not None
    assert mirror.versions == ("5.9.0", "5.100.0", "6.1.0")
    assert mirror.newest == "6.1.0"


def test_a_named_mirror_without_the_provider_is_an_error_not_the_registry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no registry\.terraform\.io/hashicorp/aws provider in this mirror"):
        find_mirror(str(tmp_path), host="registry.terraform.io")


def test_tf_plugin_mirror_names_the_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(unpacked(tmp_path, "5.100.0")))
    mirror = find_mirror(None, host="registry.terraform.io")
    assert mirror is not None
    assert mirror.path == tmp_path


def test_the_cli_config_installs_the_aws_provider_from_the_mirror_only(tmp_path: Path) -> None:
    mirror = find_mirror(str(unpacked(tmp_path, "5.100.0")), host="registry.terraform.io")
    assert mirror is not None
    text = cli_config(mirror)
    assert f"filesystem_mirror {{\n    path    = {json.dumps(str(tmp_path))}" in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_a_relative_work_folder_gives_terraform_an_absolute_cli_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """make tf-check passes cdktf.out/tf-check; terraform runs in each stack's folder."""
    from modules.platform.tf_check import context

    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(unpacked(tmp_path / "mirror", "5.100.0")))
    monkeypatch.chdir(tmp_path)
    ctx = context("terraform", Path("cdktf.out/tf-check"), None)
    config = Path(ctx.env["TF_CLI_CONFIG_FILE"])
    assert config.is_absolute()
    assert config.is_file()
