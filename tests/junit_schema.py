"""The JUnit XML schema (tests/schemas/junit-10.xsd, see its README) the
runner's reports are validated against."""

from __future__ import annotations

import functools
import os

import xmlschema

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "junit-10.xsd")


@functools.cache
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA_PATH)


def junit_errors(path: str) -> list[str]:
    """The schema's complaints about the report at ``path`` (none: it is valid)."""
    return [str(error) for error in junit_schema().iter_errors(path)]
