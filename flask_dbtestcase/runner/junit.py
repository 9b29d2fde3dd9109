"""The JUnit XML report of a run (``--junit-xml``), from the outcomes
:class:`~flask_dbtestcase.runner.results.DBTestResult` records."""

from __future__ import annotations

import os
import re
import time
import typing as t
import xml.etree.ElementTree as ET

__all__ = ["ResultDetail", "ResultRecord", "xml_safe", "write_report"]

#: Characters XML 1.0 does not allow, even escaped (ANSI colour codes' ESC, NUL, ...).
_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Replace the characters XML cannot hold with ``#xNN``, as pytest's JUnit report does.

    :param text: a test name, message or traceback.
    """
    return _ILLEGAL_XML.sub(lambda match: f"#x{ord(match.group()):02X}", text)


class ResultDetail(t.TypedDict):
    """Describe one failure, error or skip of a test, for the JUnit report."""

    kind: str
    message: str
    type: str | None
    text: str


class ResultRecord(t.TypedDict):
    """Describe one test's outcome, for the summary line and the JUnit report."""

    classname: str
    name: str
    time: float
    outcome: str
    details: list[ResultDetail]


def write_report(
    path: str,
    records: t.Sequence[ResultRecord],
    start_time: float,
    stop_time: float | None,
    suite_name: str = "flask_dbtestcase",
) -> None:
    """Write a JUnit XML report of ``records`` to ``path``.

    :param path: the report file; its directory is created if needed.
    :param records: the tests' outcomes, in the order they ran.
    :param start_time: when the run started (``time.perf_counter()``).
    :param stop_time: when it stopped (``None``: now).
    :param suite_name: the name of the report's test suite.
    """
    n_fail = sum(
        1
        for r in records
        if any(d["kind"] == "failure" for d in r["details"])
        and not any(d["kind"] == "error" for d in r["details"])
    )
    n_err = sum(1 for r in records if any(d["kind"] == "error" for d in r["details"]))
    n_skip = sum(1 for r in records if r["outcome"] == "skipped")
    stop = stop_time if stop_time is not None else time.perf_counter()
    total = f"{max(0.0, stop - start_time):.3f}"
    attrs = {
        "name": suite_name,
        "tests": str(len(records)),
        "failures": str(n_fail),
        "errors": str(n_err),
        "time": total,
    }
    # <testsuites> has no "skipped" attribute in the JUnit schema; <testsuite> has.
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(
        root,
        "testsuite",
        dict(
            attrs,
            skipped=str(n_skip),
            timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
            hostname=os.uname().nodename if hasattr(os, "uname") else "",
        ),
    )
    for record in records:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": xml_safe(record["classname"]),
                "name": xml_safe(record["name"]),
                "time": f"{record['time']:.3f}",
            },
        )
        for detail in record["details"]:
            attrs = {"message": xml_safe(detail["message"])}
            if detail["type"] and detail["kind"] != "skipped":  # <skipped> has no type
                attrs["type"] = xml_safe(detail["type"])
            child = ET.SubElement(case, detail["kind"], attrs)
            if detail["text"]:
                child.text = xml_safe(detail["text"])
    if hasattr(ET, "indent"):  # Python 3.9+
        ET.indent(root)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
