"""The JUnit XML report is well-formed and keeps to the JUnit schema's elements and attributes."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET

from flask_dbtestcase.runner.junit import ResultRecord, write_report, xml_safe

# The attributes and children the JUnit XML schema (Jenkins' junit-10.xsd,
# which pytest validates its reports against) allows on each element.
ALLOWED_ATTRIBUTES = {
    "testsuites": {"name", "time", "tests", "failures", "errors", "disabled"},
    "testsuite": {
        "name", "tests", "failures", "errors", "time", "disabled", "skipped",
        "timestamp", "hostname", "id", "package",
    },
    "testcase": {"name", "assertions", "time", "classname", "status", "file", "line"},
    "failure": {"type", "message"},
    "error": {"type", "message"},
    "skipped": {"message"},
}  # fmt: skip
ALLOWED_CHILDREN = {
    "testsuites": {"testsuite"},
    "testsuite": {"properties", "testcase", "system-out", "system-err"},
    "testcase": {"skipped", "error", "failure", "system-out", "system-err"},
    "failure": set(),
    "error": set(),
    "skipped": set(),
}

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

    def test_keeps_to_the_schema(self):
        root = self.write([
            record("passed"),
            record("failed", "failure", "trace"),
            record("error", "error", "trace"),
            record("skipped", "skipped"),
        ])  # fmt: skip
        self.assertEqual(root.tag, "testsuites")
        for element in root.iter():
            with self.subTest(element=element.tag):
                self.assertLessEqual(set(element.attrib), ALLOWED_ATTRIBUTES[element.tag])
                self.assertLessEqual(
                    {child.tag for child in element}, ALLOWED_CHILDREN[element.tag]
                )
        self.assertNotIn("skipped", root.attrib)
        suite = root.find("testsuite")
        self.assertEqual(
            {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")},
            {"tests": "4", "failures": "1", "errors": "1", "skipped": "1"},
        )
        self.assertEqual(root.get("tests"), "4")
        self.assertEqual(root.get("time"), "1.500")

    def test_xml_safe_leaves_legal_text_alone(self):
        text = "plain ascii, tab\t, newline\n, CR\r, é, \ud7ff, \ue000, 💥"
        self.assertEqual(xml_safe(text), text)
        self.assertEqual(xml_safe("\x01\x08\x0b\x1f\ufffe"), "#x01#x08#x0B#x1F#xFFFE")


if __name__ == "__main__":
    unittest.main()
