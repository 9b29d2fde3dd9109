#!/usr/bin/env python
"""Run the project's own tests (tests/) with the package's runner.

    python runtests.py [labels…] [options]     # same options as python -m flask_dbtestcase

With no labels it discovers tests/ from the repository root. As Django's own
runtests.py does, it runs in parallel by default (``--parallel auto``: one
worker per core, serially below 50 tests); ``--parallel 0`` or ``--pdb``
runs in one process.
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))


def run(argv=None):
    sys.path.insert(0, ROOT)
    os.chdir(ROOT)
    from flask_dbtestcase.runner import build_parser, main

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(add_help=False)
    try:
        options = parser.parse_known_intermixed_args(argv)[0]
    except SystemExit:  # let main() report the usage error
        return main(argv, prog="runtests.py")
    if not options.labels and "-h" not in argv and "--help" not in argv:
        argv = ["tests", *argv]
    if not any(arg == "--parallel" or arg.startswith("--parallel=") for arg in argv) and not (
        options.pdb
    ):
        argv += ["--parallel", "auto"]
    if options.top_level is None:
        argv += ["--top-level-directory", ROOT]
    return main(argv, prog="runtests.py")


if __name__ == "__main__":
    sys.exit(run())
