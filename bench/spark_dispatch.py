"""Dispatch overhead on Spark (issue: Spark backend benchmark). Prints figures; asserts nothing.

One local[2] session, two workloads, three contenders:
  (a) 20 trials of 1 s    (b) 200 no-op trials
  maggy's Spark backend (2 tasks, one Spark job per experiment) vs Hyperopt SparkTrials
  (parallelism 2, one Spark job per trial) vs the ideal (trial time x trials / 2, no overhead).

Per-trial overhead = (wall - ideal) x 2 / trials: worker time lost per trial, end to end (session
already running; maggy pays its one job launch and driver start inside the figure, Hyperopt its
job per trial). maggy's (a) runs twice: first in this SparkContext ("cold": it also ships maggy's
zip to the executors, whose Python workers then import it), then again ("warm", as every later
experiment in a session). For maggy the steady-state figure (from the driver's timestamps, between a
worker's first trial start and last trial end) is printed too. A warm-up job runs first so that
neither side pays Spark's first Python worker start.

Targets (issue): maggy's per-trial overhead at least 50x below SparkTrials'; (a) within 10% of ideal.

Usage: python bench/spark_dispatch.py [--store PATH] [--hyperopt-noop N]
Needs the bench extra (hyperopt) and pyspark + Java.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import warnings

from dispatch import Span  # bench/dispatch.py: per-worker busy spans from the driver's events

from maggy import Searchspace, experiment

WORKERS = 2
SLOW_TRIALS, SLOW_SECONDS = 20, 1.0
NOOP_TRIALS = 200


def noop(x):
    return x


def one_second(x):
    import time

    time.sleep(1.0)
    return x


def start_spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(f"local[{WORKERS}]")
        .appName("maggy-bench-spark-dispatch")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # Hyperopt's job per trial would flood the terminal
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="maggy-bench-warehouse-"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.parallelize(range(WORKERS), WORKERS).count()  # warm-up: start the Python workers
    return spark


def run_maggy(spark, fn, trials: int, store: str) -> tuple[float, Span]:
    span = Span()
    start = time.perf_counter()
    result = experiment.lagom(
        fn,
        num_trials=trials,
        searchspace=Searchspace(x=("DOUBLE", [0.0, 1.0])),
        num_workers=WORKERS,
        es_policy="none",
        backend=spark,
        store=store,
        progress=False,
        listeners=[span],
        name="bench-spark-dispatch",
    )
    wall = time.perf_counter() - start
    assert result["num_trials"] == trials and result["errors"] == 0, result
    return wall, span


def run_hyperopt(fn, trials: int) -> float:
    from hyperopt import SparkTrials, fmin, hp, rand

    logging.getLogger("hyperopt").setLevel(logging.WARNING)
    start = time.perf_counter()
    fmin(
        fn,
        hp.uniform("x", 0.0, 1.0),
        algo=rand.suggest,
        max_evals=trials,
        trials=SparkTrials(parallelism=WORKERS),
        show_progressbar=False,
    )
    return time.perf_counter() - start


def per_trial(wall: float, ideal: float, trials: int) -> float:
    return (wall - ideal) * WORKERS / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="experiment store (default: a temporary file)")
    parser.add_argument(
        "--hyperopt-noop", type=int, default=NOOP_TRIALS, help="no-op trials for Hyperopt (~1 s each)"
    )
    args = parser.parse_args()
    store = args.store or tempfile.mktemp(suffix=".db")
    spark = start_spark()

    slow_ideal = SLOW_TRIALS * SLOW_SECONDS / WORKERS
    m_cold, _ = run_maggy(spark, one_second, SLOW_TRIALS, store)
    m_slow, m_slow_span = run_maggy(spark, one_second, SLOW_TRIALS, store)
    m_noop, m_noop_span = run_maggy(spark, noop, NOOP_TRIALS, store)
    h_slow = run_hyperopt(one_second, SLOW_TRIALS)
    h_noop = run_hyperopt(noop, args.hyperopt_noop)

    m_cold_pt, m_slow_pt, h_slow_pt = (
        per_trial(m_cold, slow_ideal, SLOW_TRIALS),
        per_trial(m_slow, slow_ideal, SLOW_TRIALS),
        per_trial(h_slow, slow_ideal, SLOW_TRIALS),
    )
    m_noop_pt, h_noop_pt = per_trial(m_noop, 0.0, NOOP_TRIALS), per_trial(h_noop, 0.0, args.hyperopt_noop)
    print(f"Spark {spark.version}, master local[{WORKERS}], {WORKERS} workers / parallelism {WORKERS}")
    print(f"(a) {SLOW_TRIALS} trials of {SLOW_SECONDS:g} s; ideal {slow_ideal:.2f} s")
    print(
        f"    maggy cold {m_cold:6.2f} s = {m_cold / slow_ideal:5.3f} x ideal ({100 * (m_cold / slow_ideal - 1):+.1f}%)"
        f"  overhead {m_cold_pt * 1000:7.1f} ms/trial"
    )
    print(
        f"    maggy     {m_slow:7.2f} s = {m_slow / slow_ideal:5.3f} x ideal ({100 * (m_slow / slow_ideal - 1):+.1f}%)"
        f"  overhead {m_slow_pt * 1000:7.1f} ms/trial"
        f"  (steady state {m_slow_span.overhead_per_trial(SLOW_SECONDS) * 1000:.2f} ms/trial)"
    )
    print(
        f"    hyperopt  {h_slow:7.2f} s = {h_slow / slow_ideal:5.3f} x ideal ({100 * (h_slow / slow_ideal - 1):+.1f}%)"
        f"  overhead {h_slow_pt * 1000:7.1f} ms/trial"
    )
    print(f"(b) no-op trials (maggy {NOOP_TRIALS}, hyperopt {args.hyperopt_noop}); ideal 0 s")
    print(
        f"    maggy     {m_noop:7.2f} s  {NOOP_TRIALS / m_noop:8.1f} trials/s  overhead {m_noop_pt * 1000:7.2f} ms/trial"
        f"  (steady state {m_noop_span.overhead_per_trial(0.0) * 1000:.2f} ms/trial)"
    )
    print(
        f"    hyperopt  {h_noop:7.2f} s  {args.hyperopt_noop / h_noop:8.1f} trials/s  overhead {h_noop_pt * 1000:7.2f} ms/trial"
    )
    print("ratios (hyperopt / maggy per-trial overhead, end to end):")
    print(
        f"    (a) {h_slow_pt / m_slow_pt:8.1f} x (maggy cold: {h_slow_pt / m_cold_pt:.1f} x)"
        f"    (b) {h_noop_pt / m_noop_pt:8.1f} x"
    )
    print("targets: >= 50 x lower per-trial overhead than SparkTrials; (a) within 10% of ideal")
    spark.stop()


if __name__ == "__main__":
    main()
