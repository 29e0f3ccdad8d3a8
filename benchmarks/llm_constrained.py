"""A real local model proposing policies, with and without the decode grammar: the share
of answers that parse, check and are new, tokens per second and seconds per answer.

The local server (`autoda llm serve`: llama-cpp-python, the bundled SmolLM2-135M-Instruct
unless --model names another GGUF) is started on 127.0.0.1 for the run. The same prompts
go to it twice: constrained (the grammar as GBNF, as `--constrain gbnf` sends it) and not
(`--constrain none`). Prompts are the search's own: the system prompt with the task and
the language reference, then initialise, crossover and mutate in turn, the parents drawn
from a search's journal (--journal: its evaluated candidates, best first) or from the
example policies. An answer parses when the policy extracted from it parses; checks when
it passes the whole checker; is new when its canonical hash is neither a parent's, an
example's nor an earlier answer's. Prints a Markdown table and writes JSON.

    python benchmarks/llm_constrained.py --n 60 --out benchmarks/results/llm_constrained.json \\
        --journal runs/cifar10-lt-small-ce-search2/journal.sqlite
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

from autoda.compiler import PolicyError, check_policy
from autoda.compiler.parser import parse
from autoda.compiler.source import read_source
from autoda.files import write_json
from autoda.policies import example_policies
from autoda.search.extract import extract_idea, extract_policy
from autoda.search.journal import Candidate, Journal
from autoda.search.llm import LLMClient, LLMError, LLMSettings
from autoda.search.local_server import MODEL_ALIAS, resolve_model, running_server
from autoda.search.prompting import TaskContext, initialise_example, operator_prompt, system_prompt

OPERATORS = ("initialise", "crossover", "mutate")
TASK = TaskContext("cifar10-lt-small: CIFAR-10 with 10 classes at imbalance ratio 100; training images per class, "
                   "head to tail: 500, 300, 180, 108, 65, 39, 23, 14, 8, 5", "resnet8w16", "ce", 140, 25)


def example_parents() -> list[Candidate]:
    return [Candidate(i, 0, i, 0, "baseline", [], "example", "evaluated", text, check_policy(text).hash, name, None,
                      None, None, None, None, 0, 0, None, None, None, None)
            for i, (name, text) in enumerate(example_policies().items()) if name != "none"]


def journal_parents(path: str, top: int = 8) -> list[Candidate]:
    journal = Journal(path, read_only=True)
    try:
        return sorted(journal.evaluated(), key=lambda c: c.rank_key)[:top]
    finally:
        journal.close()


def judge(answer: str, seen: set[str]) -> dict:
    """Whether an answer's policy parses, checks and is new (its hash joins ``seen``)."""
    text = extract_policy(answer)
    verdict = {"policy": text is not None, "parses": False, "checks": False, "new": False,
               "idea": extract_idea(answer, text) is not None}
    if text is None:
        return verdict
    try:
        parse(read_source(text))
        verdict["parses"] = True
        checked = check_policy(text)
    except PolicyError as error:
        verdict["diagnostic"] = error.diagnostics[0].code if error.diagnostics else "?"
        return verdict
    verdict["checks"] = True
    verdict["new"] = checked.hash not in seen
    seen.add(checked.hash)
    return verdict


def run_mode(base_url: str, constrain: str, requests: list[tuple[str, list[Candidate]]], system: str,
             seen: set[str], max_tokens: int, timeout: float) -> dict:
    client = LLMClient(LLMSettings(MODEL_ALIAS, base_url, timeout=timeout, retries=1, max_tokens=max_tokens,
                                   constrain=constrain))
    note = client.settle()
    rows = []
    for i, (operator, parents) in enumerate(requests):
        # as the search asks (LLMProposer.start): a constrained answer's parents shown with the
        # grammar's names, and a constrained initialise shown an example to depart from
        declared = client.form is not None
        example = initialise_example(i) if declared and operator == "initialise" else None
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": operator_prompt(operator, parents, declared=declared, example=example)}]
        try:
            answer = client.complete(messages)
        except LLMError as error:
            rows.append({"error": f"{error.kind.value}: {error}", "operator": operator})
            continue
        row = judge(answer.text, seen)
        row.update(seconds=answer.seconds, tokens=answer.completion_tokens, prompt_tokens=answer.prompt_tokens,
                   constrained=answer.constrained, operator=operator, answer=answer.text)
        rows.append(row)
        print(f"  {constrain:>5} {i + 1}/{len(requests)} {row['operator']:<10} parses {row['parses']!s:<5} "
              f"checks {row['checks']!s:<5} {answer.completion_tokens} tokens in {answer.seconds:.1f} s", flush=True)
    answered = [r for r in rows if "error" not in r]
    share = (lambda key: round(sum(r[key] for r in answered) / len(rows), 3)) if rows else (lambda key: None)
    return {"constrain": constrain, "note": note, "n": len(rows), "errors": len(rows) - len(answered),
            "parse": share("parses"), "check": share("checks"), "new": share("new"),
            "seconds_per_answer": round(statistics.median(r["seconds"] for r in answered), 2) if answered else None,
            "tokens_per_second": round(statistics.median(r["tokens"] / r["seconds"] for r in answered if r["seconds"]), 1)
            if answered else None,
            "tokens_per_answer": statistics.median(r["tokens"] for r in answered) if answered else None,
            "diagnostics": dict(Counter(r["diagnostic"] for r in answered if r.get("diagnostic")).most_common()),
            "by_operator": {op: {key: round(sum(r[key] for r in answered if r["operator"] == op) /
                                            max(1, sum(1 for r in rows if r["operator"] == op)), 3)
                                 for key in ("parses", "checks", "new")} for op in OPERATORS},
            "answers": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a GGUF file [the bundled SmolLM2-135M-Instruct]")
    parser.add_argument("--n", type=int, default=60, help="prompts per mode (initialise, crossover, mutate in turn)")
    parser.add_argument("--journal", help="a search's journal.sqlite to draw parents from [the example policies]")
    parser.add_argument("--max-tokens", type=int, default=800)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--threads", type=int, help="the server's CPU threads [llama.cpp's choice]")
    parser.add_argument("--modes", default="gbnf,none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--log", help="a file for the server's output [none]")
    args = parser.parse_args()
    model = resolve_model(args.model)
    parents = journal_parents(args.journal) if args.journal else example_parents()
    rng = random.Random(args.seed)
    requests = []
    for i in range(args.n):
        operator = OPERATORS[i % len(OPERATORS)]
        requests.append((operator, rng.sample(parents, 2) if operator == "crossover" else [rng.choice(parents)]))
    known = {check_policy(text).hash for text in [*example_policies().values(), *(p.policy_text for p in parents)]}
    results = {"model": model.name, "llama_cpp_python": metadata.version("llama-cpp-python"),
               "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "cpus": os.cpu_count(),
               "python": platform.python_version(), "n": args.n, "max_tokens": args.max_tokens,
               "parents": args.journal or "example policies", "modes": []}
    log = Path(args.log) if args.log else None
    started = time.perf_counter()
    with running_server(str(model), threads=args.threads, log=log) as base_url:
        print(f"{model.name} serving at {base_url}", flush=True)
        for mode in args.modes.split(","):
            results["modes"].append(run_mode(base_url, mode, requests, system_prompt(TASK), set(known), args.max_tokens,
                                             args.timeout))
            write_json(args.out, results)  # after each mode: a stopped run keeps what it measured
    results["seconds"] = round(time.perf_counter() - started)
    write_json(args.out, results)
    print(f"\n{model.name}, {results['machine']}, {results['cpus']} CPUs, n = {args.n} prompts per mode\n")
    print("| decoding | parse | check | new | s / answer (median) | tokens / s (median) | tokens / answer |")
    print("|---|---|---|---|---|---|---|")
    for m in results["modes"]:
        print(f"| {m['constrain']} | {m['parse']:.0%} | {m['check']:.0%} | {m['new']:.0%} | {m['seconds_per_answer']} | "
              f"{m['tokens_per_second']} | {m['tokens_per_answer']} |")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
