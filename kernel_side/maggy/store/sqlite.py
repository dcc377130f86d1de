"""The embedded default store: one SQLite file, safe for many threads and many processes.

How it keeps the :class:`~maggy.store.base.ExperimentStore` contract:

* WAL journal, so readers (the CLI, another notebook) never block the writing driver and vice
  versa; a busy timeout makes concurrent writers from other processes wait their turn instead of
  failing with "database is locked".
* One connection per store object, guarded by a lock (``check_same_thread=False``): SQLite
  connections are not safe for concurrent use, and one connection keeps the file-handle count flat
  however many threads the driver runs.
* Autocommit mode and one SQL statement per write, so every write is atomic and committed when the
  method returns; there is never an open transaction to forget.
* Dicts and lists (params, history, logs, info, config, searchspace, result) are JSON text columns,
  so the file stays readable with the ``sqlite3`` shell and needs no pickle.
* A trial's history is its ``trials.history`` (written whole by ``save_trial``) followed by the
  chunks of ``trial_points`` in order (one per ``save_trial_progress``): a running trial's new
  points are appended, never the whole curve rewritten. Its log likewise: ``trials.logs`` then
  the chunks of ``trial_logs``.
* Private: a store file maggy creates is 0600 (SQLite gives its -wal, -shm and -journal files the
  same mode) and the directories it creates for it 0700, as ``~/.ssh``; every param, log line and
  traceback of a user's experiments is in there. Existing files and directories keep their modes
  (a store on shared storage may be group-readable on purpose); ``maggy.store.default_store_path``
  also closes the default ``~/.maggy`` to others.
* ``read_only=True`` opens the file with ``mode=ro`` and never writes (the CLI's reads): it works
  on a read-only filesystem or a file the user may not write. When SQLite cannot open the WAL
  index there (no -shm file and a directory it may not create one in), it opens the file as
  ``immutable``, which does not see the commits still in a -wal file; a store on a read-only
  filesystem has none, since the last writer to close it checkpointed them.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from maggy.core.result import best_trial
from maggy.store.base import (
    UNWRITABLE_HINT,
    ExperimentNotFound,
    ExperimentRecord,
    ExperimentStatus,
    ExperimentStore,
    StoreError,
    TrialSummary,
)
from maggy.trial import HISTORY_LIMIT, TERMINAL_STATES, Trial, TrialState, extend_bounded

#: The states whose trials may be the best one (see ``maggy.core.result.scored_trials``).
_SCORED_STATES = (TrialState.FINISHED, TrialState.EARLY_STOPPED, TrialState.STOPPED)

SCHEMA_VERSION = 3  # kept in PRAGMA user_version; bump with a migration when the tables change
# Version 2 added trial_points, version 3 trial_logs. The migration from 1 or 2 is the CREATE ...
# IF NOT EXISTS below; a read-only open of an older store reads histories from trials.history
# (and logs from trials.logs) alone.

_SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    experiment_id   TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    experiment_type TEXT NOT NULL,
    searchspace     TEXT,              -- JSON object or NULL
    optimizer       TEXT NOT NULL,
    direction       TEXT NOT NULL,
    num_trials      INTEGER NOT NULL,
    config          TEXT NOT NULL,     -- JSON object
    status          TEXT NOT NULL,
    start_time      REAL NOT NULL,
    end_time        REAL,
    result          TEXT               -- JSON object or NULL
);
CREATE INDEX IF NOT EXISTS experiments_by_start ON experiments (start_time);
CREATE TABLE IF NOT EXISTS trials (
    experiment_id TEXT NOT NULL REFERENCES experiments (experiment_id),
    trial_id      INTEGER NOT NULL,
    state         TEXT NOT NULL,
    metric        REAL,
    params        TEXT NOT NULL,       -- JSON object
    history       TEXT NOT NULL,       -- JSON [[step, value], ...]
    logs          TEXT NOT NULL,       -- JSON list of lines
    error         TEXT,
    worker        TEXT,
    start_time    REAL,
    end_time      REAL,
    retry_of      INTEGER,
    budget        REAL,
    info          TEXT NOT NULL,       -- JSON object
    PRIMARY KEY (experiment_id, trial_id)
);
CREATE TABLE IF NOT EXISTS trial_points (
    experiment_id TEXT NOT NULL REFERENCES experiments (experiment_id),
    trial_id      INTEGER NOT NULL,
    chunk         INTEGER NOT NULL,    -- 0, 1, ...: the order of the appends
    points        TEXT NOT NULL,       -- JSON [[step, value], ...]
    PRIMARY KEY (experiment_id, trial_id, chunk)
);
CREATE TABLE IF NOT EXISTS trial_logs (
    experiment_id TEXT NOT NULL REFERENCES experiments (experiment_id),
    trial_id      INTEGER NOT NULL,
    chunk         INTEGER NOT NULL,    -- 0, 1, ...: the order of the appends
    lines         TEXT NOT NULL,       -- JSON list of lines
    PRIMARY KEY (experiment_id, trial_id, chunk)
);
"""

_EXP_COLUMNS = (
    "experiment_id, name, description, experiment_type, searchspace, optimizer, direction, "
    "num_trials, config, status, start_time, end_time, result"
)
_TRIAL_COLUMNS = "trial_id, state, metric, params, history, logs, error, worker, start_time, end_time, retry_of, budget, info"
# What save_trial_progress updates of an existing trial: everything but its history and logs.
_PROGRESS_UPDATE = ", ".join(
    f"{c} = excluded.{c}" for c in _TRIAL_COLUMNS.split(", ") if c not in ("trial_id", "history", "logs")
)
# The appended parts of a trial: (table, its JSON list column, the Trial field it extends).
_APPENDED = (("trial_points", "points", "history"), ("trial_logs", "lines", "logs"))


def _json_default(obj: Any) -> Any:
    # numpy scalars/arrays (params drawn by the optimizer) without importing numpy here.
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    # Anything else: keep a readable trace rather than fail the experiment over a log field.
    return repr(obj)


def _dumps(obj: Any) -> str:
    # allow_nan: a diverging loss (NaN/inf in a history) must round-trip, not raise.
    return json.dumps(obj, default=_json_default, ensure_ascii=False, allow_nan=True)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _scalar(value: Any) -> Any:
    """A number for a REAL/INTEGER column: sqlite3 cannot bind numpy scalars."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


class SQLiteStore(ExperimentStore):
    """An :class:`ExperimentStore` in the SQLite file at ``path`` (created with its directory).

    ``timeout`` is how long, in seconds, a write waits for another process's write to finish.
    ``read_only``: open an existing store for reading only (see the module docstring); every
    write then raises :class:`StoreError`, and a missing file is a StoreError too.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 30.0, read_only: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        # The appended parts this store has: fewer only for an older store opened read-only.
        self._appended: tuple[tuple[str, str, str], ...] = _APPENDED
        try:
            if read_only:
                self._conn = self._connect_read_only(timeout)
            else:
                _create_private(self.path)
                self._conn = sqlite3.connect(
                    self.path, timeout=timeout, isolation_level=None, check_same_thread=False
                )
        except (OSError, sqlite3.Error) as e:  # e.g. no permission on the file or its directory
            hint = "" if read_only else f"; {UNWRITABLE_HINT}"
            raise StoreError(f"cannot open the maggy store {self.path}: {e}{hint}") from e
        try:
            if read_only:
                self._check_schema_read_only()
            else:
                self._init_schema()
        except sqlite3.Error as e:
            self._conn.close()
            if not read_only and _cannot_write(e):  # a full disk, not a broken file
                raise StoreError(
                    f"cannot write to the maggy store {self.path}: {e}; {UNWRITABLE_HINT}"
                ) from e
            raise StoreError(f"{self.path} is not a usable maggy store: {e}") from e
        except StoreError:
            self._conn.close()
            raise

    def _connect_read_only(self, timeout: float) -> sqlite3.Connection:
        if not self.path.is_file():
            raise StoreError(f"no maggy store at {self.path}")
        uri = self.path.resolve().as_uri()

        def connect(flags: str) -> sqlite3.Connection:
            conn = sqlite3.connect(
                f"{uri}?{flags}", uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opens the file for real
            except sqlite3.Error:
                conn.close()
                raise
            return conn

        try:
            return connect("mode=ro")
        except sqlite3.OperationalError:
            # A WAL store in a directory SQLite may not write: it cannot create the -shm index,
            # so read the file as it is (see the module docstring).
            return connect("mode=ro&immutable=1")

    def _check_schema_read_only(self) -> None:
        conn = self._conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer maggy (schema {version} > {SCHEMA_VERSION}); upgrade maggy"
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"experiments", "trials"} <= tables:
            raise StoreError(f"{self.path} is not a maggy store (no experiments table)")
        self._appended = tuple(appended for appended in _APPENDED if appended[0] in tables)

    def _init_schema(self) -> None:
        conn = self._conn
        conn.execute("PRAGMA foreign_keys = ON")  # save_trial for an unknown experiment must fail
        # WAL is a property of the file; on filesystems without shared memory SQLite keeps its
        # rollback journal, which is slower for concurrent readers but still correct.
        conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL is still safe against a crash of this process (only a power loss may
        # drop the last commits) and makes each trial's commit several times cheaper.
        conn.execute("PRAGMA synchronous = NORMAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return  # the usual case: no need to take the write lock just to open
        conn.execute("BEGIN IMMEDIATE")  # serialise first-time creation between processes
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # again, now under the lock
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer maggy (schema {version} > {SCHEMA_VERSION}); upgrade maggy"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _locked(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            if os.getpid() != self._pid:
                # A connection inherited through fork would corrupt the file if used.
                raise StoreError("this store was opened in another process (fork); open a new one here")
            if write and self.read_only:
                raise StoreError(f"store {self.path} was opened read-only")
            yield self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction of several statements: all of them or, on any error, none."""
        with self._locked(write=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                    conn.execute("ROLLBACK")
                raise

    # -- writes -------------------------------------------------------------------------------

    def create_experiment(self, record: ExperimentRecord) -> None:
        row = (
            record.experiment_id,
            record.name,
            record.description,
            record.experiment_type,
            None if record.searchspace is None else _dumps(record.searchspace),
            record.optimizer,
            record.direction,
            _scalar(record.num_trials),
            _dumps(record.config),
            ExperimentStatus(record.status).value,
            _scalar(record.start),
            _scalar(record.end),
            None if record.result is None else _dumps(record.result),
        )
        with self._locked(write=True) as conn:
            try:
                conn.execute(f"INSERT INTO experiments ({_EXP_COLUMNS}) VALUES ({', '.join('?' * 13)})", row)
            except sqlite3.IntegrityError as e:
                raise ValueError(f"experiment {record.experiment_id!r} already exists") from e

    def resume_experiment(self, record: ExperimentRecord) -> None:
        with self._locked(write=True) as conn:
            cur = conn.execute(
                "UPDATE experiments SET name = ?, description = ?, searchspace = ?, optimizer = ?, "
                "num_trials = ?, config = ?, status = ?, end_time = NULL, result = NULL "
                "WHERE experiment_id = ? AND status != ?",
                (
                    record.name,
                    record.description,
                    None if record.searchspace is None else _dumps(record.searchspace),
                    record.optimizer,
                    _scalar(record.num_trials),
                    _dumps(record.config),
                    ExperimentStatus.RUNNING.value,
                    record.experiment_id,
                    ExperimentStatus.RUNNING.value,
                ),
            )
            if cur.rowcount == 0:
                found = conn.execute(
                    "SELECT 1 FROM experiments WHERE experiment_id = ?", (record.experiment_id,)
                ).fetchone()
                if found is None:
                    raise ExperimentNotFound(f"no experiment with id {record.experiment_id!r}")
                raise ValueError(
                    f"experiment {record.experiment_id!r} is running; it cannot be resumed twice"
                )

    def finish_experiment(
        self,
        experiment_id: str,
        status: ExperimentStatus | str,
        end: float,
        result: dict[str, Any] | None,
    ) -> None:
        final = ExperimentStatus(status)
        if not final.is_terminal:
            raise ValueError(f"finish_experiment needs a final status, not {final.value}")
        with self._locked(write=True) as conn:
            cur = conn.execute(
                "UPDATE experiments SET status = ?, end_time = ?, result = ? WHERE experiment_id = ?",
                (final.value, _scalar(end), None if result is None else _dumps(result), experiment_id),
            )
            if cur.rowcount == 0:
                raise ExperimentNotFound(f"no experiment with id {experiment_id!r}")

    def save_trial(self, experiment_id: str, trial: Trial) -> None:
        row = _trial_row(experiment_id, trial, trial.history)
        try:
            with self._transaction() as conn:
                conn.execute(
                    f"INSERT OR REPLACE INTO trials (experiment_id, {_TRIAL_COLUMNS}) VALUES ({', '.join('?' * 14)})",
                    row,
                )
                for table, _, _ in _APPENDED:
                    conn.execute(
                        f"DELETE FROM {table} WHERE experiment_id = ? AND trial_id = ?",
                        (experiment_id, row[1]),
                    )
        except sqlite3.IntegrityError as e:  # the foreign key: no such experiment
            raise ExperimentNotFound(f"no experiment with id {experiment_id!r}; create it first") from e

    def save_trial_progress(
        self,
        experiment_id: str,
        trial: Trial,
        new_points: Sequence[Sequence[float]],
        new_logs: Sequence[str] = (),
    ) -> None:
        row = _trial_row(experiment_id, replace(trial, logs=[]), [])
        chunks = ([list(p) for p in new_points], list(new_logs))
        try:
            with self._transaction() as conn:
                conn.execute(
                    f"INSERT INTO trials (experiment_id, {_TRIAL_COLUMNS}) VALUES ({', '.join('?' * 14)}) "
                    f"ON CONFLICT (experiment_id, trial_id) DO UPDATE SET {_PROGRESS_UPDATE}",
                    row,
                )
                for (table, column, _), chunk in zip(_APPENDED, chunks, strict=True):
                    if chunk:
                        conn.execute(
                            f"INSERT INTO {table} (experiment_id, trial_id, chunk, {column}) VALUES (?, ?, "
                            f"(SELECT COALESCE(MAX(chunk), -1) + 1 FROM {table} "
                            "WHERE experiment_id = ? AND trial_id = ?), ?)",
                            (experiment_id, row[1], experiment_id, row[1], _dumps(chunk)),
                        )
        except sqlite3.IntegrityError as e:  # the foreign key: no such experiment
            raise ExperimentNotFound(f"no experiment with id {experiment_id!r}; create it first") from e

    # -- reads --------------------------------------------------------------------------------

    def list_experiments(self, limit: int | None = None) -> list[ExperimentRecord]:
        # LIMIT -1 is SQLite for "no limit".
        n = -1 if limit is None else max(0, int(limit))
        with self._locked() as conn:
            rows = conn.execute(
                f"SELECT {_EXP_COLUMNS} FROM experiments ORDER BY start_time DESC, experiment_id DESC LIMIT ?",
                (n,),
            ).fetchall()
        return [_record(r) for r in rows]

    def running_experiments(self) -> list[ExperimentRecord]:
        with self._locked() as conn:
            rows = conn.execute(
                f"SELECT {_EXP_COLUMNS} FROM experiments WHERE status = ? "
                "ORDER BY start_time DESC, experiment_id DESC",
                (ExperimentStatus.RUNNING.value,),
            ).fetchall()
        return [_record(r) for r in rows]

    def get_experiment(self, experiment_id: str) -> ExperimentRecord:
        query = experiment_id.strip()
        if not query:
            raise ExperimentNotFound("empty experiment id; run 'maggy experiments list' to see ids")
        with self._locked() as conn:
            row = conn.execute(
                f"SELECT {_EXP_COLUMNS} FROM experiments WHERE experiment_id = ?", (query,)
            ).fetchone()
            if row is not None:
                return _record(row)
            rows = conn.execute(
                f"SELECT {_EXP_COLUMNS} FROM experiments WHERE substr(experiment_id, 1, ?) = ? "
                "ORDER BY start_time DESC LIMIT 6",
                (len(query), query),
            ).fetchall()
            if len(rows) == 1:
                return _record(rows[0])
            if rows:
                shown = ", ".join(r[0] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
                raise ExperimentNotFound(
                    f"id prefix {query!r} matches several experiments ({shown}); type more of the id"
                )
            hint = self._near_matches(conn, query)
        raise ExperimentNotFound(
            f"no experiment with id {query!r}{hint}; run 'maggy experiments list' to see ids"
        )

    @staticmethod
    def _near_matches(conn: sqlite3.Connection, query: str) -> str:
        """A ' (did you mean ...)' hint: ids of experiments *named* ``query``, else similar ids."""
        named = [
            r[0]
            for r in conn.execute(
                "SELECT experiment_id FROM experiments WHERE name = ? ORDER BY start_time DESC LIMIT 3",
                (query,),
            )
        ]
        if named:
            return f" (experiments named {query!r}: {', '.join(named)})"
        ids = [r[0] for r in conn.execute("SELECT experiment_id FROM experiments")]
        close = difflib.get_close_matches(query, ids, n=3, cutoff=0.6)
        return f" (did you mean {', '.join(close)}?)" if close else ""

    def get_trials(self, experiment_id: str, with_history: bool = True) -> list[Trial]:
        columns = (
            _TRIAL_COLUMNS
            if with_history
            else _TRIAL_COLUMNS.replace("history", "'[]'").replace("logs", "'[]'")
        )
        with self._locked() as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM trials WHERE experiment_id = ? ORDER BY trial_id",
                (experiment_id,),
            ).fetchall()
            if (
                not rows
                and conn.execute(
                    "SELECT 1 FROM experiments WHERE experiment_id = ?", (experiment_id,)
                ).fetchone()
                is None
            ):
                raise ExperimentNotFound(f"no experiment with id {experiment_id!r}")
            trials = [_trial(r) for r in rows]
            if not (rows and with_history):
                return trials
            by_id = {t.trial_id: t for t in trials}
            for table, column, field in self._appended:
                for trial_id, text in conn.execute(
                    f"SELECT trial_id, {column} FROM {table} WHERE experiment_id = ? ORDER BY trial_id, chunk",
                    (experiment_id,),
                ):
                    trial = by_id.get(trial_id)
                    if trial is not None:  # chunks of a trial row that is gone are no one's
                        getattr(trial, field).extend(_loads(text))
        return trials

    def get_histories(self, experiment_id: str, limit: int = HISTORY_LIMIT) -> dict[int, list[list[float]]]:
        histories: dict[int, list[list[float]]] = {}
        with self._locked() as conn:
            if (
                conn.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", (experiment_id,)).fetchone()
                is None
            ):
                raise ExperimentNotFound(f"no experiment with id {experiment_id!r}")
            # What save_trial wrote whole sits in the trial's row, what came later in appended
            # chunks (get_trials' order). Chunk by chunk, thinned as they come: never more than
            # ``limit`` points of a trial (plus one chunk) in memory, however long the curves.
            for trial_id, text in conn.execute(
                "SELECT trial_id, history FROM trials WHERE experiment_id = ? AND history != '[]'",
                (experiment_id,),
            ):
                extend_bounded(histories.setdefault(trial_id, []), _loads(text), limit)
            for trial_id, text in conn.execute(
                "SELECT trial_id, points FROM trial_points WHERE experiment_id = ? ORDER BY trial_id, chunk",
                (experiment_id,),
            ):
                extend_bounded(histories.setdefault(trial_id, []), _loads(text), limit)
        return {trial_id: points for trial_id, points in histories.items() if points}

    def trial_summary(self, experiment_id: str, direction: str) -> TrialSummary:
        terminal = tuple(s.value for s in TERMINAL_STATES)
        marks = ", ".join("?" * len(terminal))
        with self._locked() as conn:
            total, done = conn.execute(
                f"SELECT COUNT(*), COALESCE(SUM(state IN ({marks})), 0) FROM trials WHERE experiment_id = ?",
                (*terminal, experiment_id),
            ).fetchone()
            # The candidates' scoring columns only (no histories), judged by maggy's one rule.
            candidates = [
                Trial(trial_id, {}, state=TrialState(state), metric=metric, budget=budget)
                for trial_id, state, metric, budget in conn.execute(
                    "SELECT trial_id, state, metric, budget FROM trials WHERE experiment_id = ? "
                    "AND metric IS NOT NULL AND state IN (?, ?, ?)",
                    (experiment_id, *(s.value for s in _SCORED_STATES)),
                )
            ]
            if (
                not total
                and conn.execute(
                    "SELECT 1 FROM experiments WHERE experiment_id = ?", (experiment_id,)
                ).fetchone()
                is None
            ):
                raise ExperimentNotFound(f"no experiment with id {experiment_id!r}")
        best = best_trial(candidates, direction)
        return TrialSummary(
            total=total,
            done=done,
            best_id=None if best is None else best.trial_id,
            best_metric=None if best is None else best.metric,
        )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if os.getpid() == self._pid:  # never close a connection inherited through fork
                self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"


# SQLite's primary result codes that mean "cannot write here" rather than "not a store": PERM,
# READONLY, IOERR (EFBIG, EIO), FULL, CANTOPEN.
_WRITE_FAILURES = frozenset({3, 8, 10, 13, 14})


def _cannot_write(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in _WRITE_FAILURES
    text = str(error).lower()
    return any(word in text for word in ("disk", "readonly", "read-only", "unable to open"))


def _create_private(path: Path) -> None:
    """Create ``path``'s missing directories 0700 and the file itself 0600, if missing (see the
    module docstring); SQLite then gives its side files the file's mode."""
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _trial_row(experiment_id: str, trial: Trial, history: Any) -> tuple[Any, ...]:
    return (
        experiment_id,
        _scalar(trial.trial_id),
        TrialState(trial.state).value,
        _scalar(trial.metric),
        _dumps(trial.params),
        _dumps(history),
        _dumps(trial.logs),
        trial.error,
        trial.worker,
        _scalar(trial.start),
        _scalar(trial.end),
        _scalar(trial.retry_of),
        _scalar(trial.budget),
        _dumps(trial.info),
    )


def _record(row: tuple[Any, ...]) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=row[0],
        name=row[1],
        description=row[2],
        experiment_type=row[3],
        searchspace=_loads(row[4]),
        optimizer=row[5],
        direction=row[6],
        num_trials=row[7],
        config=_loads(row[8]),
        status=row[9],
        start=row[10],
        end=row[11],
        result=_loads(row[12]),
    )


def _trial(row: tuple[Any, ...]) -> Trial:
    return Trial(
        trial_id=row[0],
        state=TrialState(row[1]),
        metric=row[2],
        params=_loads(row[3]),
        history=_loads(row[4]),
        logs=_loads(row[5]),
        error=row[6],
        worker=row[7],
        start=row[8],
        end=row[9],
        retry_of=row[10],
        budget=row[11],
        info=_loads(row[12]),
    )
