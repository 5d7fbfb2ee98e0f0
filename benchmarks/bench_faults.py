"""Faults injected into the package and what they leave behind (a record of the tests).

Runs the fault-injection tests (``tests/test_faults.py``: failed, interrupted
and killed saves, interrupted fit / predict / CLI output / benchmark record,
memory guards; ``tests/test_dask.py``: a Dask worker killed during a fit and
during a grid search) with pytest, and records for each test the fault it
injects, what it checks (both from the test's docstring) and its outcome.
The reliability claims of the docs cite this record.

Run ``python benchmarks/bench_faults.py`` (``--smoke`` runs the fast file
only and writes to a temporary directory).
"""

import ast
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from _harness import REPO_DIR, Recorder, parse_args

TEST_FILES = ("tests/test_faults.py", "tests/test_dask.py")


def fault_descriptions(path):
    """``{test name: (fault, checked)}`` from the docstrings of a test file."""
    described = {}
    for node in ast.parse(Path(path).read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = " ".join((ast.get_docstring(node) or "").split())
            if doc.startswith("Fault:") and " Checked: " in doc:
                fault, checked = doc[len("Fault:"):].split(" Checked: ", 1)
                described[node.name] = (fault.strip(), checked.strip())
    return described


def run_tests(files):
    """Outcome and seconds of every test case, from pytest's JUnit XML."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        subprocess.run([sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider",
                        f"--junitxml={report}"], cwd=REPO_DIR, check=False)
        outcomes = {}
        for case in ET.parse(report).iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            outcome = "failed" if failed else "skipped" if skipped else "passed"
            outcomes[case.get("name")] = (outcome, float(case.get("time", 0.0)))
    return outcomes


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, default_seeds=1)
    files = TEST_FILES[:1] if args.smoke else TEST_FILES
    recorder = Recorder("bench_faults", args, "smoke" if args.smoke else "all fault tests")
    described = {}
    for path in files:
        described.update(fault_descriptions(REPO_DIR / path))
    start = time.perf_counter()
    outcomes = run_tests(files)
    rows = ["| fault injected | checked | outcome (parametrisations) |", "|---|---|---|"]
    for name, (fault, checked) in described.items():
        cases = {case: result for case, result in outcomes.items()
                 if case == name or case.startswith(name + "[")}
        if not cases:
            continue
        passed = sum(outcome == "passed" for outcome, _ in cases.values())
        seconds = sum(s for _, s in cases.values())
        recorder.add(name, "fault_test", seconds=seconds, passed=passed / len(cases))
        rows.append(f"| {fault} | {checked} | {passed} of {len(cases)} passed |")
        print(f"{name}: {passed}/{len(cases)} passed", flush=True)
    recorder.note(f"pytest wall time {time.perf_counter() - start:.0f} s.")
    recorder.write("Faults: what an injected failure leaves behind", ["passed"],
                   preamble="Each row is a test of `" + "`, `".join(files) + "` (command above "
                            "runs them with pytest). `passed` is the share of its "
                            "parametrisations that passed.\n\n" + "\n".join(rows))
    return recorder


if __name__ == "__main__":
    main()
