"""The JUnit XML report: well-formed, and valid against Jenkins' JUnit schema (junit-10.xsd)."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

from flask_dbtestcase import tag
from flask_dbtestcase.runner.junit import ResultRecord, write_report, xml_safe
from tests.junit_schema import junit_errors, junit_schema
from tests.support import SUITES, Project

NASTY = "\x1b[31mred\x1b[0m and a NUL \x00 and a form feed \x0c, kept: tab\t, é, 💥"


def record(outcome: str, kind: str | None = None, text: str = "") -> ResultRecord:
    details = (
        []
        if kind is None
        else [{"kind": kind, "message": f"{kind}: {NASTY}", "type": "AssertionError", "text": text}]
    )
    return {
        "classname": f"tests.Case{NASTY[:4]}",
        "name": f"test_{outcome}",
        "time": 0.25,
        "outcome": outcome,
        "details": details,  # type: ignore[typeddict-item]
    }


class JUnitReportTests(unittest.TestCase):
    def write(self, records: list[ResultRecord]) -> ET.Element:
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "sub", "report.xml")
        write_report(path, records, start_time=0.0, stop_time=1.5)
        self.assertEqual(junit_errors(path), [])
        with open(path, "rb") as f:
            return ET.fromstring(f.read())  # raises on a file that is not well-formed

    def test_control_characters_are_escaped_as_pytest_does(self):
        root = self.write([record("failed", "failure", text=f"Traceback: {NASTY}")])
        failure = root.find("testsuite/testcase/failure")
        self.assertIsNotNone(failure)
        self.assertEqual(
            failure.get("message"),
            "failure: #x1B[31mred#x1B[0m and a NUL #x00 and a form feed #x0C, kept: tab\t, é, 💥",
        )
        self.assertIn("#x00", failure.text)
        self.assertNotIn("\x1b", failure.text)
        self.assertEqual(root.find("testsuite/testcase").get("classname"), "tests.Case#x1B[31")

    def test_valid_against_the_schema(self):
        root = self.write([
            record("passed"),
            record("failed", "failure", "trace"),
            record("error", "error", "trace"),
            record("skipped", "skipped"),
        ])  # fmt: skip
        self.assertEqual(root.tag, "testsuites")
        self.assertNotIn("skipped", root.attrib)
        suite = root.find("testsuite")
        self.assertEqual(
            {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")},
            {"tests": "4", "failures": "1", "errors": "1", "skipped": "1"},
        )
        self.assertEqual(root.get("tests"), "4")
        self.assertEqual(root.get("time"), "1.500")

    def test_the_schema_catches_what_the_old_reports_had(self):
        # The validation can fail: a "skipped" attribute on <testsuites> (as the
        # reports had before) and a <testcase> without a name are refused.
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "bad.xml")
        with open(path, "w") as f:
            f.write(
                '<testsuites skipped="1"><testsuite name="s" tests="1" failures="0" '
                'errors="0"><testcase classname="c"/></testsuite></testsuites>'
            )
        errors = "\n".join(junit_errors(path))
        self.assertIn("skipped", errors)
        self.assertIn("name", errors)
        self.assertFalse(junit_schema().is_valid(path))

    @tag("slow")
    def test_a_real_run_is_valid_in_one_process_and_in_workers(self):
        project = Project(self, directory=os.path.join(SUITES, "basic"), timeout=120)
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        for args in ([], ["--parallel", "2"]):
            with self.subTest(args=args):
                path = os.path.join(directory, f"report{len(args)}.xml")
                result = project.run(["-p", "suite_*.py", "--junit-xml", path, *args])
                self.assertEqual(result.returncode, 1, result)
                self.assertEqual(junit_errors(path), [])
                suite = ET.parse(path).getroot().find("testsuite")
                self.assertEqual(
                    {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")},
                    {"tests": "7", "failures": "1", "errors": "1", "skipped": "1"},
                )

    def test_xml_safe_leaves_legal_text_alone(self):
        text = "plain ascii, tab\t, newline\n, CR\r, é, \ud7ff, \ue000, 💥"
        self.assertEqual(xml_safe(text), text)
        self.assertEqual(xml_safe("\x01\x08\x0b\x1f\ufffe"), "#x01#x08#x0B#x1F#xFFFE")


if __name__ == "__main__":
    unittest.main()
