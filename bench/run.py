"""flask-dbtestcase benchmark driver: ``make bench`` / ``make bench-quick``.

Starts ONE throwaway PostgreSQL server (fsync off), then for each CPU
placement (client on CPU 0 and server on CPU 1; both on CPU 0) runs every
contender in its own worker process (bench/worker.py), each against a fresh
test database on that server, interleaved round by round so that load from
other processes on the machine hits every contender alike. Then start-up
(cold initdb, warm start, clone by CREATE DATABASE ... TEMPLATE) and
end-to-end wall times of
``python -m flask_dbtestcase`` and ``python manage.py test``. Prints a table of
medians, spreads and ratios, and writes it to bench/last-run.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import (  # noqa: E402
    PLACEMENTS,
    compile_bytecode,
    create_database,
    database_url,
    driver_name,
    pin,
    pin_server,
)

PROFILES = {
    "quick": dict(
        repeats=3,
        suite_repeats=2,
        micro_tests=200,
        suite_tests=150,
        floor_iters=1000,
        startup_repeats=3,
        e2e_repeats=1,
    ),
    "full": dict(
        repeats=9,
        suite_repeats=5,
        micro_tests=600,
        suite_tests=300,
        floor_iters=2000,
        startup_repeats=7,
        e2e_repeats=3,
    ),
}
FLASK = ["fdt", "noiso", "recipe", "truncate", "dropall"]
NAMES = {
    "fdt": "FlaskDBTestCase",
    "noiso": "Flask, no isolation (reference)",
    "recipe": "Flask, connection+begin() recipe",
    "truncate": "Flask, TRUNCATE per test",
    "dropall": "Flask, drop_all/create_all per test",
    "django": "Django TestCase",
}
#: the slow contenders run fewer micro tests per repeat (per-test time is what counts)
MICRO_DIVISOR = {"truncate": 5, "dropall": 20}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def med(xs):
    return statistics.median(xs)


# -- per-test workloads ----------------------------------------------------------


class Worker:
    """One contender's worker process (see worker.py), driven one round at a time."""

    def __init__(self, server, contender, placement, prof, number):
        self.contender = contender
        _, server_cpus = PLACEMENTS[placement]
        self.url = server.url(f"test_bench_{contender}_{number}", "psycopg2")
        if contender != "django":  # Django's runner creates test_<NAME> itself
            create_database(self.url)
        micro = max(20, prof["micro_tests"] // MICRO_DIVISOR.get(contender, 1))
        env = dict(
            os.environ, BENCH_PG_HOST=server.socket_dir, BENCH_DJANGO_DB=f"bench_django_{number}"
        )
        for var in ("FLASK_DBTESTCASE_DATABASE_URL", "TEST_DATABASE_URL"):
            env.pop(var, None)
        cmd = [
            sys.executable,
            os.path.join(HERE, "worker.py"),
            contender,
            "--data-dir",
            server.data_dir,
            "--url",
            self.url,
            "--server-cpus",
            ",".join(map(str, sorted(server_cpus))),
            "--micro-tests",
            str(micro),
            "--suite-tests",
            str(prof["suite_tests"]),
            "--floor-iters",
            str(prof["floor_iters"]),
        ]
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._expect("ready")

    def _expect(self, what=None):
        line = self.proc.stdout.readline()
        if not line or (what and line.strip() != what):
            self.proc.kill()
            raise SystemExit(f"worker {self.contender} failed (see its output above)")
        return line

    def run(self, workload: str) -> float:
        self.proc.stdin.write(workload + "\n")
        self.proc.stdin.flush()
        return json.loads(self._expect())

    def close(self) -> None:
        from flask_dbtestcase.databases.creation import destroy_test_database

        try:
            if self.proc.poll() is None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.contender != "django":
                destroy_test_database(database_url(self.url))


def run_placement(server, contenders, placement, prof):
    """Every contender, interleaved round by round (rotating the order)."""
    _, server_cpus = PLACEMENTS[placement]
    pin_server(server.data_dir, server_cpus)
    workers = []
    try:
        for i, c in enumerate(contenders):
            workers.append(Worker(server, c, placement, prof, f"{placement}_{i}"))
        pin_server(server.data_dir, server_cpus)
        res = {c: {} for c in contenders}
        plan = [(w, prof["repeats"]) for w in ("empty", "onequery")] + [
            ("suite", prof["suite_repeats"])
        ]
        for workload, rounds in plan:
            started = time.perf_counter()
            for rnd in range(rounds):
                order = workers[rnd % len(workers) :] + workers[: rnd % len(workers)]
                for w in order:
                    names = ("rt", "savepoint", "begin") if w.contender == "raw" else (workload,)
                    if w.contender == "raw" and workload != "empty":
                        continue  # the floor runs alongside (a) only
                    for name in names:
                        res[w.contender].setdefault(name, []).append(w.run(name))
            log(
                f"  {placement:6s} {workload:9s} {rounds} rounds, {time.perf_counter() - started:5.1f} s"
            )
    finally:
        for w in workers:
            w.close()
    return res


# -- start-up ------------------------------------------------------------------------


def measure_startup(server, prof):
    from flask_dbtestcase.databases.creation import (
        Timeouts,
        clone_test_database,
        destroy_test_database,
    )
    from flask_dbtestcase.postgres import server as srvmod
    from flask_dbtestcase.settings import Settings

    out = {"cold": [], "warm": [], "stop": [], "clone": [], "drop_clone": []}
    saved = os.environ.get("FLASK_DBTESTCASE_CACHE_DIR")
    caches = []
    try:
        for _ in range(prof["startup_repeats"]):
            cache = tempfile.mkdtemp(prefix="fdt-bench-cache-")
            caches.append(cache)
            os.environ["FLASK_DBTESTCASE_CACHE_DIR"] = cache
            t0 = time.perf_counter()
            s = srvmod.ThrowawayServer.start(Settings.load().server_config())
            out["cold"].append(time.perf_counter() - t0)
            s.stop()
        # warm: the last cache is populated
        for i in range(prof["startup_repeats"] + 1):
            t0 = time.perf_counter()
            s = srvmod.ThrowawayServer.start(Settings.load().server_config())
            t1 = time.perf_counter()
            s.stop()
            t2 = time.perf_counter()
            if i:  # the first one warms the page cache
                out["warm"].append(t1 - t0)
                out["stop"].append(t2 - t1)
    finally:
        if saved is None:
            os.environ.pop("FLASK_DBTESTCASE_CACHE_DIR", None)
        else:
            os.environ["FLASK_DBTESTCASE_CACHE_DIR"] = saved
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)

    # clone: the suite's schema in a template, copied with CREATE DATABASE ... TEMPLATE
    import sqlalchemy as sa

    from flaskbench import db as fdb  # noqa: F401  (models registered on its metadata)

    url = create_database(server.url("test_bench_template", driver_name()))
    try:
        engine = sa.create_engine(url)
        fdb.Model.metadata.create_all(engine)
        engine.dispose()
        for i in range(prof["startup_repeats"] + 1):
            t0 = time.perf_counter()
            clone = clone_test_database(url, "clone", Timeouts())
            t1 = time.perf_counter()
            destroy_test_database(clone)
            t2 = time.perf_counter()
            if i:
                out["clone"].append(t1 - t0)
                out["drop_clone"].append(t2 - t1)
    finally:
        destroy_test_database(url)
    return out


# -- end to end ---------------------------------------------------------------------


def measure_e2e(server, placement, prof):
    client_cpus, server_cpus = PLACEMENTS[placement]
    pin_server(server.data_dir, server_cpus)
    compile_bytecode()
    base_env = dict(
        os.environ,
        BENCH_PG_HOST=server.socket_dir,
        BENCH_DJANGO_DB="e2e_django",
        BENCH_SUITE_TESTS=str(prof["suite_tests"]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    for var in ("FLASK_DBTESTCASE_DATABASE_URL", "TEST_DATABASE_URL"):
        base_env.pop(var, None)
    py = sys.executable
    existing = server.url("e2e_flask", "psycopg2")
    commands = {
        "flask_url": [
            py,
            "-m",
            "flask_dbtestcase",
            "flaskbench.e2e_tests",
            "--noinput",
            "--database-url",
            existing,
        ],
        "flask_own": [py, "-m", "flask_dbtestcase", "flaskbench.e2e_tests", "--noinput"],
        "django": [py, "manage.py", "test", "djbench.tests", "--noinput"],
    }
    # flask_own starts its own server, a child of the command: it inherits the
    # command's CPUs. Pinned to CPU 0 in "shared"; left unpinned in "split".
    cpus = {
        "flask_url": client_cpus,
        "django": client_cpus,
        "flask_own": client_cpus if placement == "shared" else None,
    }
    out = {name: [] for name in commands}
    for rep in range(prof["e2e_repeats"] + 1):  # the first round warms the page cache
        for name, cmd in commands.items():
            aff = cpus[name]
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd,
                cwd=HERE,
                env=base_env,
                capture_output=True,
                text=True,
                preexec_fn=(lambda a=aff: pin(0, a)) if aff else None,
            )
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0 or ("OK" not in proc.stderr):
                raise SystemExit(
                    f"e2e {name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
                )
            if rep:
                out[name].append(elapsed)
    return out


# -- report -------------------------------------------------------------------------------


def us(xs):
    return f"{med(xs) * 1e6:,.0f} ({min(xs) * 1e6:,.0f}–{max(xs) * 1e6:,.0f})"


def ms(xs):
    return f"{med(xs) * 1e3:,.2f} ({min(xs) * 1e3:,.2f}–{max(xs) * 1e3:,.2f})"


def secs(xs):
    return f"{med(xs):.3f} ({min(xs):.3f}–{max(xs):.3f})"


def ok(flag):
    return "**met**" if flag else "**NOT met**"


def report(res, prof, profile, contenders) -> str:
    lines = []
    w = lines.append
    for placement in res["placements"]:
        r = res["placements"][placement]
        raw = r["raw"]
        w(
            f"\n### Per-test cost — placement `{placement}` "
            f"({'client CPU 0, server CPU 1' if placement == 'split' else 'client and server on CPU 0'})\n"
        )
        w("Median (min–max) over repeats. µs per test for (a) and (b), ms per test for (c).\n")
        w(f"| raw floor ({res['driver']}) | µs per pair |")
        w("|---|---|")
        w(f"| `SELECT 1` (one round trip) | {us(raw['rt'])} |")
        w(f"| `SAVEPOINT` + `ROLLBACK TO SAVEPOINT` | {us(raw['savepoint'])} |")
        w(f"| `BEGIN` + `ROLLBACK` | {us(raw['begin'])} |")
        w("")
        noiso_suite = med(r["noiso"]["suite"]) if "noiso" in r else None
        fdt_suite = med(r["fdt"]["suite"]) if "fdt" in r else None
        w(
            "| contender | (a) empty test µs | (b) one-query test µs | (c) 300-test suite ms/test | (c) vs no isolation | (c) vs FlaskDBTestCase |"
        )
        w("|---|---|---|---|---|---|")
        for c in contenders:
            if c == "raw" or c not in r:
                continue
            d = r[c]
            s = med(d["suite"])
            w(
                f"| {NAMES[c]} | {us(d['empty'])} | {us(d['onequery'])} | {ms(d['suite'])} | "
                f"{s / noiso_suite:.2f}x | {s / fdt_suite:.2f}x |"
            )
        sp = med(raw["savepoint"])
        f, n = r["fdt"], r["noiso"]
        iso = med(f["onequery"]) - med(n["onequery"])
        w("")
        w("| target | measured | verdict |")
        w("|---|---|---|")
        w(
            f"| empty test ≤ 0.5x SAVEPOINT floor | {med(f['empty']) * 1e6:.0f} µs = {med(f['empty']) / sp:.2f}x | {ok(med(f['empty']) <= 0.5 * sp)} |"
        )
        paired = med([x - y for x, y in zip(f["onequery"], n["onequery"])])
        best = min(f["onequery"]) - min(n["onequery"])
        w(
            f"| isolation cost (one-query FDT − no isolation) ≤ 1.5x SAVEPOINT floor | {iso * 1e6:+.0f} µs = {iso / sp:+.2f}x "
            f"(paired by round: {paired * 1e6:+.0f} µs = {paired / sp:+.2f}x; best rounds: {best * 1e6:+.0f} µs = {best / sp:+.2f}x) | {ok(iso <= 1.5 * sp)} |"
        )
        for c in ("recipe", "truncate", "dropall", "django"):
            if c in r and c != "django":
                ic = med(r[c]["onequery"]) - med(n["onequery"])
                w(
                    f"| (for comparison) isolation cost of {NAMES[c]} | {ic * 1e6:+.0f} µs = {ic / sp:+.2f}x | |"
                )
        w(
            f"| suite within 5% of no isolation | {fdt_suite / noiso_suite:.3f}x | {ok(fdt_suite <= 1.05 * noiso_suite)} |"
        )
        if "truncate" in r:
            q = med(r["truncate"]["suite"]) / fdt_suite
            w(f"| suite ≥ 1.3x faster than TRUNCATE | {q:.2f}x | {ok(q >= 1.3)} |")
        if "dropall" in r:
            q = med(r["dropall"]["suite"]) / fdt_suite
            w(f"| suite ≥ 2.3x faster than drop_all/create_all | {q:.2f}x | {ok(q >= 2.3)} |")
        e = res.get("e2e", {}).get(placement)
        if e:
            w("")
            w(
                f"End to end, {prof['suite_tests']} tests, wall time of the whole command in s, median (min–max):\n"
            )
            w("| command | s | vs `manage.py test` |")
            w("|---|---|---|")
            dj = med(e["django"])
            own = "pinned to CPU 0 with its server" if placement == "shared" else "unpinned"
            rows = [
                ("flask_own", f"`python -m flask_dbtestcase` (own throwaway server, {own})"),
                ("flask_url", "`python -m flask_dbtestcase --database-url` (the bench server)"),
                ("django", "`python manage.py test` (the bench server)"),
            ]
            for key, label in rows:
                w(f"| {label} | {secs(e[key])} | {med(e[key]) / dj:.2f}x |")
            w(
                f"\nTarget end to end faster than Django: flask_dbtestcase (own server) {ok(med(e['flask_own']) < dj)}, "
                f"(same server) {ok(med(e['flask_url']) < dj)}"
            )
    st = res.get("startup")
    if st:
        w("\n### Start-up (unpinned), s, median (min–max)\n")
        w("| step | s |")
        w("|---|---|")
        w(f"| first ever start (initdb + copy + start, empty cache) | {secs(st['cold'])} |")
        w(f"| warm start (cached initdb: copy + start) | {secs(st['warm'])} |")
        w(f"| stop (and remove the data dir) | {secs(st['stop'])} |")
        w(f"| clone a test database (`CREATE DATABASE … TEMPLATE`) | {secs(st['clone'])} |")
        w(f"| drop the clone | {secs(st['drop_clone'])} |")
        w(f"\nTarget warm start ≤ 0.1 s: {ok(med(st['warm']) <= 0.1)}")
    return "\n".join(lines) + "\n"


def versions() -> str:
    from importlib.metadata import version

    from flask_dbtestcase.postgres.binaries import find_postgres_bin
    from flask_dbtestcase.settings import Settings

    try:
        pg = subprocess.run(
            [
                os.path.join(find_postgres_bin(Settings.load().server_config()), "postgres"),
                "--version",
            ],
            capture_output=True,
            text=True,
        ).stdout.split()[2]
    except Exception:  # noqa: BLE001 - the version is only informative
        pg = "?"
    try:
        import django

        dj = django.get_version()
    except ImportError:
        dj = "not installed"
    with open("/proc/cpuinfo") as f:
        model = next(
            (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?"
        )
    return (
        f"{platform.platform()}, {os.cpu_count()} vCPU ({model}); Python {platform.python_version()}; "
        f"PostgreSQL {pg}; Flask {version('flask')}, "
        f"Flask-SQLAlchemy {version('flask-sqlalchemy')}, SQLAlchemy {version('sqlalchemy')}, "
        f"psycopg2 {_version('psycopg2-binary')}, psycopg {_version('psycopg')}, Django {dj}"
    )


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", choices=PROFILES, default="full")
    p.add_argument("--only", help="comma-separated contenders (default: all)")
    p.add_argument("--placements", default="split,shared")
    p.add_argument("--skip", default="", help="comma-separated: startup,e2e")
    p.add_argument("--json", help="also write the raw samples here")
    p.add_argument(
        "--driver",
        choices=("psycopg", "psycopg2"),
        help="the driver of every Flask contender and of the raw floor (default: the run's)",
    )
    a = p.parse_args()
    if a.driver:  # the workers inherit it; the floor and the URLs use it
        os.environ["FLASK_DBTESTCASE_DRIVER"] = a.driver
    from flask_dbtestcase.databases.drivers import choose_driver
    from flask_dbtestcase.settings import Settings

    driver = choose_driver(Settings.load().driver)
    prof = PROFILES[a.profile]
    contenders = a.only.split(",") if a.only else ["raw"] + FLASK + ["django"]
    skip = set(filter(None, a.skip.split(",")))
    from flask_dbtestcase.postgres.server import ThrowawayServer
    from flask_dbtestcase.settings import Settings

    if os.cpu_count() < 2:
        log("warning: fewer than 2 CPUs: the 'split' placement is not meaningful")
    started = time.perf_counter()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    server = ThrowawayServer.start(Settings.load().server_config())
    log(f"bench server started in {time.perf_counter() - t0:.3f} s: {server!r}")
    res: dict = {"placements": {}, "e2e": {}, "driver": driver.name}
    try:
        for placement in a.placements.split(","):
            log(f"placement {placement}:")
            res["placements"][placement] = run_placement(server, contenders, placement, prof)
            if "e2e" not in skip:
                res["e2e"][placement] = measure_e2e(server, placement, prof)
                log(f"  e2e       {placement:6s} done")
        if "startup" not in skip:
            res["startup"] = measure_startup(server, prof)
            log("  start-up done")
    finally:
        server.stop()
    text = report(res, prof, a.profile, contenders)
    header = (
        f"Run: `{' '.join(['python', 'bench/run.py'] + sys.argv[1:])}` ({a.profile} profile: "
        f"{prof}), {time.perf_counter() - started:.0f} s, {time.strftime('%Y-%m-%d %H:%M')}\n\n"
        f"Machine: {versions()}\n\n"
        f"{driver.describe()}\n\n"
        f"Load average (1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}; after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(other work on the machine shows up here: the contenders are interleaved "
        "round by round, so it affects them alike, but the spreads widen)\n"
    )
    print(header + text)
    with open(os.path.join(HERE, "last-run.md"), "w") as f:
        f.write(header + text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()
