"""A module that fails when imported: it reads a variable the environment does not have."""

import os

from flask import Flask

#: The variable read at import; the test makes sure it is not set.
VARIABLE = "FDT_MISTAKE_IMPORT_SETTING"
SETTING = os.environ[VARIABLE]  # the line the error must name


def create_app(config=None):
    return Flask(__name__)
