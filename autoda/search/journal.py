"""The search journal: SQLite in WAL mode, one row per candidate attempt, each change
committed as soon as it is known, so a run killed at any moment loses nothing finished
and `--resume` knows exactly where it stood.

A row moves through: proposed -> evaluating -> evaluated | failed, or ends as failed
(did not compile, no policy in the answer, the LLM call failed) or duplicate (its
canonical hash was seen before; never evaluated twice). A row left `evaluating` by a
killed run is the one in flight; resuming evaluates it again.

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
    final INTEGER NOT NULL DEFAULT 0  -- 1 on the row that ends its slot (evaluated, or out of attempts)
);
CREATE INDEX IF NOT EXISTS by_hash ON candidates (policy_hash);
CREATE INDEX IF NOT EXISTS by_slot ON candidates (generation, slot);
"""
# columns a journal written by an older version may lack, added when it is opened for writing
_ADDED_COLUMNS = {"final": "INTEGER NOT NULL DEFAULT 0", "request_id": "TEXT", "diagnostics": "TEXT",
                  "propose_seconds": "REAL", "eval_seconds": "REAL", "finished": "REAL",
                  "tokens_prompt": "INTEGER NOT NULL DEFAULT 0", "tokens_completion": "INTEGER NOT NULL DEFAULT 0"}
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

    @property
    def ok(self) -> bool:
        return self.status == "evaluated" and self.fitness is not None


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
                self.db.executescript(SCHEMA)
                self._add_missing_columns()
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

    def seen(self, policy_hash: str) -> bool:
        """Has this behaviour been evaluated, or is it being evaluated?"""
        row = self.db.execute("SELECT 1 FROM candidates WHERE policy_hash = ? AND (status = 'evaluating' "
                              "OR eval_seconds IS NOT NULL) LIMIT 1", (policy_hash,)).fetchone()
        return row is not None

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
        row = self.db.execute("SELECT COUNT(*) AS n FROM candidates WHERE eval_seconds IS NOT NULL").fetchone()
        return row["n"]

    def best_fitness(self) -> float | None:
        """The best fitness evaluated by the search (references aside), or None."""
        row = self.db.execute(f"SELECT MAX(fitness) AS best FROM candidates WHERE status = 'evaluated' "
                              f"AND {_FITNESS_SQL} AND generation >= 0").fetchone()
        return _fitness(row["best"])

    def failures(self) -> int:
        row = self.db.execute("SELECT COUNT(*) AS n FROM candidates WHERE failure IS NOT NULL").fetchone()
        return row["n"]


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


def _candidate(row: sqlite3.Row) -> Candidate | None:
    """A row as a Candidate, every value checked; None when its identity cannot be read."""
    values = dict(zip(row.keys(), row))
    get = values.get
    identity = [_int(get(k)) for k in ("id", "generation", "slot", "attempt")]
    if any(v is None for v in identity) or not isinstance(get("status"), str):
        return None
    parents = _loads(get("parents"))
    parents = [p for p in parents if isinstance(p, int) and not isinstance(p, bool)] if isinstance(parents, list) else []
    seconds = _number(get("eval_seconds"))
    return Candidate(*identity, _text(get("operator")) or "?", parents, _text(get("proposer")) or "?", get("status"),
                     _text(get("policy_text")), _text(get("policy_hash")), _text(get("policy_name")), _text(get("idea")),
                     _fitness(get("fitness")), _validation(get("validation")), _text(get("failure")),
                     _text(get("message")), _count(get("tokens_prompt")), _count(get("tokens_completion")),
                     seconds if seconds is None or seconds >= 0 else None, _text(get("prompt")),
                     _text(get("response")), _text(get("request_id")))
