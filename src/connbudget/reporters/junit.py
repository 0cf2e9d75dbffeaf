"""JUnit XML: one test case per finding and per input error, for CI test-report views.

A finding at or above the fail-on severity is a <failure>; one below it is a passing test
case that carries the finding in <system-out>, so the report agrees with the exit code.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from connbudget.budgets import RunCoverage
from connbudget.catalogue import RULES, severity_rank
from connbudget.report import Report
from connbudget.reporters._common import (
    config_line,
    coverage_summary,
    line_of,
    relative_path,
    unannounced,
    xml_text,
)
from connbudget.settings import Settings


def _case(suite: ET.Element, classname: str, name: str, file: str, line: int) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name,
                         file=relative_path(file), line=str(line_of(line)))


def _coverage_properties(suite: ET.Element, coverage: RunCoverage) -> None:
    """The run's coverage as the suite's properties (its first child, as the schema orders)."""
    properties = ET.Element("properties")
    for name, value in (("coverage", coverage_summary(coverage)),
                        ("coverage.databases.complete", str(coverage.complete)),
                        ("coverage.databases.incomplete", str(coverage.incomplete)),
                        ("coverage.not-read", str(len(coverage.unread)))):
        ET.SubElement(properties, "property", name=name, value=value)
    suite.insert(0, properties)


def render_junit(report: Report, settings: Settings) -> str:
    threshold = severity_rank(settings.fail_on)
    root = ET.Element("testsuites", name="connbudget")
    suite = ET.SubElement(root, "testsuite", name="connbudget")
    config = config_line(settings)
    if config is not None:  # what the run's config changes, for a reviewer
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="connbudget.config", value=config)
    failures = 0
    for finding in report.findings:
        rule = RULES[finding.rule_id]
        path = relative_path(finding.file)
        name = f"{rule.id} {finding.resource or path}:{line_of(finding.line)}"
        case = _case(suite, path, name, finding.file, finding.line)
        body = "\n".join(part for part in (
            f"{path}:{line_of(finding.line)}: {rule.severity}: {finding.message}",
            f"fix: {finding.fix}" if finding.fix else "",
            *(f"{relative_path(r.file)}:{line_of(r.line)}: {r.message}" for r in finding.related),
            f"docs: {rule.help_uri}",
        ) if part)
        if severity_rank(rule.severity) >= threshold:
            failures += 1
            failure = ET.SubElement(case, "failure", type=rule.severity,
                                    message=f"{rule.id}: {finding.message}")
            failure.text = body
        else:
            ET.SubElement(case, "system-out").text = body
    for error in report.errors:
        path = relative_path(error.file)
        case = _case(suite, path, f"input {path}:{line_of(error.line)}", error.file, error.line)
        ET.SubElement(case, "error", type="input-error", message=error.message).text = str(error)
    for item in unannounced(report, settings):
        path = relative_path(item.file)
        case = _case(suite, path, f"not read {item.what}", item.file, item.line)
        ET.SubElement(case, "system-out").text = (f"{path}:{line_of(item.line)}: {item.what} is "
                                                  f"not read: {item.why}\nfix: {item.fix}")
    if not len(suite):
        ET.SubElement(suite, "testcase", classname="connbudget", name="no findings")
    tests = str(len(suite.findall("testcase")))
    if report.coverage is not None:
        _coverage_properties(suite, report.coverage)
    for element in (root, suite):
        element.set("tests", tests)
        element.set("failures", str(failures))
        element.set("errors", str(len(report.errors)))
    for element in root.iter():
        element.text = xml_text(element.text) if element.text else element.text
        for key, value in element.attrib.items():
            element.set(key, xml_text(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
