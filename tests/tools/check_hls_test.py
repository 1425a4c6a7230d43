#!/usr/bin/env python3
"""tools/check_hls.py on the fixtures of tests/tools/hls_rules/ (run by CTest as hls_rules_checker).

Each bad fixture breaks one rule and marks every line the checker must report with a trailing
`// expect [rule-tag]`: the findings must be exactly those lines and tags, so a rule that stops firing
and a rule that fires where it should not both fail. clean.cpp.txt follows every convention: 0 findings.
"""
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHECKER = os.path.join(ROOT, "tools", "check_hls.py")
FIXTURES = os.path.join(HERE, "hls_rules")
FINDING = re.compile(r"^(.*?):(\d+): \[([a-z0-9-]+)\] ")

# Fixture -> the rule tag it must fail.
BAD = {
    "narrow_port.cpp.txt": "narrow-maxi-port",
    "narrow_access.cpp.txt": "narrow-maxi-access",
    "conditional_maxi.cpp.txt": "conditional-maxi",
    "pointer_in_struct.cpp.txt": "pointer-in-aggregate",
    "runtime_loop_in_pipeline.cpp.txt": "runtime-loop-in-pipeline",
    "dependence_without_proof.cpp.txt": "dependence-without-proof",
    "dependence_on_registers.cpp.txt": "dependence-on-registers",
    "runtime_division_in_pipeline.cpp.txt": "runtime-division-in-pipeline",
    "dependence_without_storage.cpp.txt": "dependence-without-storage",
    "missing_tripcount.cpp.txt": "missing-tripcount",
    "float_sum_ii1.cpp.txt": "float-sum-ii1",
}


def run(*paths):
    p = subprocess.run([sys.executable, CHECKER, *paths], capture_output=True, text=True, check=False)
    findings = set()
    for line in p.stdout.splitlines():
        m = FINDING.match(line)
        if m:
            findings.add((int(m.group(2)), m.group(3)))
    return p.returncode, findings, p.stdout


def expected(path):
    with open(path, encoding="utf-8") as f:
        return {(n, m.group(1)) for n, line in enumerate(f, 1)
                for m in [re.search(r"//.*\bexpect \[([a-z0-9-]+)\]", line)] if m}


class CheckHlsTest(unittest.TestCase):
    def test_every_fixture_is_tested(self):
        names = {n for n in os.listdir(FIXTURES) if n.endswith(".cpp.txt")}
        self.assertEqual(names, set(BAD) | {"clean.cpp.txt"})

    def test_clean_kernel_has_no_findings(self):
        code, findings, out = run(os.path.join(FIXTURES, "clean.cpp.txt"))
        self.assertEqual(findings, set(), out)
        self.assertEqual(code, 0, out)
        self.assertIn("0 findings", out)

    def test_each_bad_fixture_fails_its_rule_and_only_it(self):
        for name, tag in BAD.items():
            with self.subTest(fixture=name):
                path = os.path.join(FIXTURES, name)
                code, findings, out = run(path)
                self.assertEqual(code, 1, out)
                self.assertIn(tag, {t for _, t in findings}, out)
                self.assertEqual({t for _, t in findings}, {tag}, out)
                self.assertEqual(findings, expected(path), out)

    def test_findings_name_the_rule(self):
        _, _, out = run(os.path.join(FIXTURES, "missing_tripcount.cpp.txt"))
        self.assertRegex(out, r"missing_tripcount\.cpp\.txt:7: \[missing-tripcount\] .*: for \(int i = 0; i < n; i\+\+\)")

    def test_unsynthesisable_kernel_still_fails(self):
        code, findings, out = run(os.path.join(ROOT, "tests", "kernel", "unsynthesisable.cpp.txt"))
        self.assertEqual(code, 1, out)
        for tag in ("heap", "stl", "header", "virtual", "while", "recursion", "missing-tripcount"):
            self.assertIn(tag, {t for _, t in findings}, out)

    def test_files_are_checked_together(self):
        code, findings, out = run(os.path.join(FIXTURES, "clean.cpp.txt"),
                                  os.path.join(FIXTURES, "dependence_without_proof.cpp.txt"))
        self.assertEqual(code, 1, out)
        self.assertIn("2 files, 2 findings", out)
        self.assertNotIn("clean.cpp.txt:", out)


if __name__ == "__main__":
    unittest.main()
