"""Judge the scanners' reports (hack/scan.sh): zero failed checks, zero parse errors, every skip with
a reason (checkov's inline suppress comments; hack/scan/skips.yaml for the rest), no configured skip
that matches nothing, and the checks these manifests are expected to pass really ran and passed.

    verdict.py SKIPS.yaml checkov chart|rendered REPORT.json
    verdict.py SKIPS.yaml kube-score chart|rendered REPORT.json
"""

import json
import sys

import yaml

# Checks whose passing is the point of the pod settings: pod security (no privilege escalation,
# read-only root filesystem, non-root, capabilities dropped, seccomp), probes, resources.
EXPECTED_CHECKOV = {
    "chart": {"CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13", "CKV_K8S_20",
              "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_40"},
    "rendered": {"CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_23",
                 "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_38", "CKV_K8S_40"},
}
EXPECTED_KUBE_SCORE = {
    "chart": {"container-security-context-privileged", "container-security-context-readonlyrootfilesystem",
              "container-security-context-user-group-id", "pod-probes", "container-resources",
              "container-ephemeral-storage-request-and-limit", "deployment-has-poddisruptionbudget"},
    "rendered": {"container-security-context-privileged", "container-security-context-readonlyrootfilesystem",
                 "container-security-context-user-group-id", "pod-probes", "container-image-tag"},
}


def configured(skips: dict, tool: str, scope: str) -> list:
    entries = ((skips.get(tool) or {}).get(scope)) or []
    ok = True
    for e in entries:
        if not str(e.get("reason") or "").strip():
            print(f"  ERROR: configured skip of {e.get('check')} ({tool}, {scope}) has no reason")
            ok = False
    return entries if ok else None


def checkov(skips: dict, scope: str, path: str) -> bool:
    entries = configured(skips, "checkov", scope)
    ok = entries is not None
    entries = entries or []
    with open(path) as f:
        report = json.load(f)
    reports = report if isinstance(report, list) else [report]
    passed, failed, inline, parse_errors = [], [], [], 0
    for r in reports:
        if r.get("check_type") != "kubernetes":
            continue
        res = r.get("results", {})
        passed += res.get("passed_checks", [])
        failed += res.get("failed_checks", [])
        inline += res.get("skipped_checks", [])
        parse_errors += r.get("summary", {}).get("parsing_errors", 0)
    reasons = {e["check"]: e["reason"] for e in entries}
    used = set()
    left = []
    for c in failed:
        if c["check_id"] in reasons:
            used.add(c["check_id"])
        else:
            left.append(c)
    print(f"checkov ({scope}): {len(passed)} passed, {len(left)} failed, "
          f"{len(inline) + len(failed) - len(left)} skipped, {parse_errors} parsing errors")
    for c in left:
        print(f"  FAILED {c['check_id']} {c['resource']}: {c.get('check_name')}")
        ok = False
    if parse_errors:
        ok = False
    for c in inline:
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        print(f"  skipped {c['check_id']} {c['resource']} (inline): {reason}")
        if not reason.strip() or reason.strip().lower() == "no comment provided":
            print(f"  ERROR: inline skip of {c['check_id']} on {c['resource']} has no reason")
            ok = False
    for check, reason in reasons.items():
        if check in used:
            print(f"  skipped {check} (hack/scan/skips.yaml): {' '.join(reason.split())}")
        else:
            print(f"  ERROR: hack/scan/skips.yaml skips {check} ({scope}), which no longer fails: remove it")
            ok = False
    missing = EXPECTED_CHECKOV[scope] - {c["check_id"] for c in passed}
    if missing:
        print(f"  ERROR: expected checks did not pass (not evaluated?): {sorted(missing)}")
        ok = False
    return ok


def kube_score(skips: dict, scope: str, path: str) -> bool:
    entries = configured(skips, "kube-score", scope)
    ok = entries is not None
    entries = entries or []
    with open(path) as f:
        objects = json.load(f) or []
    used = set()
    passed, failed, skipped = set(), 0, 0
    for o in objects:
        name = f"{o['type_meta'].get('kind')}/{o['object_meta'].get('namespace', '')}/{o['object_meta'].get('name')}"
        for c in o.get("checks") or []:
            cid = c["check"]["id"]
            if c.get("skipped"):
                continue
            if c["grade"] >= 10:
                passed.add(cid)
                continue
            comments = c.get("comments") or [{"summary": "", "description": ""}]
            for com in comments:
                summary = com.get("summary") or ""
                match = next((i for i, e in enumerate(entries)
                              if e["check"] == cid and (not e.get("summary") or e["summary"] in summary)), None)
                if match is None:
                    print(f"  FAILED {cid} {name}: {summary} {com.get('description') or ''}".rstrip())
                    failed += 1
                    ok = False
                else:
                    used.add(match)
                    skipped += 1
    print(f"kube-score ({scope}): {len(objects)} objects, {failed} failed, {skipped} findings skipped")
    for i, e in enumerate(entries):
        what = e["check"] + (f" ({e['summary']})" if e.get("summary") else "")
        if i in used:
            print(f"  skipped {what} (hack/scan/skips.yaml): {' '.join(e['reason'].split())}")
        else:
            print(f"  ERROR: hack/scan/skips.yaml skips {what} ({scope}), which no longer fails: remove it")
            ok = False
    missing = EXPECTED_KUBE_SCORE[scope] - passed
    if missing:
        print(f"  ERROR: expected checks did not pass (not evaluated?): {sorted(missing)}")
        ok = False
    if not objects:
        ok = False
    return ok


def main(argv: list) -> int:
    skips_path, tool, scope, report = argv
    with open(skips_path) as f:
        skips = yaml.safe_load(f) or {}
    ok = checkov(skips, scope, report) if tool == "checkov" else kube_score(skips, scope, report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
