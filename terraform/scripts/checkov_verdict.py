"""Judge a checkov JSON report: zero failures, zero parse errors, every skip inline with a reason,
and the checks this base layer is expected to pass really ran and passed."""

import json
import sys

# From the project notes: EKS endpoint (39/38), secrets encryption (58), control-plane logs (37),
# S3 public access (CKV2_AWS_6, 53-56), S3 KMS (145), versioning (21), lifecycle (CKV2_AWS_61),
# ECR immutable tags and scan on push (51/163), IMDSv2 and hop limit (79/341). CKV_AWS_379 applies
# to aws_s3_bucket_acl resources only (there are none: ownership is BucketOwnerEnforced); the TLS-only
# policy is asserted by tests/test_hcl.py instead.
EXPECTED_PASSED = {
    "CKV_AWS_39", "CKV_AWS_38", "CKV_AWS_58", "CKV_AWS_37", "CKV2_AWS_6", "CKV_AWS_53",
    "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_145", "CKV_AWS_21", "CKV2_AWS_61",
    "CKV_AWS_51", "CKV_AWS_163", "CKV_AWS_79", "CKV_AWS_341",
}


def main(path: str) -> int:
    with open(path) as f:
        report = json.load(f)
    reports = report if isinstance(report, list) else [report]
    passed, failed, skipped, parse_errors = [], [], [], 0
    for r in reports:
        if r.get("check_type") != "terraform":
            continue
        res = r.get("results", {})
        passed += res.get("passed_checks", [])
        failed += res.get("failed_checks", [])
        skipped += res.get("skipped_checks", [])
        parse_errors += r.get("summary", {}).get("parsing_errors", 0)
    ok = True
    print(f"checkov: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped, "
          f"{parse_errors} parsing errors")
    for c in failed:
        print(f"  FAILED {c['check_id']} {c['resource']} ({c.get('file_path')}): {c.get('check_name')}")
        ok = False
    if parse_errors:
        ok = False
    for c in skipped:
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        print(f"  skipped {c['check_id']} {c['resource']}: {reason}")
        if not reason or reason.strip().lower() in ("no comment provided", ""):
            print(f"  ERROR: skip of {c['check_id']} on {c['resource']} has no reason")
            ok = False
    missing = EXPECTED_PASSED - {c["check_id"] for c in passed}
    if missing:
        print(f"  ERROR: expected checks did not pass (not evaluated?): {sorted(missing)}")
        ok = False
    if not passed:
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
