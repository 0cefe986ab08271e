#!/usr/bin/env python3
"""The generated docs stay true: docs/configuration.md equals what the programs print with
--config-reference (tests/gen-config-doc.py --check), and docs/metrics.md lists exactly the
metric names the sources define."""
import glob
import os
import re
import subprocess
import sys
import unittest

BUILD = os.environ.get("TEST_BUILD_DIR", "build")
SOURCE = os.environ.get("TEST_SOURCE_DIR", ".")
# string literals that look like metric names but are not
NOT_METRICS = {"cx_panel"}


def code_metrics():
    names = set()
    for d in ("common", "ccv", "exact", "extractor", "transformer", "loader", "admin", "panel",
              "ops"):
        for path in glob.glob(os.path.join(SOURCE, d, "*.c")):
            with open(path, encoding="utf-8") as f:
                names |= set(re.findall(r'"(cx_[a-z0-9_]+)"', f.read()))
    return names - NOT_METRICS


class Docs(unittest.TestCase):
    def test_configuration_reference_is_current(self):
        p = subprocess.run([sys.executable, os.path.join(SOURCE, "tests", "gen-config-doc.py"),
                            BUILD, "--check"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_metrics_are_documented(self):
        with open(os.path.join(SOURCE, "docs", "metrics.md"), encoding="utf-8") as f:
            documented = set(re.findall(r"^\| `(cx_[a-z0-9_]+)` \|", f.read(), re.M))
        code = code_metrics()
        self.assertEqual(code - documented, set(), "metrics missing from docs/metrics.md")
        self.assertEqual(documented - code, set(), "docs/metrics.md lists unknown metrics")

    def test_doc_links_resolve(self):
        for name in ("architecture", "configuration", "runbook", "troubleshooting", "metrics",
                     "admin"):
            path = os.path.join(SOURCE, "docs", name + ".md")
            with open(path, encoding="utf-8") as f:
                for target in re.findall(r"\]\(([a-z0-9_./-]+\.md)(?:#[^)]*)?\)", f.read()):
                    with self.subTest(doc=os.path.basename(path), link=target):
                        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(path),
                                                                     target)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
