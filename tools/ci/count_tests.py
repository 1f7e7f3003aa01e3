#!/usr/bin/env python3
"""Counts passed/failed test cases of one `bazel test` invocation.

Usage: count_tests.py [--raw] BEP_JSON...

BEP_JSON is the file written by `bazel test --build_event_json_file=...`. The
build event protocol names exactly the test targets of that invocation and the
test.xml file of each run/shard, so stale XML files of earlier invocations in
bazel-testlogs are never looked at. Count right after each invocation: a later
invocation (e.g. with --config=asan) may overwrite the same test.xml files.

Counting rules:
  * every <testcase> in a test.xml is one case; it failed if it has a
    <failure> or <error> child; skipped/disabled cases are not counted;
  * a test run/shard whose test.xml is missing or unreadable counts as 1 failed;
  * a run/shard that failed but has no failed test case (crash after the XML
    was written, sanitizer report at exit, timeout, ...) counts 1 extra failed;
  * a test target that was requested but never ran (failed to build, build
    aborted) counts as 1 failed; tests excluded by filters are not counted.

Prints "N passed, M failed" (or "N M" with --raw) on stdout and details about
failures on stderr.
"""

import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET

_OK_STATUSES = ("PASSED", "FLAKY")


def _uri_to_path(uri):
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    return urllib.parse.unquote(parsed.path)


def _count_xml(path):
    """Returns (passed, failed, failed_names) or None if unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed = failed = 0
    names = []
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            names.append(".".join(x for x in (case.get("classname"), case.get("name", "?")) if x))
        elif (
            case.get("status") == "notrun"
            or case.get("result") in ("skipped", "suppressed")
            or case.find("skipped") is not None
        ):
            continue
        else:
            passed += 1
    return passed, failed, names


def count(bep_path):
    tests = set()  # test targets configured in this invocation
    not_run = set()  # completed targets that were not selected for testing
    results = {}  # (label, run, shard) -> (attempt, status, xml path)

    with open(bep_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            event = json.loads(line)
            eid = event.get("id", {})
            if "targetConfigured" in eid:
                if event.get("configured", {}).get("testSize"):
                    tests.add(eid["targetConfigured"]["label"])
            elif "targetCompleted" in eid and "completed" in event:
                # Built fine but not selected for testing (e.g. excluded by
                # --test_tag_filters): not a failure. A target that failed to
                # build has no "success" and is counted below.
                children = event.get("children", [])
                if event["completed"].get("success") and not any(
                    "testSummary" in c or "testResult" in c for c in children
                ):
                    not_run.add(eid["targetCompleted"]["label"])
            elif "testResult" in eid and "testResult" in event:
                tid = eid["testResult"]
                key = (tid["label"], tid.get("run", 1), tid.get("shard", 1))
                attempt = tid.get("attempt", 1)
                if key in results and results[key][0] > attempt:
                    continue
                xml = None
                for out in event["testResult"].get("testActionOutput", []):
                    if out.get("name") == "test.xml":
                        xml = _uri_to_path(out.get("uri", ""))
                status = event["testResult"].get("status", "NO_STATUS")
                results[key] = (attempt, status, xml)

    passed = failed = 0
    ran = set()
    for (label, run, shard), (_, status, xml) in sorted(results.items()):
        ran.add(label)
        where = label
        if run > 1 or shard > 1 or any(
            k[0] == label and k != (label, run, shard) for k in results
        ):
            where = "%s (run %d, shard %d)" % (label, run, shard)
        counted = _count_xml(xml) if xml else None
        if counted is None:
            failed += 1
            print("count_tests: FAILED %s: %s, no readable test.xml" % (where, status), file=sys.stderr)
            continue
        p, f, names = counted
        passed += p
        failed += f
        for name in names:
            print("count_tests: FAILED %s: %s" % (where, name), file=sys.stderr)
        if status not in _OK_STATUSES and f == 0:
            failed += 1
            print("count_tests: FAILED %s: %s" % (where, status), file=sys.stderr)

    for label in sorted(tests - ran - not_run):
        failed += 1
        print("count_tests: FAILED %s: did not run (build failure?)" % label, file=sys.stderr)
    return passed, failed


def main(argv):
    raw = "--raw" in argv
    paths = [a for a in argv if a != "--raw"]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    passed = failed = 0
    for path in paths:
        p, f = count(path)
        passed += p
        failed += f
    if raw:
        print(passed, failed)
    else:
        print("%d passed, %d failed" % (passed, failed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
