"""The search journal: SQLite in WAL mode, one row per candidate attempt, each change
committed as soon as it is known, so a run killed at any moment loses nothing finished
and `--resume` knows exactly where it stood.

A row moves through: proposed -> evaluating -> evaluated | failed, or ends as failed
(did not compile, no policy in the answer, the LLM call failed) or duplicate (its
canonical hash was seen before; never evaluated twice). A row left `evaluating` by a
killed run is the one in flight; resuming evaluates it again.

Each fitness evaluation is a row of `evaluations`: its candidate, fidelity (fine-tune
epochs), seed, result and timing. A candidate is evaluated once at each rung it reaches
and again with fresh seeds when it is confirmed; its row carries its score: the mean
(`fitness`), standard deviation and count of its evaluations at the highest fidelity it
reached, so every reader of candidates sees the score. An evaluation and the score it
changes are one transaction. A journal from before evaluations had a table gets one,
filled from its candidates, when it is opened for writing; read-only, it reads without.

Every text written is redacted (autoda.secrets) and made valid UTF-8. Nothing read is
trusted: a journal may come from an older version or be damaged, so each value is checked
as it is read (a token count that is not a count reads as 0, a fitness that is not an
accuracy as none) and a row that cannot be read at all is left out and counted in
``skipped``. A run's writer holds the run folder's lock (`run.lock`) for its life; readers
(`runs show`, `report`) open the file read-only and work on a read-only folder.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import sqlite3
import statistics
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from ..errors import AutodaError, FailureKind
from ..secrets import redact, redact_all

LOCK = "run.lock"
MAX_COUNT = 10**9  # a token count above this is not a count

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generation INTEGER NOT NULL,      -- -1 for reference policies, 0 for the initial population
    slot INTEGER NOT NULL,            -- which offspring of the generation
    attempt INTEGER NOT NULL,         -- 0, then one per repair
    operator TEXT NOT NULL,           -- baseline, initialise, crossover, mutate, simple
    parents TEXT NOT NULL,            -- JSON list of candidate ids
    proposer TEXT NOT NULL,
    status TEXT NOT NULL,             -- proposed, evaluating, evaluated, failed, duplicate
    policy_text TEXT, policy_hash TEXT, policy_name TEXT, idea TEXT,
    prompt TEXT, response TEXT, diagnostics TEXT,
    fitness REAL, validation TEXT, failure TEXT, message TEXT,
    tokens_prompt INTEGER NOT NULL DEFAULT 0, tokens_completion INTEGER NOT NULL DEFAULT 0, request_id TEXT,
    propose_seconds REAL, eval_seconds REAL, created REAL NOT NULL, finished REAL,
    final INTEGER NOT NULL DEFAULT 0,  -- 1 on the row that ends its slot (evaluated, or out of attempts)
    fidelity INTEGER,                  -- the highest fine-tune epochs it was evaluated at; fitness is there
    fitness_std REAL, fitness_n INTEGER,  -- over its evaluations at that fidelity (fitness is their mean)
    constrained TEXT                   -- the grammar form an LLM's answer was held to; NULL: unconstrained
);
CREATE INDEX IF NOT EXISTS by_hash ON candidates (policy_hash);
CREATE INDEX IF NOT EXISTS by_slot ON candidates (generation, slot);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate INTEGER NOT NULL,       -- the candidates row evaluated
    n_ft INTEGER,                     -- the fidelity: fine-tune epochs (NULL: the run's, not known to the writer)
    seed INTEGER,                     -- the fine-tune's seed
    purpose TEXT NOT NULL,            -- rung (at a rung, the run's seed), confirm (a fresh seed, at the top rung)
                                      -- or scratch (a fresh seed, the whole schedule from scratch)
    status TEXT NOT NULL,             -- evaluating, evaluated, failed
    fitness REAL, validation TEXT, failure TEXT, message TEXT,
    seconds REAL, created REAL NOT NULL, finished REAL
);
CREATE INDEX IF NOT EXISTS by_candidate ON evaluations (candidate);
"""
# columns a journal written by an older version may lack, added when it is opened for writing
_ADDED_COLUMNS = {"final": "INTEGER NOT NULL DEFAULT 0", "request_id": "TEXT", "diagnostics": "TEXT",
                  "propose_seconds": "REAL", "eval_seconds": "REAL", "finished": "REAL",
                  "tokens_prompt": "INTEGER NOT NULL DEFAULT 0", "tokens_completion": "INTEGER NOT NULL DEFAULT 0",
                  "fidelity": "INTEGER", "fitness_std": "REAL", "fitness_n": "INTEGER", "constrained": "TEXT"}
_REQUIRED_COLUMNS = {"id", "generation", "slot", "attempt", "operator", "parents", "proposer", "status"}

# the SQL twins of _count and _fitness below, for the aggregates
_COUNT_SQL = ("(CASE WHEN typeof({0}) IN ('integer', 'real') AND {0} BETWEEN 0 AND %d AND {0} = CAST({0} AS INTEGER) "
              "THEN {0} ELSE 0 END)" % MAX_COUNT)
_FITNESS_SQL = "typeof(fitness) IN ('integer', 'real') AND fitness BETWEEN 0 AND 1"


class JournalError(AutodaError, RuntimeError):
    """The journal cannot be opened as asked: damaged, not a journal, busy, or unwritable."""


@dataclass
class Candidate:
    id: int
    generation: int
    slot: int
    attempt: int
    operator: str
    parents: list[int]
    proposer: str
    status: str
    policy_text: str | None
    policy_hash: str | None
    policy_name: str | None
    idea: str | None
    fitness: float | None
    validation: dict | None
    failure: str | None  # a FailureKind's value, or python_<kind>; read as the plain word (older journals too)
    message: str | None
    tokens_prompt: int
    tokens_completion: int
    eval_seconds: float | None
    prompt: str | None
    response: str | None
    request_id: str | None
    fidelity: int | None = None  # fine-tune epochs of the evaluations its fitness is the mean of
    fitness_std: float | None = None  # their standard deviation (None for fewer than two)
    fitness_n: int = 0  # how many

    @property
    def ok(self) -> bool:
        return self.status == "evaluated" and self.fitness is not None

    @property
    def rank_key(self) -> tuple:
        """Best first: the highest fidelity reached, then the most seeds there, then the
        highest mean, then the earliest. A short fine-tune's number is not set against a long
        one's, nor one draw against the mean of several (the best of many single draws is
        the luckiest, not the best: the confirmation's seeds are what tells)."""
        return (-(self.fidelity or 0), -(self.fitness_n or 0), -(self.fitness or 0.0), self.id)

    @property
    def mean_key(self) -> tuple:
        """The highest fidelity, then the highest mean whatever the seeds (which leader the
        confirmation tries next)."""
        return (-(self.fidelity or 0), -(self.fitness or 0.0), self.id)


@dataclass
class Evaluation:
    """One fitness evaluation of a candidate, as journaled."""

    id: int
    candidate: int
    n_ft: int | None
    seed: int | None
    purpose: str  # rung, confirm or scratch
    status: str  # evaluating, evaluated, failed
    fitness: float | None
    validation: str | None  # as stored (JSON), so a single evaluation's is copied to its candidate unchanged
    failure: str | None
    message: str | None
    seconds: float | None

    @property
    def ok(self) -> bool:
        return self.status == "evaluated" and self.fitness is not None

    @property
    def counted(self) -> bool:
        """Whether it counts in its candidate's mean: a success, or a failure of the policy's own
        (as accuracy 0); not an evaluation whose worker was lost."""
        return self.ok or (self.status == "failed" and self.failure != FailureKind.WORKER_LOST.value)


class RunLock:
    """An exclusive flock on the run folder's lock file: two searches never write one
    journal. The kernel drops it when the process dies, so a killed run leaves none."""

    def __init__(self, folder: Path) -> None:
        path = folder / LOCK
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise JournalError(f"cannot write in {folder}: {error.strerror}") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self.fd, 32, 0).decode("ascii", "replace").strip()
            os.close(self.fd)
            raise JournalError(f"{folder} is in use by another search{f' (process {holder})' if holder.isdigit() else ''}; "
                               "wait for it to end") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the lock
            self.fd = None


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """Read-only: mode=ro, or, where even that cannot work (a WAL journal in a folder this
    process may not write: SQLite cannot make its shared-memory file), immutable."""
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)


class Journal:
    def __init__(self, path: str | Path, *, read_only: bool = False, lock: bool = False) -> None:
        """Open (or create) a journal; ``read_only`` never writes (nor creates) anything,
        ``lock`` holds the run folder's lock until close."""
        self.path = Path(path)
        self.read_only = read_only
        self.skipped = 0  # rows of the last read that could not be read at all
        self.lock: RunLock | None = None
        self.db: sqlite3.Connection | None = None
        self.has_evaluations = self._has_fidelity = False
        try:
            if read_only:
                if not self.path.is_file():  # a FIFO or device is never opened
                    raise JournalError(f"{self.path}: {'not a file' if self.path.exists() else 'no such journal'}")
                self.db = _read_only_connection(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if lock:
                    self.lock = RunLock(self.path.parent)
                self.db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: each write is durable
            self._check()  # before anything is written to it
            if not read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                had_evaluations = self._has_table("evaluations")
                self.db.executescript(SCHEMA)
                self._add_missing_columns()
                if not had_evaluations:
                    self._fill_evaluations()
            self.has_evaluations = self._has_table("evaluations")  # an older journal, read-only, has none
            self._has_fidelity = any(row[1] == "fidelity" for row in self.db.execute("PRAGMA table_info(candidates)"))
        except sqlite3.DatabaseError as error:
            self.close()
            raise JournalError(f"{self.path} is damaged or not a journal ({error})") from None
        except OSError as error:
            self.close()
            raise JournalError(f"cannot open {self.path}: {error.strerror or error}") from None
        except JournalError:
            self.close()
            raise
        self.db.row_factory = sqlite3.Row

    def _check(self) -> None:
        """A journal SQLite can read through, with a candidates table (or none yet, for a writer)."""
        verdict = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if verdict != "ok":
            raise JournalError(f"{self.path} is damaged ({verdict})")
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(candidates)")}
        if self.read_only and not _REQUIRED_COLUMNS <= columns:
            raise JournalError(f"{self.path} holds no search journal")
        if columns and not _REQUIRED_COLUMNS <= columns:
            raise JournalError(f"{self.path} is not a search journal (its candidates table lacks "
                               f"{', '.join(sorted(_REQUIRED_COLUMNS - columns))})")

    def _add_missing_columns(self) -> None:
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(candidates)")}
        for name, declaration in _ADDED_COLUMNS.items():
            if name not in columns:
                self.db.execute(f"ALTER TABLE candidates ADD COLUMN {name} {declaration}")
                if name == "final":  # an evaluated candidate ended its slot
                    self.db.execute("UPDATE candidates SET final = 1 WHERE status = 'evaluated'")

    def _has_table(self, name: str) -> bool:
        found = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        return found is not None

    def _fill_evaluations(self) -> None:
        """An older journal's finished evaluations as rows of the new table (one per candidate,
        at its run's n_ft and seed), and its candidates' fidelity, so a resumed run ranks
        them beside its new ones."""
        config = self.meta("config")
        config = config if isinstance(config, dict) else {}
        n_ft, seed = _int(config.get("n_ft")), _int(config.get("seed"))
        with self._transaction():
            self.db.execute("INSERT INTO evaluations (candidate, n_ft, seed, purpose, status, fitness, validation, "
                            "failure, message, seconds, created, finished) SELECT id, ?, ?, 'rung', status, fitness, "
                            "validation, failure, message, eval_seconds, COALESCE(created, 0), finished "
                            "FROM candidates WHERE eval_seconds IS NOT NULL AND status IN ('evaluated', 'failed') "
                            "ORDER BY id", (n_ft, seed))
            self.db.execute("UPDATE candidates SET fidelity = ?, fitness_n = 1 WHERE eval_seconds IS NOT NULL "
                            "AND status = 'evaluated'", (n_ft,))

    @contextlib.contextmanager
    def _transaction(self):
        """Writes that stand or fall together (an evaluation and the score it changes)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            self.db = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    # --- run metadata --------------------------------------------------------------------

    def set_meta(self, key: str, value: object) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, _json(value)))

    def meta(self, key: str, default: object = None) -> object:
        """A stored value, or ``default`` when it is missing or unreadable."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # no meta table: a journal from elsewhere
            return default
        if row is None or not isinstance(row[0], str):
            return default
        try:
            return json.loads(row[0])
        except (ValueError, RecursionError):
            return default

    # --- writing -------------------------------------------------------------------------

    def add(self, generation: int, slot: int, attempt: int, operator: str, parents: list[int], proposer: str,
            **fields) -> int:
        columns = {"generation": generation, "slot": slot, "attempt": attempt, "operator": operator,
                   "parents": json.dumps(parents), "proposer": proposer, "status": "proposed",
                   "created": time.time(), **fields}
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        values = tuple(_column(v) for v in columns.values())
        return self.db.execute(f"INSERT INTO candidates ({names}) VALUES ({marks})", values).lastrowid

    def update(self, row: int, **fields) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE candidates SET {sets} WHERE id = ?", (*(_column(v) for v in fields.values()), row))

    def start_evaluation(self, candidate: int, n_ft: int | None, seed: int | None, purpose: str,
                         first: bool = False) -> int:
        """A new evaluation, in flight; ``first``: the candidate's first, which puts the
        candidate in flight with it (one transaction: a resume finds both or neither)."""
        with self._transaction():
            if first:
                self.update(candidate, status="evaluating")
            return self.db.execute("INSERT INTO evaluations (candidate, n_ft, seed, purpose, status, created) "
                                   "VALUES (?, ?, ?, ?, 'evaluating', ?)",
                                   (candidate, n_ft, seed, purpose, time.time())).lastrowid

    def finish_evaluation(self, record: int, result) -> Evaluation:
        """Journal an evaluation's result (an autoda.engine.train.fitness.FitnessResult) and
        its candidate's new score, in one transaction."""
        with self._transaction():
            self.db.execute("UPDATE evaluations SET status = ?, fitness = ?, validation = ?, failure = ?, message = ?, "
                            "seconds = ?, finished = ? WHERE id = ?",
                            ("evaluated" if result.ok else "failed", result.fitness, _column(result.validation),
                             _column(result.failure), _column(result.message), result.seconds, time.time(), record))
            evaluation = self._records("id = ?", (record,))[0]
            finished = self._records("candidate = ? AND status != 'evaluating'", (evaluation.candidate,))
            self.update(evaluation.candidate, **score(finished))
        return evaluation

    # --- reading -------------------------------------------------------------------------

    def _candidates(self, where: str = "1", args: tuple = ()) -> list[Candidate]:
        rows = self.db.execute(f"SELECT * FROM candidates WHERE {where} ORDER BY id", args).fetchall()
        candidates = [_candidate(r) for r in rows]
        self.skipped = sum(c is None for c in candidates)
        return [c for c in candidates if c is not None]

    def all(self) -> list[Candidate]:
        return self._candidates()

    def evaluated(self) -> list[Candidate]:
        """Candidates with a fitness (an accuracy) and the policy that earned it."""
        return [c for c in self._candidates(f"status = 'evaluated' AND {_FITNESS_SQL}")
                if c.fitness is not None and c.policy_text]

    def in_flight(self) -> list[Candidate]:
        return self._candidates("status = 'evaluating'")

    def candidate(self, row: int) -> Candidate | None:
        found = self._candidates("id = ?", (row,))
        return found[0] if found else None

    def _records(self, where: str = "1", args: tuple = ()) -> list[Evaluation]:
        if not self.has_evaluations:
            return []
        rows = self.db.execute(f"SELECT * FROM evaluations WHERE {where} ORDER BY id", args).fetchall()
        return [e for e in map(_evaluation, rows) if e is not None]

    def records(self, candidate: int | None = None) -> list[Evaluation]:
        """Every evaluation journaled (of one candidate), in journal order."""
        return self._records() if candidate is None else self._records("candidate = ?", (candidate,))

    def open_records(self) -> list[Evaluation]:
        """Evaluations in flight: left so by a killed run, or running now."""
        return self._records("status = 'evaluating'")

    def record(self, candidate: int, n_ft: int | None, seed: int | None) -> Evaluation | None:
        """The candidate's evaluation at this fidelity and seed, finished or in flight, or None."""
        found = self._records("candidate = ? AND n_ft IS ? AND seed IS ?", (candidate, n_ft, seed))
        return found[0] if found else None

    def from_scratch(self, candidate: Candidate) -> bool:
        """Whether the candidate's score is of trainings from scratch (the confirmation's last step)."""
        return any(e.purpose == "scratch" and e.n_ft == candidate.fidelity for e in self.records(candidate.id))

    def scores(self, n_ft: int | None, seed: int | None) -> dict[int, float]:
        """{candidate: fitness} of the successful evaluations at this fidelity and seed."""
        return {e.candidate: e.fitness for e in self._records("n_ft IS ? AND seed IS ?", (n_ft, seed)) if e.ok}

    def seen(self, policy_hash: str) -> bool:
        """Has this behaviour been evaluated, or is it being evaluated?"""
        row = self.db.execute("SELECT 1 FROM candidates WHERE policy_hash = ? AND (status = 'evaluating' "
                              "OR eval_seconds IS NOT NULL) LIMIT 1", (policy_hash,)).fetchone()
        return row is not None

    def names_taken(self, policy_hash: str) -> set[str]:
        """The names the journal's other behaviours (any hash but this one) go by."""
        rows = self.db.execute("SELECT DISTINCT policy_name FROM candidates WHERE policy_name IS NOT NULL "
                               "AND policy_hash IS NOT ?", (policy_hash,)).fetchall()
        return {name for (name,) in rows}

    def slot_done(self, generation: int, slot: int) -> bool:
        """Did this offspring slot end: a candidate evaluated, or no attempts left?"""
        row = self.db.execute("SELECT 1 FROM candidates WHERE generation = ? AND slot = ? AND final = 1 LIMIT 1",
                              (generation, slot)).fetchone()
        return row is not None

    def attempts(self, generation: int, slot: int) -> int:
        row = self.db.execute("SELECT COUNT(*) AS n FROM candidates WHERE generation = ? AND slot = ?",
                              (generation, slot)).fetchone()
        return row["n"]

    def tokens(self) -> int:
        row = self.db.execute(f"SELECT TOTAL({_COUNT_SQL.format('tokens_prompt')} + "
                              f"{_COUNT_SQL.format('tokens_completion')}) AS n FROM candidates").fetchone()
        return int(row["n"])

    def evaluations(self) -> int:
        """Finished fitness evaluations (one per candidate, in a journal from before evaluations had a table)."""
        if not self.has_evaluations:
            return self.db.execute("SELECT COUNT(*) FROM candidates WHERE eval_seconds IS NOT NULL").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM evaluations WHERE status != 'evaluating'").fetchone()[0]

    def epochs(self, default: int | None = None) -> int:
        """Fine-tune epochs of the finished evaluations; ``default`` for one whose n_ft was not recorded."""
        if not self.has_evaluations:
            return 0
        row = self.db.execute("SELECT TOTAL(COALESCE(n_ft, ?)) FROM evaluations WHERE status != 'evaluating' "
                              "AND typeof(COALESCE(n_ft, ?)) = 'integer'", (default, default)).fetchone()
        return int(row[0])

    def seconds_per_epoch(self, candidate: int | None = None) -> float | None:
        """What an epoch has cost so far (successful evaluations of known fidelity; of one
        candidate's, when given), or None."""
        if not self.has_evaluations:
            return None
        which = "" if candidate is None else " AND candidate = ?"
        seconds, epochs = self.db.execute("SELECT TOTAL(seconds), TOTAL(n_ft) FROM evaluations WHERE status = "
                                          "'evaluated' AND typeof(n_ft) = 'integer' AND n_ft > 0 AND typeof(seconds) "
                                          f"IN ('integer', 'real') AND seconds >= 0{which}",
                                          () if candidate is None else (candidate,)).fetchone()
        return seconds / epochs if epochs else None

    def best_fitness(self) -> float | None:
        """The best candidate's fitness (references aside; ranked as Candidate.rank_key), or None."""
        order = "fitness DESC"
        if self._has_fidelity:  # an older journal, read-only, has no fidelity: all are alike
            order = (f"(CASE WHEN typeof(fidelity) = 'integer' THEN fidelity ELSE 0 END) DESC, "
                     f"(CASE WHEN typeof(fitness_n) = 'integer' THEN fitness_n ELSE 0 END) DESC, {order}")
        row = self.db.execute(f"SELECT fitness FROM candidates WHERE status = 'evaluated' AND {_FITNESS_SQL} "
                              f"AND generation >= 0 ORDER BY {order} LIMIT 1").fetchone()
        return None if row is None else _fitness(row["fitness"])

    def evaluation_failures(self) -> list[str]:
        """Failure kinds of the evaluations that failed after their candidate's first succeeded
        (a seed or a rung it did not survive); the candidate rows say the others."""
        if not self.has_evaluations:
            return []
        rows = self.db.execute("SELECT e.failure FROM evaluations e JOIN candidates c ON c.id = e.candidate "
                               "WHERE e.status = 'failed' AND c.status = 'evaluated' ORDER BY e.id").fetchall()
        return [_text(r[0]) or "?" for r in rows]

    def failures(self) -> int:
        row = self.db.execute("SELECT COUNT(*) AS n FROM candidates WHERE failure IS NOT NULL").fetchone()
        return row["n"]

    def has_candidates(self) -> bool:
        """Whether the run has journaled anything of its own: a reference, an answer (even a
        failed one, whose tokens were spent), an evaluation (each has its candidate)."""
        return self.db.execute("SELECT 1 FROM candidates LIMIT 1").fetchone() is not None


# --- values in --------------------------------------------------------------------------

def _text_in(text: str) -> str:
    """Valid UTF-8 (SQLite refuses lone surrogates), with any key redacted."""
    return redact(text.encode("utf-8", "replace").decode("utf-8"))


def _json(value: object) -> str:
    return _text_in(json.dumps(redact_all(value)))


def _column(value: object) -> object:
    if isinstance(value, FailureKind):  # stored as its word, which every version reads back
        value = value.value
    if isinstance(value, str):
        return _text_in(value)
    return _json(value) if isinstance(value, (dict, list, tuple)) else value


# --- values out: whatever the file holds --------------------------------------------------

def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit():
        return int(value) if len(value) < 20 else None
    return None


def _count(value: object) -> int:
    n = _int(value)
    return n if n is not None and 0 <= n <= MAX_COUNT else 0


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fitness(value: object) -> float | None:
    """An accuracy in [0, 1], or None."""
    value = _number(value)
    return value if value is not None and 0.0 <= value <= 1.0 else None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _loads(value: object) -> object:
    if not isinstance(value, (str, bytes)):
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


def _validation(value: object) -> dict | None:
    """Validation results with every accuracy a number in [0, 1] or None."""
    data = _loads(value)
    if not isinstance(data, dict):
        return None
    clean = {k: v for k, v in data.items() if k not in ("many", "medium", "few", "all", "per_class")}
    clean.update({k: _fitness(data.get(k)) for k in ("many", "medium", "few", "all")})
    if isinstance(data.get("per_class"), list):
        clean["per_class"] = [_fitness(v) for v in data["per_class"]]
    return clean


def _evaluation(row: sqlite3.Row) -> Evaluation | None:
    """A row of evaluations, every value checked; None when its identity cannot be read."""
    get = dict(zip(row.keys(), row)).get
    identity = [_int(get("id")), _int(get("candidate"))]
    if any(v is None for v in identity) or not isinstance(get("status"), str):
        return None
    n_ft, seconds = _int(get("n_ft")), _number(get("seconds"))
    return Evaluation(*identity, n_ft if n_ft is not None and n_ft >= 1 else None, _int(get("seed")),
                      _text(get("purpose")) or "rung", get("status"), _fitness(get("fitness")),
                      get("validation") if isinstance(get("validation"), str) else None, _text(get("failure")),
                      _text(get("message")), seconds if seconds is None or seconds >= 0 else None)


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def _mean_validation(texts: list[str | None]) -> dict | None:
    """The mean of several evaluations' validation results: each accuracy over those that have
    it (per class too); anything else (group sizes) as the first has it."""
    results = [v for v in map(_validation, texts) if v is not None]
    if not results:
        return None
    mean = dict(results[0])
    for key in ("many", "medium", "few", "all"):
        values = [r[key] for r in results if r.get(key) is not None]
        mean[key] = _mean(values) if values else None
    rows = [r["per_class"] for r in results if isinstance(r.get("per_class"), list)]
    if rows and all(len(row) == len(rows[0]) for row in rows):
        columns = [[a for a in column if a is not None] for column in zip(*rows)]
        mean["per_class"] = [_mean(column) if column else None for column in columns]
    return mean


def score(finished: list[Evaluation]) -> dict:
    """A candidate's columns from its finished evaluations (at least one): failed when none
    succeeded (with the first failure, as a single evaluation always was); else its score at
    the highest fidelity it succeeded at: the mean, standard deviation and count of its
    evaluations there, a failure there counting as accuracy 0 (a policy that diverges for
    one seed in three is not scored on the other two), a lost worker not counting. The
    validation results are the mean of the successful ones; a single evaluation's are
    copied unchanged."""
    common = {"eval_seconds": sum(e.seconds or 0 for e in finished), "finished": time.time(), "final": 1}
    ok = [e for e in finished if e.ok]
    if not ok:
        first = finished[0]
        return {**common, "status": "failed", "fitness": None, "validation": None, "failure": first.failure,
                "message": first.message, "fidelity": None, "fitness_std": None, "fitness_n": 0}
    fidelity = max((e.n_ft for e in ok), key=lambda n: n or 0)
    counted = [e for e in finished if e.n_ft == fidelity and e.counted]
    values = [e.fitness if e.ok else 0.0 for e in counted]
    successes = [e.validation for e in counted if e.ok]
    return {**common, "status": "evaluated", "fitness": _mean(values), "failure": None, "message": None,
            "validation": successes[0] if len(successes) == 1 else _mean_validation(successes),
            "fidelity": fidelity, "fitness_std": statistics.stdev(values) if len(values) > 1 else None,
            "fitness_n": len(values)}


def _candidate(row: sqlite3.Row) -> Candidate | None:
    """A row as a Candidate, every value checked; None when its identity cannot be read."""
    values = dict(zip(row.keys(), row))
    get = values.get
    identity = [_int(get(k)) for k in ("id", "generation", "slot", "attempt")]
    if any(v is None for v in identity) or not isinstance(get("status"), str):
        return None
    parents = _loads(get("parents"))
    parents = [p for p in parents if isinstance(p, int) and not isinstance(p, bool)] if isinstance(parents, list) else []
    seconds, fitness = _number(get("eval_seconds")), _fitness(get("fitness"))
    fidelity, n, std = _int(get("fidelity")), _int(get("fitness_n")), _number(get("fitness_std"))
    if fitness is None:
        n = 0
    elif n is None or n < 1:
        n = 1  # a journal from before repeated evaluations: one each
    return Candidate(*identity, _text(get("operator")) or "?", parents, _text(get("proposer")) or "?", get("status"),
                     _text(get("policy_text")), _text(get("policy_hash")), _text(get("policy_name")), _text(get("idea")),
                     fitness, _validation(get("validation")), _text(get("failure")),
                     _text(get("message")), _count(get("tokens_prompt")), _count(get("tokens_completion")),
                     seconds if seconds is None or seconds >= 0 else None, _text(get("prompt")),
                     _text(get("response")), _text(get("request_id")),
                     fidelity if fidelity is not None and fidelity >= 1 else None,
                     std if std is not None and 0 <= std <= 1 and n > 1 else None, n)
