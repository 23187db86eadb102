#!/usr/bin/env python3
"""Runs the Python tests (tests/test_*.py, unittest) the way `make test`
shows them: a dot per test, every failure in full, then every skipped test
with its reason, then tests marked as known defects (expected failures), then one closing
line `N passed, N failed, N skipped, N known defects`.

    .venv/bin/python tests/run_tests.py [MODULE_OR_TEST ...]   (default: all)
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    sys.path.insert(0, HERE)
    os.chdir(HERE)
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromNames(argv) if argv else loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    started = time.monotonic()
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=1, buffer=False).run(suite)
    took = time.monotonic() - started
    if result.skipped:
        print(f"\nSkipped ({len(result.skipped)}):")
        for test, reason in result.skipped:
            print(f"  {test.id()}: {reason}")
    if result.expectedFailures:
        print(f"\nKnown defects, expected to fail ({len(result.expectedFailures)}):")
        for test, _ in result.expectedFailures:
            doc = (test.shortDescription() or "").strip()
            print(f"  {test.id()}" + (f": {doc}" if doc else ""))
    # A test whose subtests fail is one failed test.
    test_id = lambda t: getattr(t, "test_case", t).id()
    failed_ids = {test_id(t) for t, _ in result.failures + result.errors} | {test_id(t) for t in result.unexpectedSuccesses}
    failed = len(failed_ids)
    skipped_ids = {test_id(t) for t, _ in result.skipped}
    known = len(result.expectedFailures)
    passed = result.testsRun - failed - len(skipped_ids - failed_ids) - known
    if failed:
        print(f"\nFailed ({failed}):")
        for test, _ in result.failures + result.errors:
            print(f"  {test.id()}")
        for test in result.unexpectedSuccesses:
            print(f"  {test.id()} (unexpected success)")
    print(f"\npython tests ({took:.0f} s):")
    print(f"{passed} passed, {failed} failed, {len(skipped_ids - failed_ids)} skipped, {known} known defects")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
