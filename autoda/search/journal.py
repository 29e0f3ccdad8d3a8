"""The search journal: SQLite in WAL mode, one row per candidate attempt, each change
committed as soon as it is known, so a run killed at any moment loses nothing finished
and `--resume` knows exactly where it stood.

A row moves through: proposed -> evaluating -> evaluated | failed, or ends as failed
(did not compile, no policy in the answer, the LLM call failed) or duplicate (its
canonical hash was seen before; never evaluated twice). A row left `evaluating` by a
killed run is the one in flight; resuming evaluates it again.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

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
    failure: str | None
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


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: each write is durable
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    # --- run metadata --------------------------------------------------------------------

    def set_meta(self, key: str, value: object) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: object = None) -> object:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    # --- writing -------------------------------------------------------------------------

    def add(self, generation: int, slot: int, attempt: int, operator: str, parents: list[int], proposer: str,
            **fields) -> int:
        columns = {"generation": generation, "slot": slot, "attempt": attempt, "operator": operator,
                   "parents": json.dumps(parents), "proposer": proposer, "status": "proposed",
                   "created": time.time(), **{k: _column(v) for k, v in fields.items()}}
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        return self.db.execute(f"INSERT INTO candidates ({names}) VALUES ({marks})", tuple(columns.values())).lastrowid

    def update(self, row: int, **fields) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE candidates SET {sets} WHERE id = ?", (*(_column(v) for v in fields.values()), row))

    # --- reading -------------------------------------------------------------------------

    def _candidates(self, where: str = "1", args: tuple = ()) -> list[Candidate]:
        rows = self.db.execute(f"SELECT * FROM candidates WHERE {where} ORDER BY id", args).fetchall()
        return [_candidate(r) for r in rows]

    def all(self) -> list[Candidate]:
        return self._candidates()

    def evaluated(self) -> list[Candidate]:
        return self._candidates("status = 'evaluated' AND fitness IS NOT NULL")

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
        row = self.db.execute("SELECT COALESCE(SUM(tokens_prompt + tokens_completion), 0) AS n FROM candidates").fetchone()
        return row["n"]

    def evaluations(self) -> int:
        row = self.db.execute("SELECT COUNT(*) AS n FROM candidates WHERE eval_seconds IS NOT NULL").fetchone()
        return row["n"]

    def best_fitness(self) -> float | None:
        """The best fitness evaluated by the search (references aside), or None."""
        row = self.db.execute("SELECT MAX(fitness) AS best FROM candidates WHERE status = 'evaluated' "
                              "AND fitness IS NOT NULL AND generation >= 0").fetchone()
        return row["best"]

    def failures(self) -> int:
        row = self.db.execute("SELECT COUNT(*) AS n FROM candidates WHERE failure IS NOT NULL").fetchone()
        return row["n"]


def _column(value: object) -> object:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _candidate(row: sqlite3.Row) -> Candidate:
    return Candidate(row["id"], row["generation"], row["slot"], row["attempt"], row["operator"],
                     json.loads(row["parents"]), row["proposer"], row["status"], row["policy_text"],
                     row["policy_hash"], row["policy_name"], row["idea"], row["fitness"],
                     json.loads(row["validation"]) if row["validation"] else None, row["failure"], row["message"],
                     row["tokens_prompt"], row["tokens_completion"], row["eval_seconds"], row["prompt"],
                     row["response"], row["request_id"])
