"""The synthetic canary in every region: its script (canary_src, tested in test_canary.py) run on a
schedule against the region's public API, its artifacts, its role and its alarm."""

import json
import zipfile

import pytest
from conftest import GLOBAL, address_at, one, policy_statements, region_key_arn, resource_at, resources

from constructs_lib.settings import ConfigError, StackConfig


@pytest.fixture(scope="module")
def app(variants):
    """The VARIANTS app: its environment ``watched`` (eu-west-1) has a canary every 5 minutes."""
    return variants


@pytest.fixture(scope="module")
def watched(app):
    return app.stack("variant-watched")


def test_no_canary_unless_asked(dev):
    assert not resources(dev, "aws_synthetics_canary")


def test_the_canary_calls_the_regions_api_every_interval(watched):
    canary = one(resources(watched, "aws_synthetics_canary"))
    stage = address_at(watched, "aws_api_gateway_stage", "eu-west-1/api/stage")
    assert (canary["runtime_version"], canary["handler"]) == ("syn-python-selenium-14.0", "api_canary.handler")
    assert canary["schedule"] == {"expression": "rate(5 minutes)"}
    assert canary["run_config"]["environment_variables"] == {
        "API_BASE_URL": f"${{{stage}.invoke_url}}/api",
        "EXPECTED_REGION": "eu-west-1",
        "API_KEY_SECRET_ID": "variant-api-key-watched",
    }
    # No active tracing: Synthetics traces Node.js canaries only.
    assert canary["start_canary"] is True and "active_tracing" not in canary["run_config"]
    assert len(canary["name"]) <= 21 and canary["name"] == canary["name"].lower()


def test_its_artifacts_are_encrypted_and_expire(watched):
    canary = one(resources(watched, "aws_synthetics_canary"))
    bucket = address_at(watched, "aws_s3_bucket", "eu-west-1/canary/artifacts/bucket")
    assert canary["artifact_s3_location"] == f"s3://${{{bucket}.bucket}}/{canary['name']}/"
    assert canary["artifact_config"] == {
        "s3_encryption": {"encryption_mode": "SSE_KMS", "kms_key_arn": region_key_arn(watched, "eu-west-1")}
    }
    lifecycle = resource_at(watched, "aws_s3_bucket_lifecycle_configuration", "eu-west-1/canary/artifacts/lifecycle")
    assert lifecycle["rule"][0]["expiration"] == [{"days": 30}]


def test_the_package_is_the_script_where_the_python_runtime_looks(app, watched):
    canary = one(resources(watched, "aws_synthetics_canary"))
    package = app.outdir / "stacks" / "variant-watched-eu-west-1" / canary["zip_file"]
    assert zipfile.ZipFile(package).namelist() == ["python/api_canary.py"]


def test_the_canarys_role_reads_only_the_regions_api_key_and_writes_its_artifacts(watched):
    canary = one(resources(watched, "aws_synthetics_canary"))
    [policy] = [p for p in resources(watched, "aws_iam_role_policy") if "_canary_" in p["role"]]
    statements = {s["sid"]: s for s in policy_statements(watched, policy["policy"])}
    [secret] = statements["ReadTheApiKey"]["resources"]
    assert secret.startswith("arn:aws:secretsmanager:eu-west-1:${data.aws_caller_identity.")
    assert secret.endswith(".account_id}:secret:variant-api-key-watched-??????")  # the region's copy
    assert statements["PublishCanaryMetrics"]["condition"][0]["values"] == ["CloudWatchSynthetics"]
    assert statements["WriteItsLogs"]["resources"][0].endswith(f":log-group:/aws/lambda/cwsyn-{canary['name']}-*")
    assert statements["UseTheKeyThroughS3AndSecrets"]["condition"][0]["values"] == [
        "s3.eu-west-1.amazonaws.com",
        "secretsmanager.eu-west-1.amazonaws.com",
    ]


def test_an_alarm_fires_when_the_canary_fails_or_stops(watched):
    canary = address_at(watched, "aws_synthetics_canary", "eu-west-1/canary/canary")
    alarm = resource_at(watched, "aws_cloudwatch_metric_alarm", "eu-west-1/canary/alarm")
    assert (alarm["namespace"], alarm["metric_name"], alarm["dimensions"]) == (
        "CloudWatchSynthetics",
        "SuccessPercent",
        {"CanaryName": f"${{{canary}.name}}"},
    )
    assert (alarm["threshold"], alarm["comparison_operator"], alarm["period"]) == (100, "LessThanThreshold", 300)
    # No result is not a success: a canary that stopped is reported.
    assert alarm["treat_missing_data"] == "breaching"
    topic = address_at(watched, "aws_sns_topic", "eu-west-1/monitoring/alarm-topic")
    assert alarm["alarm_actions"] == [f"${{{topic}.arn}}"]


def test_the_dashboard_shows_each_regions_canary(watched):
    canary = one(resources(watched, "aws_synthetics_canary"))
    body = json.loads(one(resources(watched, "aws_cloudwatch_dashboard"))["dashboard_body"])
    [panel] = [w["properties"] for w in body["widgets"] if w["properties"]["title"] == "Canary success (%)"]
    assert [m[:4] for m in panel["metrics"]] == [
        ["CloudWatchSynthetics", "SuccessPercent", "CanaryName", canary["name"]]
    ]


# --------------------------------------------------------------------------- the watch of us-east-1


@pytest.fixture(scope="module")
def global_app(synth):
    """GLOBAL: us-east-1 and eu-west-1 (the home region) behind a domain."""
    return synth(GLOBAL)


def test_another_region_watches_us_east_1_by_its_own_name(global_app):
    """The health alarms live in us-east-1: its own outage is reported from the home region."""
    watching = global_app.stacks["iac-aws-nova-dev-eu-west-1"]
    canary = resource_at(watching, "aws_synthetics_canary", "eu-west-1/outside-watch/canary")
    assert canary["run_config"]["environment_variables"] == {
        "API_BASE_URL": "https://us-east-1.api.example.com/api",
        "EXPECTED_REGION": "us-east-1",
        "CHECKS": "health",
    }
    assert canary["provider"] == "aws.eu-west-1" and canary["schedule"] == {"expression": "rate(5 minutes)"}
    assert len(canary["name"]) <= 21 and canary["name"] == canary["name"].lower()
    # Only that one: us-east-1 watches nobody, and eu-west-1 has no canary of its own (not asked).
    everywhere = [c for stack in global_app.stacks.values() for c in resources(stack, "aws_synthetics_canary")]
    assert everywhere == [canary]


def test_the_watchs_alarm_is_on_the_watchers_topic_and_breaches_when_silent(global_app):
    watching = global_app.stacks["iac-aws-nova-dev-eu-west-1"]
    canary = address_at(watching, "aws_synthetics_canary", "eu-west-1/outside-watch/canary")
    alarm = resource_at(watching, "aws_cloudwatch_metric_alarm", "eu-west-1/outside-watch/alarm")
    topic = address_at(watching, "aws_sns_topic", "eu-west-1/monitoring/alarm-topic")
    assert alarm["dimensions"] == {"CanaryName": f"${{{canary}.name}}"}
    assert (alarm["alarm_actions"], alarm["ok_actions"]) == ([f"${{{topic}.arn}}"], [f"${{{topic}.arn}}"])
    assert alarm["treat_missing_data"] == "breaching"
    assert alarm["alarm_name"] == "iac-aws-nova-watch-us-east-1-dev"
    assert alarm["alarm_description"].endswith("(runbook: docs/runbooks/watch.md)")


def test_the_watch_reads_no_secret_and_keeps_its_own_bucket_and_role(global_app):
    watching = global_app.stacks["iac-aws-nova-dev-eu-west-1"]
    [policy] = [p for p in resources(watching, "aws_iam_role_policy") if "_outside-watch_" in p["role"]]
    statements = {s["sid"] for s in policy_statements(watching, policy["policy"])}
    assert "ReadTheApiKey" not in statements and "WriteArtifacts" in statements
    role = resource_at(watching, "aws_iam_role", "eu-west-1/outside-watch/role")
    bucket = resource_at(watching, "aws_s3_bucket", "eu-west-1/outside-watch/artifacts/bucket")
    assert role["name"] == "iac-aws-nova-watch-eu-west-1-dev"
    assert bucket["bucket"].startswith("iac-aws-nova-watch-eu-west-1-dev-")


def _watch(**settings):
    return StackConfig(domain_name="api.example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ", **settings).outside_watch


@pytest.mark.parametrize(
    ("settings", "watcher"),
    [
        ({"regions": ("us-east-1", "eu-west-1"), "home_region": "eu-west-1"}, "eu-west-1"),
        # us-east-1 is the home region: the first other region watches.
        ({"regions": ("us-east-1", "ap-south-1", "eu-west-1"), "home_region": "us-east-1"}, "ap-south-1"),
        ({"regions": ("eu-west-1", "us-east-1", "ap-south-1"), "home_region": "ap-south-1"}, "ap-south-1"),
        # A region on its way out watches nothing.
        (
            {
                "regions": ("us-east-1", "eu-west-1", "us-west-2"),
                "home_region": "us-east-1",
                "removing_regions": ("eu-west-1",),
            },
            "us-west-2",
        ),
    ],
)
def test_the_watcher_is_the_home_region_else_the_first_other(settings, watcher):
    assert (_watch(**settings).watcher, _watch(**settings).watched) == (watcher, "us-east-1")


@pytest.mark.parametrize(
    "settings",
    [
        {"regions": ("us-east-1",)},  # no other region to watch from
        {
            "regions": ("eu-west-1", "eu-central-1"),
            "home_region": "eu-west-1",
        },  # the health alarms can report every region
        {"regions": ("us-east-1", "eu-west-1"), "home_region": "us-east-1", "outside_watch_interval_minutes": None},
        {"regions": ("us-east-1", "eu-west-1"), "removing_regions": ("us-east-1",), "home_region": "eu-west-1"},
    ],
)
def test_no_watch_where_nothing_needs_it_or_it_is_turned_off(settings):
    assert _watch(**settings) is None


def test_no_watch_without_a_domain():
    assert StackConfig(regions=("us-east-1", "eu-west-1"), home_region="us-east-1").outside_watch is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"outside_watch_interval_minutes": 0}, "outside_watch_interval_minutes: 0 must be positive"),
        ({"canary_interval_minutes": 0}, "canary_interval_minutes: 0 must be positive"),
        ({"canary_interval_minutes": 90}, "canary_interval_minutes: 90 must be at most 60"),
        (
            {"canary_interval_minutes": 5, "api_auth": "iam"},
            "canary_interval_minutes: 5 needs api_auth api_key or none (with 'iam' the canary cannot call GET /api)",
        ),
        (
            {"canary_runtime_version": "syn-nodejs-puppeteer-9.1"},
            'canary_runtime_version: "syn-nodejs-puppeteer-9.1" must be a syn-python-* Synthetics runtime',
        ),
    ],
)
def test_bad_canary_settings_are_refused(settings, message):
    with pytest.raises(ConfigError) as caught:
        StackConfig(**settings)
    assert str(caught.value) == message


def test_the_dashboard_shows_the_watch_from_the_watchers_region(global_app):
    watching = global_app.stacks["iac-aws-nova-dev-eu-west-1"]
    canary = resource_at(watching, "aws_synthetics_canary", "eu-west-1/outside-watch/canary")
    body = json.loads(
        one(resources(global_app.stacks["iac-aws-nova-dev-edge"], "aws_cloudwatch_dashboard"))["dashboard_body"]
    )
    [panel] = [w["properties"] for w in body["widgets"] if w["properties"]["title"].startswith("Called from another")]
    assert panel["metrics"] == [
        [
            "CloudWatchSynthetics",
            "SuccessPercent",
            "CanaryName",
            canary["name"],
            {"label": "us-east-1", "region": "eu-west-1"},
        ]
    ]
