"""The stack as a whole: providers per region, state backends, outputs, environments, bootstrap."""

import json

import pytest
from conftest import THREE_REGIONS, one, resources

from constructs_lib.settings import StackConfig

REGIONS = ("us-east-1", "us-west-2")


def every_block(stack):
    for section in ("resource", "data"):
        for kind, blocks in stack.get(section, {}).items():
            for name, block in blocks.items():
                yield f"{section}.{kind}.{name}", block


def test_one_aliased_provider_per_region_with_default_tags(dev):
    providers = dev["provider"]["aws"]
    assert [(p["alias"], p["region"]) for p in providers] == [(r, r) for r in REGIONS]
    for provider in providers:
        assert provider["default_tags"] == [
            {
                "tags": {
                    "Environment": "dev",
                    "ManagedBy": "cdktf",
                    "Project": "iac-aws-nova",
                    "Region": provider["region"],
                }
            }
        ]


def test_every_resource_and_data_source_names_its_regions_provider(dev):
    for where, block in every_block(dev):
        assert block.get("provider") in {f"aws.{r}" for r in REGIONS}, where


def test_regional_resources_use_their_own_regions_provider(dev):
    for where, block in every_block(dev):
        path = block["//"]["metadata"]["path"]
        region = path.split("/")[1]
        if region in REGIONS:
            assert block["provider"] == f"aws.{region}", where


def test_extra_tags_join_the_default_tags(custom):
    stack = custom
    assert stack["provider"]["aws"][0]["default_tags"][0]["tags"]["CostCenter"] == "42"


def test_each_stack_has_a_local_state_file_of_its_own_by_default(default_synth):
    """Relative to the stack's directory: next to cdktf.out, so deleting it never deletes state."""
    for name, stack in default_synth.stacks.items():
        assert stack["terraform"]["backend"] == {"local": {"path": f"../../../terraform.{name}.tfstate"}}


def test_no_absolute_paths_anywhere_in_the_json(default_synth):
    for name, stack in default_synth.stacks.items():
        text = json.dumps(stack)
        assert str(default_synth.outdir) not in text, name
        # Every string value (not the text inside an expression, where "/" may be a separator).
        strings = [v for v in _strings(stack) if v.startswith("/")]
        assert [s for s in strings if not s.startswith(("/aws/", "//"))] == [], name


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def test_s3_backend_when_a_state_bucket_is_configured(synth):
    from conftest import CUSTOM

    for part in ("global", "eu-west-1", "edge"):
        backend = synth(CUSTOM).stacks[f"iac-aws-nova-prod-{part}"]["terraform"]["backend"]
        assert backend == {
            "s3": {
                "bucket": "acme-tfstate",
                "key": f"iac-aws-nova/prod/{part}.tfstate",
                "region": "eu-west-1",
                "encrypt": True,
                "use_lockfile": True,
            }
        }


def test_with_a_bucket_per_region_each_regional_state_stays_in_its_region(synth):
    """A region's outage then never blocks the state of another region's stack."""
    app = synth(StackConfig(state_bucket="acme-tfstate-{region}", state_key="states/{stack}/terraform.tfstate"))
    expected = {
        "global": "us-east-1",
        "us-east-1": "us-east-1",
        "us-west-2": "us-west-2",
        "edge": "us-east-1",  # the home region
    }
    for part, region in expected.items():
        backend = app.stacks[f"iac-aws-nova-dev-{part}"]["terraform"]["backend"]["s3"]
        assert (backend["bucket"], backend["region"], backend["key"]) == (
            f"acme-tfstate-{region}",
            region,
            f"states/{part}/terraform.tfstate",
        )


@pytest.mark.parametrize("output", ["api_urls", "lambda_arns", "s3_buckets", "vpc_ids"])
def test_outputs_are_maps_keyed_by_region(dev, output):
    assert sorted(dev["output"][output]["value"]) == sorted(REGIONS)


def test_dashboard_name_output(dev):
    assert dev["output"]["dashboard_name"]["value"] == "iac-aws-nova-dashboard-us-east-1-dev"


def test_region_count_scales_the_regional_resources(synth):
    three = synth(THREE_REGIONS).stack()
    # Each region: the API function and the worker.
    assert len(resources(three, "aws_lambda_function")) == 6
    assert len(three["provider"]["aws"]) == 3
    assert len(resources(three, "aws_cloudwatch_dashboard")) == 1


def test_environments_are_separate_stacks(two_environments):
    app = two_environments
    parts = {"dev": ("edge", "global", "us-east-1"), "prod": ("edge", "global", "us-east-1", "us-west-2")}
    assert sorted(app.stacks) == ["iac-aws-nova-bootstrap"] + [
        f"iac-aws-nova-{environment}-{part}" for environment in ("dev", "prod") for part in parts[environment]
    ]
    prod = app.stack("iac-aws-nova-prod")
    api_functions = [f for f in resources(prod, "aws_lambda_function") if "-fn-" in f["function_name"]]
    assert {f["memory_size"] for f in api_functions} == {512}


def test_environments_never_share_a_name_or_a_state_file(two_environments):
    app = two_environments
    dev, prod = app.stack("iac-aws-nova-dev"), app.stack("iac-aws-nova-prod")
    name_keys = ("name", "function_name", "alarm_name", "dashboard_name", "bucket")

    def names(stack):
        # These names are scoped to their function, API or log group, not to the account and region.
        scoped = (
            ".aws_lambda_alias.",
            ".aws_api_gateway_request_validator.",
            ".aws_api_gateway_authorizer.",
            ".aws_cloudwatch_log_metric_filter.",
        )
        return {
            b[k]
            for where, b in every_block(stack)
            for k in name_keys
            # A name with a reference in it is made unique by that reference (an API's id).
            if isinstance(b.get(k), str) and "${" not in b[k] and not any(s in where for s in scoped)
        }

    assert names(dev) and not names(dev) & names(prod)
    backends = [json.dumps(stack["terraform"]["backend"]) for name, stack in app.stacks.items()]
    assert len(set(backends)) == len(backends)


# -- bootstrap ----------------------------------------------------------------------------------
def test_bootstrap_state_bucket_is_versioned_encrypted_private(default_synth):
    bootstrap = default_synth.stack("iac-aws-nova-bootstrap")
    bucket = one(resources(bootstrap, "aws_s3_bucket"))
    assert bucket["bucket"].startswith("iac-aws-nova-tfstate-us-east-1-shared-")
    assert one(resources(bootstrap, "aws_s3_bucket_versioning"))["versioning_configuration"] == {"status": "Enabled"}
    assert one(resources(bootstrap, "aws_s3_bucket_server_side_encryption_configuration"))
    block = one(resources(bootstrap, "aws_s3_bucket_public_access_block"))
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )


def test_bootstrap_keeps_local_state(default_synth):
    bootstrap = default_synth.stack("iac-aws-nova-bootstrap")
    assert bootstrap["terraform"]["backend"] == {"local": {"path": "../../../terraform.iac-aws-nova-bootstrap.tfstate"}}


def test_bootstrap_sets_api_gateway_cloudwatch_role_in_every_region(default_synth):
    bootstrap = default_synth.stack("iac-aws-nova-bootstrap")
    accounts = resources(bootstrap, "aws_api_gateway_account")
    assert sorted(a["provider"] for a in accounts) == ["aws.us-east-1", "aws.us-west-2"]
    assert all(a["cloudwatch_role_arn"].startswith("${aws_iam_role.") for a in accounts)


def test_bootstrap_creates_the_configured_state_bucket(synth):
    from conftest import CUSTOM

    app = synth(CUSTOM)
    bucket = one(resources(app.stack("iac-aws-nova-bootstrap"), "aws_s3_bucket"))
    assert bucket["bucket"] == "acme-tfstate"
