"""The security gate (security/gate.py): matching accepted findings, preparing the copies,
refusing scans that parsed nothing. Every test here builds checkov-shaped reports by hand; the real
checkov run over the default and variant stacks is in the slow tier
(tests/slow/test_security_scan.py), and `make security` runs the gate as CI does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from security import gate
from security.gate import Accepted, AcceptedListError, Finding, GateError, Report, StackScan

DEV, BOOT = "iac-aws-nova-dev", "iac-aws-nova-bootstrap"


# --- helpers: hand-made stacks and checkov results ----------------------------------------------


def stack_json(**blocks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A minimal Terraform JSON stack: ``stack_json(resource={...}, data={...})``."""
    return {"terraform": {"required_providers": {"aws": {"source": "aws"}}}, **blocks}


def check(check_id: str, resource: str, stack: str, result: str = "FAILED", line: int = 1) -> dict[str, Any]:
    """One result as checkov 3.3 writes it in ``-o json``."""
    return {
        "check_id": check_id,
        "check_name": f"name of {check_id}",
        "check_result": {"result": result},
        "file_path": f"/{stack}/cdk.tf.json",
        "file_abs_path": f"/tmp/x/stacks/{stack}/cdk.tf.json",
        "file_line_range": [line, line + 5],
        "resource": resource,
    }


def checkov_report(failed: list[dict[str, Any]], passed: list[dict[str, Any]] = (), **extra: Any) -> dict[str, Any]:
    return {
        "check_type": "terraform_json",
        "results": {"passed_checks": list(passed), "failed_checks": failed, "skipped_checks": [], "parsing_errors": []}
        | extra,
        "summary": {"passed": len(passed), "failed": len(failed), "checkov_version": "3.3.30"},
    }


def finding(check_id: str = "CKV_AWS_116", address: str = "aws_lambda_function.fn_1", stack: str = DEV) -> Finding:
    return Finding(check_id, address, stack, "a check")


def report_of(*findings: Finding, passed: int = 10) -> Report:
    """A plausible report (enough passed checks) holding these failed findings."""
    stacks: dict[str, StackScan] = {}
    for name in sorted({DEV, *(f.stack for f in findings)}):
        stacks[name] = StackScan(name, resources=4, passed=passed, addresses={"aws_s3_bucket.b"})
    for f in findings:
        stacks[f.stack].failed.append(f)
        stacks[f.stack].addresses.add(f.address)
    return Report(stacks=stacks)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accepted.toml"
    path.write_text(text)
    return path


# --- matching and evaluation --------------------------------------------------------------------


def test_accepted_finding_passes() -> None:
    result = gate.evaluate(report_of(finding()), [Accepted("CKV_AWS_116", "aws_lambda_function.fn_1", "why")])
    assert result.ok
    assert result.open == [] and result.stale == [] and len(result.accepted) == 1


def test_unmatched_finding_fails() -> None:
    result = gate.evaluate(report_of(finding()), [])
    assert not result.ok
    assert result.open == [finding()]


def test_check_id_must_be_equal() -> None:
    result = gate.evaluate(report_of(finding("CKV_AWS_116")), [Accepted("CKV_AWS_11", "*", "why")])
    assert result.open == [finding("CKV_AWS_116")]


def test_stale_accepted_entry_fails() -> None:
    entry = Accepted("CKV_AWS_272", "aws_lambda_function.*", "code signing comes later")
    result = gate.evaluate(report_of(), [entry])
    assert not result.ok
    assert result.stale == [entry]
    assert "stale accepted entries" in gate.format_result(report_of(), result)


def test_resource_glob_matches_the_address() -> None:
    entry = Accepted("CKV_AWS_18", "aws_s3_bucket.*_storage_bucket_*", "why")
    matched = finding("CKV_AWS_18", "aws_s3_bucket.us-east-1_storage_bucket_C68F795D")
    other = finding("CKV_AWS_18", "aws_s3_bucket.state_bucket_803B4E61")
    result = gate.evaluate(report_of(matched, other), [entry])
    assert [f for f, _ in result.accepted] == [matched]
    assert result.open == [other]


def test_stack_glob_limits_an_entry_to_matching_stacks() -> None:
    entry = Accepted("CKV_AWS_18", "aws_s3_bucket.*", "why", stack="*-bootstrap")
    in_boot = finding("CKV_AWS_18", "aws_s3_bucket.b", BOOT)
    in_dev = finding("CKV_AWS_18", "aws_s3_bucket.b", DEV)
    result = gate.evaluate(report_of(in_boot, in_dev), [entry])
    assert [f for f, _ in result.accepted] == [in_boot]
    assert result.open == [in_dev]


def test_partial_scan_does_not_call_entries_for_other_stacks_stale() -> None:
    entry = Accepted("CKV_AWS_18", "*", "why", stack=BOOT)
    assert gate.evaluate(report_of(), [entry], complete=True).stale == [entry]
    assert gate.evaluate(report_of(), [entry], complete=False).stale == []


def test_one_configurations_scan_judges_only_the_entries_whose_resources_it_has() -> None:
    """`make security` scans the project's own stacks, which may have no domain or Cognito: an
    entry for a resource none of them has is not stale there (the suite judges every entry)."""
    absent = Accepted("CKV2_AWS_34", "aws_ssm_parameter.user-pool-arn-*", "why")
    present = Accepted("CKV_AWS_272", "aws_s3_bucket.*", "why")
    result = gate.evaluate(report_of(), [absent, present], present_only=True)
    assert result.stale == [present]
    assert gate.evaluate(report_of(), [absent, present]).stale == [absent, present]


# --- mapping checkov's names to Terraform addresses ---------------------------------------------


STACK = stack_json(
    resource={"aws_lambda_function": {"fn_1": {"function_name": "f"}}, "aws_s3_bucket": {"b_2": {"bucket": "x"}}},
    data={"aws_iam_policy_document": {"doc_3": {"statement": [{"actions": ["s3:GetObject"]}]}}},
    provider={"aws": [{"alias": "us-east-1", "region": "us-east-1"}, {"alias": "us-west-2", "region": "us-west-2"}]},
)


@pytest.mark.parametrize(
    ("checkov_name", "address"),
    [
        ("resource.fn_1", "aws_lambda_function.fn_1"),  # ordinary checks: no type
        ("data.doc_3", "data.aws_iam_policy_document.doc_3"),
        ("aws_s3_bucket.b_2", "aws_s3_bucket.b_2"),  # graph checks: the type, never "data."
        ("aws_iam_policy_document.doc_3", "data.aws_iam_policy_document.doc_3"),
        ("resource.missing", None),
    ],
)
def test_checkov_names_map_to_terraform_addresses(checkov_name: str, address: str | None) -> None:
    assert gate.resolve_address(checkov_name, STACK) == address


def test_finding_named_resource_dot_name_is_reported_with_its_type() -> None:
    raw = checkov_report([check("CKV_AWS_116", "resource.fn_1", DEV)])
    report = gate.parse_report(raw, {DEV: STACK})
    assert report.stacks[DEV].failed == [Finding("CKV_AWS_116", "aws_lambda_function.fn_1", DEV, "name of CKV_AWS_116")]
    assert report.errors == []


def test_a_name_under_two_types_is_resolved_by_checkovs_line_range() -> None:
    stack = stack_json(
        resource={"aws_iam_role": {"same": {"name": "r"}}, "aws_iam_role_policy": {"same": {"role": "r"}}}
    )
    lines = gate.line_index(stack)
    [policy_line] = [n for n, a in lines.items() if a == "aws_iam_role_policy.same"]
    report = gate.parse_report(
        checkov_report([check("CKV_AWS_1", "resource.same", DEV, line=policy_line)]), {DEV: stack}
    )
    assert [f.address for f in report.stacks[DEV].failed] == ["aws_iam_role_policy.same"]


def test_provider_findings_name_the_alias() -> None:
    lines = gate.line_index(STACK)
    west = next(n for n, a in lines.items() if a == "provider.aws.us-west-2")
    raw = checkov_report([check("CKV_AWS_41", "provider.aws", DEV, line=west)])
    assert gate.parse_report(raw, {DEV: STACK}).stacks[DEV].failed[0].address == "provider.aws.us-west-2"


def test_unmappable_finding_fails_the_gate() -> None:
    raw = checkov_report(
        [check("CKV_AWS_1", "resource.gone", DEV)], [check("CKV_AWS_2", "resource.fn_1", DEV, "PASSED")] * 4
    )
    result = gate.evaluate(gate.parse_report(raw, {DEV: STACK}), [Accepted("CKV_AWS_1", "*", "why")])
    assert not result.ok
    assert any("cannot map" in p for p in result.problems)


# --- the accepted-findings file -----------------------------------------------------------------


def test_entry_with_empty_reason_is_refused(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path, '[[accepted]]\ncheck = "CKV_AWS_116"\nresource = "aws_lambda_function.*"\nreason = "  "\n'
    )
    with pytest.raises(AcceptedListError, match="'reason' must be a non-empty string"):
        gate.load_accepted(path)


def test_entry_with_unknown_key_is_refused(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[[accepted]]\ncheck = "CKV_AWS_1"\nresouce = "x.*"\nresource = "x.*"\nreason = "r"\n')
    with pytest.raises(AcceptedListError, match="unknown keys"):
        gate.load_accepted(path)


def test_entry_fields_and_default_stack(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[[accepted]]\ncheck = "CKV_AWS_1"\nresource = "x.*"\nreason = "because"\n')
    assert gate.load_accepted(path) == [Accepted("CKV_AWS_1", "x.*", "because", "*")]


def test_repository_accepted_list_is_valid() -> None:
    for entry in gate.load_accepted(gate.DEFAULT_ACCEPTED):
        assert entry.reason


# --- the copy checkov scans ---------------------------------------------------------------------


def test_copy_drops_nulls_and_required_version_and_leaves_the_original(tmp_path: Path) -> None:
    original = {
        "terraform": {"required_version": ">= 1.5", "required_providers": {"aws": {"source": "aws", "version": None}}},
        "resource": {"aws_s3_bucket": {"b": {"bucket": "x", "tags": None, "grant": [None, {"id": None, "type": "t"}],
                                             "force_destroy": False, "lifecycle_rule": []}}},
    }  # fmt: skip
    source = tmp_path / "stack"
    source.mkdir()
    text = json.dumps(original, indent=2)
    (source / "cdk.tf.json").write_text(text)

    prepared = gate.prepare_copy(source, tmp_path / "copy")

    assert (source / "cdk.tf.json").read_text() == text
    copy = json.loads((tmp_path / "copy" / "cdk.tf.json").read_text())
    assert copy == prepared
    assert "null" not in json.dumps(copy)
    assert copy == {
        "terraform": {"required_providers": {"aws": {"source": "aws"}}},
        "resource": {"aws_s3_bucket": {"b": {"bucket": "x", "grant": [{"type": "t"}], "force_destroy": False,
                                             "lifecycle_rule": []}}},
    }  # fmt: skip


# --- a scan that parsed nothing must fail -------------------------------------------------------

# What checkov prints when it found nothing to scan: a bare summary.
NOTHING_SCANNED = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}


def test_stack_without_resources_fails_the_gate() -> None:
    empty = {"terraform": {}, "provider": {"aws": [{"region": "us-east-1"}]}}
    result = gate.evaluate(gate.parse_report(NOTHING_SCANNED, {DEV: empty}), [])
    assert not result.ok
    assert result.problems == [f"{DEV}: no resources in cdk.tf.json: nothing to scan"]


def test_stack_checkov_did_not_parse_fails_the_gate() -> None:
    result = gate.evaluate(gate.parse_report(NOTHING_SCANNED, {DEV: STACK}), [])
    assert not result.ok
    assert any("checkov parsed nothing" in p for p in result.problems)


def test_too_few_passed_checks_fail_the_gate() -> None:
    stack = stack_json(resource={"aws_s3_bucket": {f"b{i}": {"bucket": f"x{i}"} for i in range(10)}})
    raw = checkov_report([], [check("CKV_AWS_21", "resource.b0", DEV, "PASSED")] * 4)  # 4 < 10 / 2
    result = gate.evaluate(gate.parse_report(raw, {DEV: stack}), [])
    assert any("only 4 checks passed for 10 resources" in p for p in result.problems)


def test_parsing_error_fails_the_gate() -> None:
    raw = checkov_report(
        [], [check("CKV_AWS_2", "resource.fn_1", DEV, "PASSED")] * 4, parsing_errors=[f"/t/{DEV}/cdk.tf.json"]
    )
    result = gate.evaluate(gate.parse_report(raw, {DEV: STACK}), [])
    assert any("could not parse" in p for p in result.problems)


def test_report_as_a_list_of_frameworks_is_read() -> None:
    raw = [checkov_report([check("CKV_AWS_116", "resource.fn_1", DEV)])]
    assert len(gate.parse_report(raw, {DEV: STACK}).stacks[DEV].failed) == 1


def test_unrecognised_report_is_an_error() -> None:
    with pytest.raises(GateError, match="unrecognised checkov report"):
        gate.parse_report({"something": "else"}, {DEV: STACK})


# --- running checkov (without checkov: a stand-in command) --------------------------------------


def test_scanner_output_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="not JSON"):
        gate.run_checkov(tmp_path, workdir=tmp_path / "w", command=[sys.executable, "-c", "print('oops')"])


def test_scanner_that_cannot_run_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="not runnable"):
        gate.run_checkov(tmp_path, workdir=tmp_path / "w", command=[str(tmp_path / "no-such-checkov")])


def test_scanner_crash_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="status 3"):
        gate.run_checkov(tmp_path, workdir=tmp_path / "w", command=[sys.executable, "-c", "raise SystemExit(3)"])


def test_cli_prints_open_findings_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(gate, "scan", lambda dirs, **kw: report_of(finding()))
    accepted = write_toml(tmp_path, "")
    assert gate.main([str(tmp_path / DEV), "--accepted", str(accepted)]) == gate.EXIT_FAIL
    assert f"CKV_AWS_116 aws_lambda_function.fn_1 ({DEV}): a check" in capsys.readouterr().out


def test_cli_passes_when_every_finding_is_accepted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(gate, "scan", lambda dirs, **kw: report_of(finding()))
    accepted = write_toml(
        tmp_path, '[[accepted]]\ncheck = "CKV_AWS_116"\nresource = "aws_lambda_function.*"\nreason = "r"\n'
    )
    assert gate.main([str(tmp_path / DEV), "--accepted", str(accepted)]) == gate.EXIT_PASS
