"""The synthetic canary in every region: its script (canary_src, tested in test_canary.py) run on a
schedule against the region's public API, its artifacts, its role and its alarm."""

import json
import zipfile

import pytest
from conftest import address_at, one, policy_statements, region_key_arn, resource_at, resources

from constructs_lib.settings import ConfigError, StackConfig

WATCHED = StackConfig(regions=("eu-west-1",), canary_interval_minutes=5)


@pytest.fixture(scope="module")
def app(synth):
    return synth(WATCHED)


@pytest.fixture(scope="module")
def watched(app):
    return app.stack()


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
        "API_KEY_SECRET_ID": "iac-aws-nova-api-key-dev",
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
    package = app.outdir / "stacks" / "iac-aws-nova-dev-eu-west-1" / canary["zip_file"]
    assert zipfile.ZipFile(package).namelist() == ["python/api_canary.py"]


def test_the_canarys_role_reads_only_the_regions_api_key_and_writes_its_artifacts(watched):
    canary = one(resources(watched, "aws_synthetics_canary"))
    [policy] = [p for p in resources(watched, "aws_iam_role_policy") if "_canary_" in p["role"]]
    statements = {s["sid"]: s for s in policy_statements(watched, policy["policy"])}
    [secret] = statements["ReadTheApiKey"]["resources"]
    assert secret.startswith("arn:aws:secretsmanager:eu-west-1:${data.aws_caller_identity.")
    assert secret.endswith(".account_id}:secret:iac-aws-nova-api-key-dev-??????")  # the region's copy
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


@pytest.mark.parametrize(
    ("settings", "message"),
    [
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
