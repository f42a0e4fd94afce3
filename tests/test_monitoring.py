"""Monitoring: alarms per region to an SNS topic, and one dashboard of all regions."""

import json

import pytest
from conftest import CUSTOM, address_at, one, region_key_arn, resources, table_copy

from constructs_lib.settings import ConfigError, StackConfig

REGIONS = ("us-east-1", "us-west-2")


def alarms(stack, region):
    return {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm", region)}


@pytest.mark.parametrize("region", REGIONS)
def test_the_regions_alarms_named_by_the_pattern(default_synth, region):
    """The regional stack's (the global stack adds the backup alarms in the home region: test_backup.py)."""
    other = next(r for r in REGIONS if r != region)
    assert set(alarms(default_synth.stacks[f"iac-aws-nova-dev-{region}"], region)) == {
        f"iac-aws-nova-{what}-{region}-dev"
        for what in (
            "fn-errors",
            "fn-duration",
            "fn-throttles",
            "concurrency",
            "api-4xx",
            "api-5xx",
            "api-latency",
            "queue-age",
            "worker-failures",
            "worker-errors",
            "worker-throttles",
            "dlq-messages",
            "table-throttles",
            "table-errors",
            f"replication-{other}",
            "waf-blocked",
            "api-throttled",
        )
    }


@pytest.mark.parametrize("region", REGIONS)
def test_the_worker_failures_alarm_reads_the_workers_own_metric(dev, region):
    """MessagesFailed, which the worker writes in embedded metric format (lambda_src/metrics.py)."""
    alarm = alarms(dev, region)[f"iac-aws-nova-worker-failures-{region}-dev"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"], alarm["period"], alarm["threshold"]) == (
        "iac-aws-nova",
        "MessagesFailed",
        "Sum",
        300,
        0,
    )
    assert alarm["dimensions"] == {"Region": region, "Environment": "dev"}
    assert metrics_module().MESSAGES_FAILED == "MessagesFailed"


def metrics_module():
    """lambda_src/metrics.py, where the functions name their metrics (the stacks mirror the names)."""
    from tools.function_loader import WORKER_FILE, load_function

    return load_function(WORKER_FILE, name="lambda_src_worker_monitoring").siblings["metrics"]


@pytest.mark.parametrize(
    ("what", "metric", "statistic", "threshold", "period"),
    [
        ("fn-errors", "Errors", "Sum", 5, 600),
        ("fn-duration", "Duration", "Average", 25000, 600),
        ("fn-throttles", "Throttles", "Sum", 0, 60),
        ("queue-age", "ApproximateAgeOfOldestMessage", "Maximum", 900, 60),
        ("dlq-messages", "ApproximateNumberOfMessagesVisible", "Maximum", 0, 60),
    ],
)
def test_alarm_thresholds(dev, what, metric, statistic, threshold, period):
    alarm = alarms(dev, "us-east-1")[f"iac-aws-nova-{what}-us-east-1-dev"]
    assert (alarm["metric_name"], alarm["statistic"], alarm["threshold"], alarm["period"]) == (
        metric,
        statistic,
        threshold,
        period,
    )
    assert alarm["comparison_operator"] == "GreaterThanThreshold"
    assert alarm["evaluation_periods"] == 1


def test_alarm_dimensions_name_the_function_and_the_api_stage_by_reference(dev):
    found = alarms(dev, "us-east-1")
    function = address_at(dev, "aws_lambda_function", "us-east-1/function/function")
    assert found["iac-aws-nova-fn-errors-us-east-1-dev"]["dimensions"] == {
        "FunctionName": f"${{{function}.function_name}}"
    }
    assert found["iac-aws-nova-api-latency-us-east-1-dev"]["dimensions"] == {
        "ApiName": f"${{{address_at(dev, 'aws_api_gateway_rest_api', 'us-east-1/api/rest-api')}.name}}",
        "Stage": f"${{{address_at(dev, 'aws_api_gateway_stage', 'us-east-1/api/stage')}.stage_name}}",
    }


@pytest.mark.parametrize(("what", "errors", "percent"), [("api-5xx", "5XXError", 1), ("api-4xx", "4XXError", 20)])
def test_api_errors_alarm_on_their_share_of_requests_not_on_one_answer(dev, what, errors, percent):
    """A single 503, or the normal 404, 412 and 429 answers, page nobody: the share of requests
    over 5 minutes does, counted from 20 requests."""
    alarm = alarms(dev, "us-east-1")[f"iac-aws-nova-{what}-us-east-1-dev"]
    queries = {q["id"]: q for q in alarm["metric_query"]}
    assert queries["e"] == {"id": "e", "expression": "IF(m1 >= 20, 100 * m0 / m1, 0)", "return_data": True}
    assert (queries["m0"]["metric"]["metric_name"], queries["m1"]["metric"]["metric_name"]) == (errors, "Count")
    assert {q["metric"]["period"] for k, q in queries.items() if k != "e"} == {300}
    assert (alarm["threshold"], alarm["treat_missing_data"]) == (percent, "notBreaching")
    assert "metric_name" not in alarm


def test_p99_latency_is_an_extended_statistic(dev):
    alarm = alarms(dev, "us-west-2")["iac-aws-nova-api-latency-us-west-2-dev"]
    assert (alarm["extended_statistic"], alarm["threshold"], "statistic" in alarm) == ("p99", 5000, False)


def test_the_table_copy_alarms_on_throttles_system_errors_and_replication(dev):
    found = alarms(dev, "us-west-2")
    table = table_copy(dev, "us-west-2", "name")
    throttles = found["iac-aws-nova-table-throttles-us-west-2-dev"]
    assert [q["metric"]["metric_name"] for q in throttles["metric_query"][:2]] == [
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ]
    errors = found["iac-aws-nova-table-errors-us-west-2-dev"]
    assert {q["metric"]["dimensions"]["Operation"] for q in errors["metric_query"] if "metric" in q} == {
        "GetItem",
        "UpdateItem",
        "DeleteItem",
        "Scan",
    }
    replication = found["iac-aws-nova-replication-us-east-1-us-west-2-dev"]
    assert replication["dimensions"] == {"TableName": table, "ReceivingRegion": "us-east-1"}
    assert (replication["metric_name"], replication["threshold"], replication["evaluation_periods"]) == (
        "ReplicationLatency",
        60000,
        2,
    )
    assert replication["alarm_description"].endswith("(runbook: docs/runbooks/replication.md)")


def test_the_worker_and_the_accounts_concurrency_are_watched(dev):
    found = alarms(dev, "us-east-1")
    worker = address_at(dev, "aws_lambda_function", "us-east-1/worker/function")
    for what in ("worker-errors", "worker-throttles"):
        assert found[f"iac-aws-nova-{what}-us-east-1-dev"]["dimensions"] == {
            "FunctionName": f"${{{worker}.function_name}}"
        }
    concurrency = found["iac-aws-nova-concurrency-us-east-1-dev"]
    assert (concurrency["metric_name"], concurrency["threshold"], "dimensions" in concurrency) == (
        "ClaimedAccountConcurrency",
        800,
        False,
    )


def test_the_waf_blocks_and_the_certificates_expiry_are_watched(synth):
    from conftest import GLOBAL

    stack = synth(GLOBAL).stacks["iac-aws-nova-dev-eu-west-1"]
    found = alarms(stack, "eu-west-1")
    waf = found["iac-aws-nova-waf-blocked-eu-west-1-dev"]
    acl = address_at(stack, "aws_wafv2_web_acl", "eu-west-1/waf/web-acl")
    assert waf["dimensions"] == {"WebACL": f"${{{acl}.name}}", "Region": "eu-west-1", "Rule": "ALL"}
    expiry = found["iac-aws-nova-certificate-expiry-eu-west-1-dev"]
    validation = address_at(stack, "aws_acm_certificate_validation", "eu-west-1/domain/certificate-validation")
    assert expiry["dimensions"] == {"CertificateArn": f"${{{validation}.certificate_arn}}"}
    assert (expiry["threshold"], expiry["comparison_operator"]) == (30, "LessThanThreshold")


def test_no_traffic_is_an_alarm_only_when_asked_and_then_absence_breaches(dev, synth):
    assert "iac-aws-nova-no-traffic-us-east-1-dev" not in alarms(dev, "us-east-1")
    assert CUSTOM.alarm_no_traffic_minutes == 15
    stack = synth(CUSTOM).stack()
    alarm = alarms(stack, "eu-west-1")["iac-aws-nova-no-traffic-eu-west-1-prod"]
    assert (alarm["metric_name"], alarm["comparison_operator"], alarm["threshold"]) == ("Count", "LessThanThreshold", 1)
    assert (alarm["evaluation_periods"], alarm["period"], alarm["treat_missing_data"]) == (15, 60, "breaching")


def test_every_alarm_names_its_runbook(dev):
    for alarm in resources(dev, "aws_cloudwatch_metric_alarm"):
        assert alarm["alarm_description"].endswith(".md)") and "(runbook: docs/runbooks/" in alarm["alarm_description"]


@pytest.mark.parametrize("region", REGIONS)
def test_queue_alarms_watch_the_regions_work_and_dead_letter_queues(dev, region):
    found = alarms(dev, region)
    queue = address_at(dev, "aws_sqs_queue", f"{region}/queue/queue")
    dlq = address_at(dev, "aws_sqs_queue", f"{region}/queue/dead-letter-queue")
    assert found[f"iac-aws-nova-queue-age-{region}-dev"]["dimensions"] == {"QueueName": f"${{{queue}.name}}"}
    assert found[f"iac-aws-nova-dlq-messages-{region}-dev"]["dimensions"] == {"QueueName": f"${{{dlq}.name}}"}


@pytest.mark.parametrize("region", REGIONS)
def test_no_log_is_watched_for_unpublished_events_any_more(dev, region):
    """Events come from the table's stream (test_change_feed.py): a change the bus refuses ends in
    the dead-letter queue, whose alarm fires on any message; the function logs no lost event."""
    assert [f["name"] for f in resources(dev, "aws_cloudwatch_log_metric_filter", region)] == ["api-throttled"]
    assert not [name for name in alarms(dev, region) if "not-published" in name]


@pytest.mark.parametrize("region", REGIONS)
def test_429_answers_are_counted_from_the_access_log_and_alarmed(dev, region):
    """API Gateway publishes no metric of its throttling: a usage plan's or the stage's 429s are
    counted from the JSON access log."""
    [counter] = resources(dev, "aws_cloudwatch_log_metric_filter", region)
    access = address_at(dev, "aws_cloudwatch_log_group", f"{region}/api/access-log-group")
    assert counter["log_group_name"] == f"${{{access}.name}}"
    assert counter["pattern"] == '{ $.status = "429" }'
    assert counter["metric_transformation"] == {
        "name": "ApiThrottled",
        "namespace": "iac-aws-nova/dev",
        "value": "1",
        "unit": "Count",
    }
    alarm = alarms(dev, region)[f"iac-aws-nova-api-throttled-{region}-dev"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["threshold"], alarm["period"]) == (
        "iac-aws-nova/dev",
        "ApiThrottled",
        100,
        300,
    )


def test_missing_data_is_not_breaching_and_alarms_notify_the_topic(dev):
    for alarm in alarms(dev, "us-east-1").values():
        assert alarm["treat_missing_data"] == "notBreaching"
        assert alarm["alarm_actions"][0].startswith("${aws_sns_topic.")


@pytest.mark.parametrize("region", REGIONS)
def test_one_topic_per_region(default_synth, region):
    regional = default_synth.stacks[f"iac-aws-nova-dev-{region}"]
    assert one(resources(regional, "aws_sns_topic", region))["name"] == f"iac-aws-nova-alarms-{region}-dev"


def test_topic_is_encrypted_with_the_regions_key(dev):
    topic = one(resources(dev, "aws_sns_topic", "us-west-2"))
    assert topic["kms_master_key_id"] == region_key_arn(dev, "us-west-2")


def test_no_email_subscription_by_default(dev):
    assert not resources(dev, "aws_sns_topic_subscription")


def test_alarm_email_subscribes_to_each_regions_topic(global_stack):
    subscriptions = resources(global_stack, "aws_sns_topic_subscription")
    # Each region's topic, the health alarms' own topic in us-east-1 (the edge stack's) and the
    # backup alarms' in the home region (the global stack's).
    assert sorted(s["provider"] for s in subscriptions) == [
        "aws.eu-west-1",
        "aws.eu-west-1",
        "aws.us-east-1",
        "aws.us-east-1",
    ]
    assert {(s["protocol"], s["endpoint"]) for s in subscriptions} == {("email", "oncall@example.com")}
    assert alarms(global_stack, "us-east-1")["iac-aws-nova-fn-errors-us-east-1-dev"]["threshold"] == 3


def test_one_dashboard_in_the_home_region(dev):
    dashboard = one(resources(dev, "aws_cloudwatch_dashboard"))
    assert dashboard["provider"] == "aws.us-east-1"
    assert dashboard["dashboard_name"] == "iac-aws-nova-dashboard-us-east-1-dev"


def test_dashboard_shows_every_region_side_by_side(dev):
    body = json.loads(one(resources(dev, "aws_cloudwatch_dashboard"))["dashboard_body"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    # No domain: no health checks panel.
    assert len(titles) == 17
    assert not any("Health" in t for t in titles)
    for widget in body["widgets"]:
        labels = [m[-1]["label"] for m in widget["properties"]["metrics"]]
        if widget["properties"]["title"].startswith("Replication latency"):
            # Measured in the home region, one line per receiving region.
            assert labels == ["us-west-2"]
            assert widget["properties"]["metrics"][0][-1]["region"] == "us-east-1"
        else:
            assert labels == list(REGIONS)
    metrics = {w["properties"]["metrics"][0][1] for w in body["widgets"]}
    assert metrics == {
        "Invocations",
        "Errors",
        "Duration",
        "Count",
        "4XXError",
        "5XXError",
        "Latency",
        "ConsumedWriteCapacityUnits",
        "ConsumedReadCapacityUnits",
        "ReplicationLatency",
        "ApproximateNumberOfMessagesVisible",
        *metrics_module().METRIC_NAMES,
    }


def test_dashboard_shows_the_functions_business_metrics_by_region(dev):
    body = json.loads(one(resources(dev, "aws_cloudwatch_dashboard"))["dashboard_body"])
    by_title = {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"]}
    assert [m[:6] for m in by_title["Items created"]] == [
        ["iac-aws-nova", "ItemsCreated", "Region", r, "Environment", "dev"] for r in REGIONS
    ]


def test_more_subscriptions_hear_the_alarms_some_only_alarm_transitions(synth):
    regional = synth(CUSTOM).stacks["iac-aws-nova-prod-eu-west-1"]
    found = {s["protocol"]: s for s in resources(regional, "aws_sns_topic_subscription")}
    assert found["https"]["endpoint"] == "https://pager.example.com/hook"
    assert json.loads(found["https"]["filter_policy"]) == {"NewStateValue": ["ALARM"]}
    assert found["https"]["filter_policy_scope"] == "MessageBody"
    assert "filter_policy" not in found["sqs"]
    assert found["https"]["topic_arn"].startswith("${aws_sns_topic.eu-west-1_monitoring_alarm-topic_")


@pytest.mark.parametrize(
    ("subscriptions", "message"),
    [
        (
            "ops@example.com",
            'alarm_subscriptions: "ops@example.com" must be a list of {"protocol", "endpoint", "only_alarm"}',
        ),
        (
            [{"protocol": "sms", "endpoint": "+15550100"}],
            'alarm_subscriptions[0].protocol: "sms" must be one of email, https, sqs, lambda',
        ),
        (
            [{"protocol": "https", "endpoint": "http://pager.example.com"}],
            'alarm_subscriptions[0].endpoint: "http://pager.example.com" is not an https:// URL (protocol https)',
        ),
        (
            [{"protocol": "email", "endpoint": "ops@example.com", "only_alarms": True}],
            'alarm_subscriptions[0]: {"protocol": "email", "endpoint": "ops@example.com", "only_alarms": true} must '
            'have "protocol" and "endpoint", and may have "only_alarm"',
        ),
        (
            [{"protocol": "email", "endpoint": "ops@example.com", "only_alarm": "yes"}],
            'alarm_subscriptions[0].only_alarm: "yes" must be true or false',
        ),
    ],
)
def test_bad_subscriptions_are_refused_in_one_line(subscriptions, message):
    with pytest.raises(ConfigError) as caught:
        StackConfig(alarm_subscriptions=subscriptions)
    assert str(caught.value) == message


def test_dashboard_shows_queue_depths_and_the_table(dev):
    body = json.loads(one(resources(dev, "aws_cloudwatch_dashboard"))["dashboard_body"])
    by_title = {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"]}
    assert [m[:4] for m in by_title["Dead-letter queue depth"]] == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"iac-aws-nova-events-dlq-{r}-dev"]
        for r in REGIONS
    ]
    assert [m[2:4] for m in by_title["Table writes (write units)"]] == [["TableName", "iac-aws-nova-items-dev"]] * 2


def test_dashboard_follows_the_home_region(global_stack):
    assert one(resources(global_stack, "aws_cloudwatch_dashboard"))["provider"] == "aws.eu-west-1"
