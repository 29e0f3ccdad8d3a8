"""Assemble a report page for a search run (journal.sqlite) or an experiment (cells/)."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from ..compiler import PolicyError
from ..errors import AutodaError
from ..files import write_atomic
from ..policies import check_policy  # a run's best policy may be Python
from ..search.config import RunConfig
from ..search.summary import ranked, tally
from ..secrets import printable, redact
from ..words import counted
from . import plots
from .leaderboard import COLUMNS as LEADERBOARD_COLUMNS
from .leaderboard import leaderboard_rows
from .tables import formatted, header, rows

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
td.l,th.l{text-align:left}img{max-width:100%;display:block;margin:.5em 0}pre{background:#f6f6f6;padding:.7em;
overflow:auto;font-size:.8em}.note{color:#666;font-size:.85em}"""

# The page checks its own images once loaded and records the result on <body>, so a
# headless browser (or a person, in the inspector) can tell every figure rendered.
_SELF_CHECK = """<script>window.addEventListener('load',function(){var i=Array.prototype.slice.call(document.images);
document.body.setAttribute('data-images',i.length);document.body.setAttribute('data-broken',
i.filter(function(x){return !(x.complete&&x.naturalWidth>0)}).length);});</script>"""


class ReportError(AutodaError, ValueError):
    pass


def _esc(text: object) -> str:
    """Outside text (an LLM's idea, a policy name, a journal's values) for the page: any key
    redacted, controls, bidi overrides and zero-width characters shown as escapes (a page
    can mislead as a terminal can), then HTML-escaped."""
    return html.escape(printable(redact(str(text))))


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: list[str], rows: list[list[str]], left: int = 0) -> str:
    head = "".join(f'<th class="{"l" if i < left else ""}">{_esc(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{_esc(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{_esc(h)}</h2>{content}" for h, content in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_esc(title)}</h1>{body}{_SELF_CHECK}</body></html>")


def _policy_figures(text: str, label: str, counts: list[int], epochs: int, images) -> str:
    """The op usage heat maps and a grid of augmented samples for one policy."""
    from ..engine import CompiledPolicy
    from ..engine.augment.standard import with_standard
    from .preview import preview
    from ..engine.train.metrics import group_of
    from .usage import op_usage

    try:
        checked = check_policy(text)
    except PolicyError as error:  # journaled by a version whose compiler took more, or damaged
        return f"<p class='note'>The policy no longer checks, so it has no figures:</p><pre>{_esc(error.render())}</pre>"
    parts = [f"<pre>{_esc(checked.canonical)}</pre>"]
    for group in dict.fromkeys(group_of(n) for n in counts):  # head, medium and tail apart: Figure 9
        ops, frequency, magnitude = op_usage(checked, counts, epochs, group=group)
        if ops and frequency.any():
            parts.append(_img(plots.op_heatmaps(ops, frequency, magnitude, f"{label}, {group} classes: op use over "
                                                f"{epochs} epochs (simulated statistics)"), f"op use of {label}, {group}"))
        else:  # a blank map (or none) reads as a figure that failed; say what it would show
            parts.append(f"<p class='note'>{_esc(label)}: no op was applied to the {group} classes in "
                         f"{counted(epochs, 'simulated epoch')}.</p>")
    if images is not None:
        grid, _ = preview(CompiledPolicy(with_standard(checked), images.num_classes, seed=0), images,
                          epoch=epochs // 2, total_epochs=epochs, samples=8, counts=counts)
        buffer = io.BytesIO()
        grid.save(buffer, format="PNG")
        parts.append(_img(buffer.getvalue(), f"samples of {label}"))
    return "".join(parts)


def _sample_images(dataset: object, data_root: object, imb_ratio: object, seed: int = 0):
    """A few images per class of a data set (for the sample grids), or None."""
    from ..engine.train.data import DataError, load_dataset, load_image_folder, make_synthetic

    try:
        if dataset == "synthetic":
            return make_synthetic(seed=seed)
        if dataset == "folder" and data_root:
            return load_image_folder(data_root, "train", per_class_limit=1)
        return load_dataset(dataset, data_root, imb_ratio).train
    except (DataError, OSError, KeyError, TypeError, ValueError):  # a damaged configuration: no sample grid
        return None


def _run_images(config: RunConfig | None):
    if config is None:
        return None
    return _sample_images(config.data.dataset, config.data.data_root, config.data.imb_ratio, config.training.seed)


def _train_counts(config: RunConfig | None) -> list[int] | None:
    """The class counts of a run that did not record them (runs from before it did)."""
    from ..engine.train.data import DataError, load_dataset

    if config is None:
        return None
    try:
        data = load_dataset(**config.data_args())
    except (DataError, OSError, TypeError, ValueError):
        return None
    return data.train.counts().tolist()


def _counts(value: object) -> list[int] | None:
    """Stored class counts, if they are a list of counts."""
    ok = isinstance(value, list) and value and all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                                   for n in value)
    return value if ok else None


def search_report(run_dir: Path) -> str:
    from ..search.journal import Journal

    journal = Journal(run_dir / "journal.sqlite", read_only=True)  # a run folder may be read-only
    try:
        return _search_page(run_dir, journal)
    finally:
        journal.close()


# The page's leaderboard: the terminal's columns but the id, which the page does not show.
_LEADERBOARD = [c for c in LEADERBOARD_COLUMNS if c != "id"]


def _search_page(run_dir: Path, journal) -> str:
    config = RunConfig.read(journal.meta("config"))  # None: missing or damaged (the rows may still read)
    counts = _counts(journal.meta("train_counts")) or _counts(_train_counts(config))
    run = tally(journal)
    found = run.found
    sections = [("summary", _table(["evaluations", "candidates", "failures", "tokens", "proposer", "data set", "method"],
                                   [[run.evaluations, len(run.everything), sum(run.failures.values()),
                                     run.tokens_prompt + run.tokens_completion,
                                     *_run_facts(config)]])),
                ("fitness", _img(plots.fitness_over_search([(i, c.generation, c.fitness)
                                                            for i, c in enumerate(found, 1)], run.references),
                                 "fitness over the search")
                 + "<p class='note'>Each point is a candidate's balanced validation accuracy after "
                   f"{config.training.n_ft if config else '?'} fine-tuning epochs from epoch "
                   f"{config.training.e_ckp if config else '?'}.</p>")]
    sections.append(("leaderboard", _table(_LEADERBOARD, [[row[c] for c in _LEADERBOARD]
                                                          for row in leaderboard_rows(journal, 10)])))
    if found and counts:
        best_found = ranked(found)[:3]
        series = {f"#{c.id} {c.policy_name} ({c.operator})": _groups(c).get("per_class") for c in best_found}
        series.update({f"{c.policy_name} (reference)": _groups(c).get("per_class") for c in run.evaluated
                       if c.generation < 0})
        series = {label: values for label, values in series.items() if values}
        if series:
            sections.append(("per-class accuracy", _img(plots.accuracy_by_frequency(counts, series, "validation"),
                                                        "per-class accuracy against class size")))
        best = best_found[0]
        epochs = config.training.epochs if config and config.training.epochs < 10_000 else 20  # heat maps simulate each
        sections.append((f"the best policy: {best.policy_name}",
                         _policy_figures(best.policy_text, best.policy_name, counts, epochs, _run_images(config))))
    return _page(f"autoda search {run_dir.name}", sections)


def _run_facts(config: RunConfig | None) -> list[str]:
    """The proposer, data set and method of a run, for its summary row."""
    if config is None:
        return ["-", "- (IR 0)", "-"]
    return [config.proposer, f"{config.data.dataset} (IR {config.data.imb_ratio:g})", config.training.method]


def _groups(candidate) -> dict:
    return candidate.validation or {}


MAX_JSON_BYTES = 16 << 20  # a cell result is a few kilobytes


def _read_json(path: Path) -> object:
    """A JSON file anyone may have written, or None when it cannot be read as JSON (a FIFO
    or device is not read at all: reading one can block for ever)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_JSON_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None


def _accuracy(value: object) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1)


def _usable_cell(cell: object, counts: list[int] | None) -> bool:
    """A cell result with what the table and the figures read, each of the right kind."""
    if not isinstance(cell, dict) or not isinstance(cell.get("test"), dict):
        return False
    test, cell_counts = cell["test"], _counts(cell.get("train_counts"))
    per_class = test.get("per_class")
    return (isinstance(cell.get("method"), str) and isinstance(cell.get("policy"), str)
            and isinstance(cell.get("seed"), int) and not isinstance(cell.get("seed"), bool)
            and all(_accuracy(test.get(k)) for k in ("many", "medium", "few", "all"))
            and cell_counts is not None and (counts is None or cell_counts == counts)
            and isinstance(per_class, list) and len(per_class) == len(cell_counts) and all(map(_accuracy, per_class)))


def experiment_report(out_dir: Path) -> str:
    found = [_read_json(p) for p in sorted((out_dir / "cells").glob("*.json"))]
    if not found:
        raise ReportError(f"{out_dir}: no cells/*.json yet")
    first = next((c for c in found if _usable_cell(c, None)), None)
    counts = first["train_counts"] if first else None
    cells = [c for c in found if _usable_cell(c, counts)]
    if not cells:
        raise ReportError(f"{out_dir}: none of its {len(found)} cells/*.json is a readable result")
    config = _read_json(out_dir / "experiment.json") if (out_dir / "experiment.json").exists() else {}
    config = config if isinstance(config, dict) else {}
    texts = config.get("policy_texts") if isinstance(config.get("policy_texts"), dict) else {}
    texts = {k: v for k, v in texts.items() if isinstance(v, str)}
    # `autoda verify`: each method's searched policy, the rows named "searched"
    searched = config.get("searched_texts") if isinstance(config.get("searched_texts"), dict) else {}
    searched = {m: v for m, v in searched.items() if isinstance(v, str)}
    labels = list(texts) + ["searched"] * bool(searched)
    methods = [m for m in config.get("methods") or [] if isinstance(m, str)] if isinstance(config.get("methods"), list) else []
    cells.sort(key=lambda c: (methods.index(c["method"]) if c["method"] in methods else len(methods),
                              labels.index(c["policy"]) if c["policy"] in labels else len(labels), c["seed"]))
    published = config.get("published") if isinstance(config.get("published"), dict) else {}
    table = rows(cells, published={k: v for k, v in published.items() if isinstance(v, (int, float))})
    paper = any(r["paper"] is not None for r in table)
    sections = [("test accuracy (mean ± std over seeds)",
                 _table(list(header(table)), [formatted(r, paper) for r in table], left=2))]
    if len(cells) < len(found):
        sections[0] = (sections[0][0], sections[0][1] + f"<p class='note'>{len(found) - len(cells)} of {len(found)} "
                       "result files could not be read (damaged, or from another version) and are left out.</p>")
    sections += _verdict_section(out_dir)
    for method in dict.fromkeys(c["method"] for c in cells):
        series: dict[str, list] = {}
        for policy in dict.fromkeys(c["policy"] for c in cells if c["method"] == method):
            runs = [c["test"]["per_class"] for c in cells if c["method"] == method and c["policy"] == policy]
            series[policy] = [None if any(r[i] is None for r in runs) else sum(r[i] for r in runs) / len(runs)
                              for i in range(len(counts))]
        sections.append((f"{method}: per-class test accuracy", _img(plots.accuracy_by_frequency(counts, series, "test"),
                                                                    f"{method} per-class accuracy")))
    images = _sample_images(config.get("dataset"), config.get("data_root"), config.get("imb_ratio", 100)) if config \
        else None
    epochs = config.get("epochs") if isinstance(config.get("epochs"), int) and 0 < config["epochs"] < 10_000 else 20
    figures = [(label, text) for label, text in texts.items() if label != "none"]
    figures += [(f"searched for {method}", text) for method, text in searched.items()]
    for label, text in figures:
        sections.append((f"policy {label}", _policy_figures(text, label, counts, epochs, images)))
    return _page(f"autoda experiment {out_dir.name}", sections)


def _verdict_section(out_dir: Path) -> list[tuple[str, str]]:
    """`autoda verify`'s verdict, when this experiment is one: a sentence per method."""
    from .verdict import sentence

    found = _read_json(out_dir / "verdict.json") if (out_dir / "verdict.json").exists() else None
    comparisons = found.get("comparisons") if isinstance(found, dict) else None
    try:
        lines = [sentence(c) for c in comparisons] if isinstance(comparisons, list) else []
    except (KeyError, TypeError, ValueError):  # damaged or hand-edited: the tables still show the numbers
        return []
    return [("verdict", "".join(f"<p>{_esc(line)}</p>" for line in lines))] if lines else []


def build_report(path: str | Path, out: str | Path | None = None) -> Path:
    """Write report.html into (or at) ``out``; return its path."""
    path = Path(path)
    if (path / "journal.sqlite").exists():
        page = search_report(path)
    elif (path / "cells").is_dir():
        page = experiment_report(path)
    else:
        raise ReportError(f"{path}: neither a search run (journal.sqlite) nor an experiment (cells/)")
    target = Path(out) if out else path / "report.html"
    try:
        write_atomic(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    except OSError as error:
        raise ReportError(f"cannot write {target}: {error.strerror or error}"
                          + ("" if out else "; choose where with --out")) from None
    return target
