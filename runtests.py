#!/usr/bin/env python
"""Run the project's own tests (tests/) with the package's runner.

    python runtests.py [labels…] [options]     # same options as python -m flask_dbtestcase
    python runtests.py --slow                  # everything, as make test and CI run it

With no labels it discovers tests/ from the repository root and leaves out
the tests tagged ``slow`` (``@tag("slow")``: each runs whole projects in
subprocesses, in every order, under pytest and xdist, through faults;
about three more minutes), so that it can run before every commit;
``--slow`` runs them too, as ``make test`` and CI do, and so does naming
labels (a module's tests all run). As Django's own runtests.py does, it
runs in parallel by default (``--parallel auto``: one worker per core,
serially below 50 tests); ``--parallel 0`` or ``--pdb`` runs in one process.
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
#: The tag of the tests a plain run leaves out (--slow runs them).
SLOW = "slow"


def arguments(argv):
    """Return the runner's arguments for runtests.py's ``argv``, and a notice to print (or None)."""
    from flask_dbtestcase.runner import build_parser

    slow = "--slow" in argv
    argv = [arg for arg in argv if arg != "--slow"]
    try:
        options = build_parser(add_help=False).parse_known_intermixed_args(argv)[0]
    except SystemExit:  # let the runner report the usage error
        return argv, None
    notice = None
    if not options.labels and "-h" not in argv and "--help" not in argv:
        argv = ["tests", *argv]
        if not (slow or options.tags or options.exclude_tags):
            argv += ["--exclude-tag", SLOW]
            notice = (
                f"runtests.py: leaving out the tests tagged {SLOW!r} (whole projects run in "
                "subprocesses, about three more minutes); --slow runs them too, as make "
                "test and CI do."
            )
    if not any(arg == "--parallel" or arg.startswith("--parallel=") for arg in argv) and not (
        options.pdb
    ):
        argv += ["--parallel", "auto"]
    if options.top_level is None:
        argv += ["--top-level-directory", ROOT]
    return argv, notice


def run(argv=None):
    sys.path.insert(0, ROOT)
    os.chdir(ROOT)
    from flask_dbtestcase.runner import main

    argv, notice = arguments(list(sys.argv[1:] if argv is None else argv))
    if notice:
        print(notice, file=sys.stderr)
    return main(argv, prog="runtests.py")


if __name__ == "__main__":
    sys.exit(run())
