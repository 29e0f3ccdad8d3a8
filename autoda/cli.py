"""The ``autoda`` command line.

Exit codes: 0 success; 1 a policy (or the work it drives) failed, with diagnostics on
stderr; 2 bad usage. No input file ever produces a Python traceback.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import time
from pathlib import Path

import click

from . import __version__
from .catalog import DATASETS, MAX_EPOCHS, MAX_LR, METHODS, MODELS, SEED_RANGE, default_net
from .compiler import PolicyError, check_policy
from .compiler.cost import DEFAULT_BUDGET
from .compiler.check import LANGUAGES
from .compiler.source import MAX_SOURCE_BYTES
from .files import write_atomic, write_json
from .secrets import shown

EMITS = ("summary", "ast", "plan", "canonical", "json")
SEED = click.IntRange(*SEED_RANGE)
EPOCHS = click.IntRange(1, MAX_EPOCHS)
LR = click.FloatRange(min=0, max=MAX_LR, min_open=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="autoda")
def cli() -> None:
    """autoda: search data-augmentation policies for long-tailed image classification."""


def _read(name: str) -> tuple[bytes | Path, str]:
    """What to compile for one FILE argument: stdin's bytes for '-', else the path."""
    if name == "-":
        return sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1), "<stdin>"
    path = Path(name)
    if not path.exists():
        raise click.UsageError(f"cannot read {name!r}: no such file")
    if not path.is_file():
        raise click.UsageError(f"cannot read {name!r}: not a file")
    return path, name


def _allow_weak_sandbox(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:  # read by every sandbox client: in this process and in evaluation workers it starts
        from .sandbox.client import ALLOW_WEAK_ENV

        os.environ[ALLOW_WEAK_ENV] = "1"


_WEAK_SANDBOX = click.option("--allow-weak-sandbox", is_flag=True, expose_value=False, callback=_allow_weak_sandbox,
                             help="Run Python policies even where this machine cannot cut their sandbox off "
                                  "from files and the network (`autoda doctor` shows what it can do).")
_LANG = click.option("--policy-lang", type=click.Choice(LANGUAGES), default="auto", show_default=True,
                     help="How to read policies: auto takes .py files (or text defining get_aug_type) as Python.")


def _POLICY_LANG(command):
    """--policy-lang and --allow-weak-sandbox: for every command that reads policies."""
    return _LANG(_WEAK_SANDBOX(command))


def _require_sandbox() -> None:
    """Before a Python search does any work: the sandbox's OS isolation is there (or weak
    isolation was allowed), else one line and exit 1, not a failure for every candidate."""
    from .sandbox import SandboxClient, SandboxError

    client = SandboxClient()
    try:
        client.start()
    except SandboxError as error:
        click.echo(f"error: Python policies cannot run: {shown(error)}", err=True)
        sys.exit(1)
    finally:
        client.close()


def _untrusted_endpoints(o: dict, config: dict, executor: dict) -> str | None:
    """Why a resumed run cannot go on with the endpoints its journal names, or None. Anyone
    who could write the run folder chose them: a stored base URL would be sent the API key,
    and a stored Ray cluster's results are unpickled (run) in this process. Each is used
    only when named again on the command line (or OPENAI_BASE_URL)."""
    stored_url = (config.get("llm") or {}).get("base_url") if config["proposer"] == "llm" else None
    named_url = o["base_url"] or os.environ.get("OPENAI_BASE_URL")
    has_key = bool(o["api_key"] or os.environ.get("OPENAI_API_KEY"))
    if stored_url and has_key and not named_url:
        return (f"this run's LLM server is {stored_url!r}, as its journal says; the API key goes only to a "
                f"server named here: resume with --base-url (or OPENAI_BASE_URL)")
    if executor.get("kind") == "ray" and executor.get("ray_address") and not o["ray_address"]:
        return (f"this run evaluated on the Ray cluster at {executor['ray_address']!r}, as its journal says; a "
                f"cluster's results run as code here, so it is joined only when named: resume with --ray-address")
    return None


def _checked(name: str, lang: str):
    """FILE's checked policy; its diagnostics on stderr and exit 1 when it does not check."""
    source, file = _read(name)
    try:
        return check_policy(source, file=file, lang=lang)
    except PolicyError as error:
        click.echo(shown(error.render()), err=True)  # file names, bidi controls in quoted lines
        sys.exit(1)


def _failure(file: str, error: PolicyError) -> dict:
    return {"file": file, "ok": False, "diagnostics": [d.to_dict() for d in error.diagnostics],
            "errors": error.total}


@cli.command("compile")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--emit", type=click.Choice(EMITS), default="summary", show_default=True,
              help="What to print for each policy that checks.")
@click.option("--max-cost", type=click.FloatRange(min=0), default=DEFAULT_BUDGET, show_default=True,
              help="Budget in image passes per sample.")
@_POLICY_LANG
def compile_command(files: tuple[str, ...], emit: str, max_cost: float, policy_lang: str) -> None:
    """Check policies and show what they compile to. FILE may be '-' for standard input.

    Exit 0 when every policy checks; 1, with diagnostics on stderr, when any does not.
    """
    from .compiler.dump import dump_ast
    from .compiler.summary import summary_dict, summary_text

    inputs = [_read(name) for name in files]  # usage errors before any work
    results, failed = [], False
    for source, file in inputs:
        try:
            checked = check_policy(source, file=file, max_cost=max_cost, lang=policy_lang)
        except PolicyError as error:
            failed = True
            click.echo(shown(error.render()), err=True)
            results.append(_failure(file, error))
            continue
        if emit == "json":
            info = summary_dict(checked)
            info["canonical"] = checked.canonical
            info["plan"] = checked.lower().to_dict()
            results.append(info)
        elif emit == "summary":
            click.echo(shown(summary_text(checked)))  # a description may hold bidi controls
        elif emit == "canonical":
            click.echo(checked.canonical, nl=False)
        elif emit == "ast":
            click.echo(dump_ast(checked.ast))
        else:
            click.echo(checked.lower().render())
    if emit == "json":
        click.echo(json.dumps(results, indent=2, default=str))
    if failed:
        count = sum(1 for r in results if r.get("ok") is False)
        click.echo(f"{count} of {len(inputs)} polic{'y' if len(inputs) == 1 else 'ies'} failed to compile",
                   err=True)
        sys.exit(1)


@cli.command("preview")
@click.argument("policy", metavar="POLICY")
@click.option("--data", "data_source", default="synthetic", show_default=True,
              help="'synthetic', or an image folder or .tar/.tar.gz archive of [split/]class/image files.")
@click.option("--split", default="train", show_default=True, help="Which split of an image folder to read.")
@click.option("--imb-ratio", type=click.FloatRange(min=1), default=100, show_default=True,
              help="Imbalance ratio of the simulated long-tailed set (class counts for the statistics).")
@click.option("--epoch", type=click.IntRange(0, MAX_EPOCHS), default=10, show_default=True,
              help="Run the epoch section up to this epoch, on simulated statistics.")
@click.option("--epochs", "total_epochs", type=EPOCHS, default=20, show_default=True,
              help="Total epochs of the simulated run (for 'progress').")
@click.option("--samples", type=click.IntRange(1, 32), default=8, show_default=True, help="Draws per class.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default="preview.png", show_default=True)
@_POLICY_LANG
def preview_command(policy: str, data_source: str, split: str, imb_ratio: float, epoch: int, total_epochs: int,
                    samples: int, seed: int, out: str, policy_lang: str) -> None:
    """Draw a grid of original and augmented images for a head, a medium and a tail class."""
    import os

    from .engine import PolicyRuntimeError, compile_policy
    from .engine.train.data import DataError, load_image_folder, make_synthetic
    from .report.preview import preview

    compiled = compile_policy(_checked(policy, policy_lang), seed=seed)
    if data_source != "synthetic" and not os.path.exists(data_source):
        raise click.UsageError(f"--data {data_source!r}: no such file or folder")
    try:
        data = (make_synthetic(seed=seed) if data_source == "synthetic"
                else load_image_folder(data_source, split=split, per_class_limit=1))
        image, rows = preview(compiled, data, imb_ratio=imb_ratio, epoch=epoch, total_epochs=total_epochs,
                              samples=samples)
    except (DataError, PolicyRuntimeError) as error:
        click.echo(f"error: {shown(error)}", err=True)  # names files of the folder
        sys.exit(1)
    write_atomic(out, lambda tmp: image.save(tmp, format="PNG"))
    click.echo(shown(f"{out}: {', '.join(f'{r.group} {r.class_name} ({r.count} images)' for r in rows)}"))


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise click.UsageError(f"--device {name!r} is not a device (cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise click.UsageError("--device cuda: no CUDA device is available here")
    return name


@cli.command("train")
@click.option("--dataset", type=click.Choice(DATASETS), default="synthetic", show_default=True)
@click.option("--data-root", help="Local copy of the data set: CIFAR's folder, or an image folder or archive.")
@click.option("--download", is_flag=True, help="Let torchvision download CIFAR into --data-root.")
@click.option("--imb-ratio", type=click.FloatRange(min=1), default=100, show_default=True)
@click.option("--method", type=click.Choice(METHODS), default="ce", show_default=True)
@click.option("--model", type=click.Choice(("auto",) + MODELS), default="auto",
              show_default=True, help="auto: resnet8 for synthetic, resnet32 up to 64 pixels, resnet50 above.")
@click.option("--epochs", type=EPOCHS, default=200, show_default=True,
              help="The recipe's milestones, warm-up and DRW epoch scale with it.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--lr", type=LR, default=0.1, show_default=True)
@click.option("--policy", "policy_file", help="A policy to augment with (after the standard crop and flip).")
@click.option("--no-standard-aug", is_flag=True, help="Do not apply the standard pad-crop and flip.")
@_POLICY_LANG
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--metrics-out", type=click.Path(dir_okay=False, writable=True), help="Write metrics as JSON here.")
@click.option("--report-test", is_flag=True, help="Also report the test split (final reports only).")
@click.option("--cache-dir", help="Where decoded image folders are cached (default ~/.cache/autoda).")
@click.option("--train-list", help="Folder data sets: a split file of 'relative/path label' lines for train.")
@click.option("--test-list", help="Folder data sets: the split file for the held-out (val and test) images.")
@click.option("--image-size", type=click.IntRange(min=8), help="Resize and centre-crop folder images to this size.")
def train_command(dataset, data_root, download, imb_ratio, method, model, epochs, batch_size, lr, policy_file,
                  no_standard_aug, policy_lang, seed, device, metrics_out, report_test, cache_dir, train_list,
                  test_list, image_size) -> None:
    """Train one method with one policy; print a many/medium/few/all table."""
    import torch

    from .engine import PolicyRuntimeError
    from .engine.augment.standard import training_policy
    from .engine.train.data import DataError, load_dataset
    from .engine.train.fitness import default_cache_dir
    from .engine.train.trainer import Diverged, Recipe, build_trainer
    from .report.progress import progress_bar
    from .report.tables import accuracy_table

    device = _device(device)
    checked = _checked(policy_file, policy_lang) if policy_file is not None else None
    if data_root is not None and dataset != "cifar10-lt" and dataset != "cifar100-lt" and not Path(data_root).exists():
        raise click.UsageError(f"--data-root {data_root!r}: no such file or folder")
    try:
        data = load_dataset(dataset, data_root, imb_ratio, seed, download, cache_dir or str(default_cache_dir() / "data"),
                            train_list=train_list, test_list=test_list, image_size=image_size)
    except DataError as error:
        click.echo(f"error: {shown(error)}", err=True)
        sys.exit(1)
    recipe = Recipe.for_epochs(epochs, batch_size=batch_size, lr=lr)
    model = default_net(dataset, data.train.images.shape[-1]) if model == "auto" else model
    trainer = build_trainer(data, training_policy(checked, not no_standard_aug), method, model, recipe, device, seed)
    click.echo(f"{dataset} (imbalance {imb_ratio:g}): {data.sizes()['train']} train, {data.sizes()['val']} val, "
               f"{data.sizes()['test']} test images, {data.num_classes} classes; {method} on {model}, "
               f"{epochs} epochs on {device}", err=True)
    started = time.perf_counter()
    try:
        with progress_bar(epochs, "training") as advance:
            trainer.train(epochs, advance)
    except Diverged as error:
        click.echo(f"error: training diverged: {shown(error)}", err=True)
        sys.exit(1)
    except PolicyRuntimeError as error:
        click.echo(f"error: the policy failed at run time: {shown(error)}", err=True)
        sys.exit(1)
    validation = trainer.evaluate(data.val)
    results = {"val": validation}
    if report_test:
        results["test"] = trainer.evaluate(data.test)
    click.echo(accuracy_table(results))
    if metrics_out:
        metrics = {**{k: validation[k] for k in ("many", "medium", "few", "all", "per_class")}, "split": "val",
                   "seed": seed, "device": device, "torch": torch.__version__, "dataset": dataset,
                   "imb_ratio": imb_ratio, "method": method, "model": model, "epochs": epochs,
                   "recipe": recipe.to_dict(), "split_sizes": data.sizes(), "class_names": list(data.train.class_names),
                   "train_counts": data.train.counts().tolist(), "group_sizes": validation["group_sizes"],
                   "policy": None if checked is None else {"name": checked.name, "hash": checked.hash},
                   "standard_augmentation": not no_standard_aug, "seconds": time.perf_counter() - started,
                   "epochs_log": [vars(e) for e in trainer.log]}
        if report_test:
            metrics["test"] = results["test"]
        write_json(metrics_out, metrics)
        click.echo(f"metrics written to {metrics_out}", err=True)


_SEARCH_DEFAULTS = {  # under a minute on a CPU for the synthetic set; the paper's schedule otherwise
    "synthetic": {"epochs": 20, "e_ckp": 10, "n_ft": 4},
    "other": {"epochs": 200, "e_ckp": 50, "n_ft": 20},
}


@cli.command("search")
@click.option("--proposer", type=click.Choice(["auto", "offline", "llm"]), default="auto", show_default=True,
              help="auto: llm when a model is configured (--model or AUTODA_MODEL), else offline.")
@click.option("--strategy", type=click.Choice(["evolve", "simple"]), default="evolve", show_default=True,
              help="simple: the paper's SimpleLLM ablation, one answer, one evaluation.")
@click.option("--dataset", type=click.Choice(DATASETS), default="synthetic", show_default=True)
@click.option("--data-root")
@click.option("--download", is_flag=True)
@click.option("--imb-ratio", type=click.FloatRange(min=1), default=100, show_default=True)
@click.option("--method", type=click.Choice(METHODS), default="ce", show_default=True)
@click.option("--net", type=click.Choice(("auto",) + MODELS), default="auto", show_default=True,
              help="The network (auto: resnet8 for synthetic, else resnet32).")
@click.option("--epochs", type=EPOCHS, help="Epochs of the recipe [synthetic: 20, else 200].")
@click.option("--e-ckp", type=click.IntRange(0, MAX_EPOCHS), help="Checkpoint epoch [synthetic: 10, else 50].")
@click.option("--n-ft", type=EPOCHS, help="Fine-tuning epochs per candidate [synthetic: 4, else 20].")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--lr", type=LR, default=0.1, show_default=True)
@click.option("--population", type=click.IntRange(min=1), default=4, show_default=True, help="N")
@click.option("--parents", type=click.IntRange(min=1), default=2, show_default=True, help="N_p, for crossover")
@click.option("--explore", type=click.IntRange(min=0), default=2, show_default=True,
              help="N_e: crossover offspring per generation")
@click.option("--mutations", type=click.IntRange(min=0), default=2, show_default=True,
              help="N_m: mutation offspring per generation")
@click.option("--generations", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--repair-tries", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--max-evals", type=click.IntRange(min=0))
@click.option("--max-time", type=click.FloatRange(min=0), help="Seconds.")
@click.option("--max-tokens", type=click.IntRange(min=0))
@click.option("--baseline", "baselines", multiple=True,
              help="A reference policy to evaluate with the same fitness: an example's name or a file.")
@click.option("--executor", type=click.Choice(["local", "ray"]),
              help="Where evaluations run: this machine [local], or a Ray cluster (pip install 'autoda[ray]').")
@click.option("--workers", type=click.IntRange(min=1),
              help="Evaluations at once [1]: local processes (one device each) or Ray tasks in flight.")
@click.option("--cpus-per-eval", type=click.IntRange(min=1),
              help="Torch threads (and Ray CPUs) per evaluation [local: cores / workers; ray: 1].")
@click.option("--gpus-per-eval", type=click.FloatRange(min=0),
              help="Ray: GPUs per evaluation, fractional for small models [0].")
@click.option("--ray-address", help="Ray: the cluster to join [start a local one].")
@click.option("--eval-retries", type=click.IntRange(min=0),
              help="Retries of an evaluation whose worker dies, before it is recorded as worker_lost [2].")
@click.option("--policy-lang", type=click.Choice(["dsl", "python"]), default="dsl", show_default=True,
              help="What the LLM writes: the policy language, or the paper's Python get_aug_type (sandboxed).")
@_WEAK_SANDBOX
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--out", "out", type=click.Path(file_okay=False), help="Run folder [runs/<time>-<proposer>].")
@click.option("--resume", type=click.Path(file_okay=False), help="Continue the search in this run folder.")
@click.option("--cache-dir", help="Where data and checkpoints are cached (default ~/.cache/autoda).")
@click.option("--base-url", help="OpenAI-compatible endpoint [OPENAI_BASE_URL].")
@click.option("--model", "llm_model", help="The LLM [AUTODA_MODEL].")
@click.option("--api-key", help="[OPENAI_API_KEY]")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per LLM call.")
@click.option("--temperature", type=click.FloatRange(min=0))
def search_command(**o) -> None:
    """Search for a policy: evolve with an LLM or offline genetic programming, or ask once.

    With no options: a short offline search on the synthetic set, under a minute on a CPU.
    """
    from .engine.train.data import DataError
    from .engine.train.fitness import default_cache_dir
    from .engine.train.trainer import Diverged
    from .report.leaderboard import leaderboard_table
    from .report.progress import search_progress
    from .search.journal import JournalError
    from .search.llm import LLMSettings, LLMSetupError
    from .search.run import RunError, baseline_text, explain, new_config, open_run, run_search
    from .search.summary import best_file

    for option in ("max_time", "timeout", "temperature"):
        if o[option] is not None and math.isnan(o[option]):
            raise click.UsageError(f"--{option.replace('_', '-')} must be a number, not nan")
    try:
        llm = LLMSettings.resolve(o["llm_model"], o["base_url"], o["api_key"], timeout=o["timeout"],
                                  temperature=o["temperature"])
    except LLMSetupError as error:
        raise click.UsageError(shown(error)) from None
    if o["api_key"]:
        click.echo("warning: --api-key is visible to other processes on this machine (ps, /proc); "
                   "prefer the OPENAI_API_KEY environment variable", err=True)
    if not o["resume"] and o["executor"] != "ray" and (o["gpus_per_eval"] or o["ray_address"]):
        raise click.UsageError("--gpus-per-eval and --ray-address are for --executor ray")
    if o["resume"]:
        run_dir, config = Path(o["resume"]), None
    else:
        proposer = o["proposer"] if o["proposer"] != "auto" else ("llm" if llm else "offline")
        if proposer == "llm" and llm is None:
            raise click.UsageError("--proposer llm needs --model (or AUTODA_MODEL)")
        if proposer == "offline" and o["policy_lang"] == "python":
            raise click.UsageError("--policy-lang python needs an LLM: give --model (or AUTODA_MODEL); "
                                   "the offline proposer writes the policy language")
        if o["policy_lang"] == "python":
            _require_sandbox()
        if o["data_root"] and o["dataset"] == "folder" and not Path(o["data_root"]).exists():
            raise click.UsageError(f"--data-root {o['data_root']!r}: no such file or folder")
        defaults = _SEARCH_DEFAULTS["synthetic" if o["dataset"] == "synthetic" else "other"]
        schedule = {k: o[k] if o[k] is not None else defaults[k] for k in ("epochs", "e_ckp", "n_ft")}
        if schedule["e_ckp"] >= schedule["epochs"]:
            raise click.UsageError("--e-ckp must be below --epochs")
        try:
            baselines = tuple(baseline_text(b) for b in o["baselines"])
        except RunError as error:
            raise click.UsageError(shown(error)) from None
        cache = Path(o["cache_dir"]) if o["cache_dir"] else default_cache_dir()
        run_dir = Path(o["out"] or f"runs/{time.strftime('%Y%m%d-%H%M%S')}-{proposer}")
        config = new_config(
            proposer=proposer, dataset=o["dataset"], data_root=o["data_root"], download=o["download"],
            imb_ratio=o["imb_ratio"], method=o["method"],
            net=o["net"] if o["net"] != "auto" else default_net(o["dataset"]),
            batch_size=o["batch_size"], lr=o["lr"], seed=o["seed"], device=_device(o["device"]),
            cache_dir=str(cache / "data"), fitness_cache=str(cache), llm=llm.public() if llm else None, **schedule,
            search={"strategy": o["strategy"], "population": o["population"], "parents": o["parents"],
                    "explore": o["explore"], "mutations": o["mutations"], "generations": o["generations"],
                    "repair_tries": o["repair_tries"], "max_evals": o["max_evals"], "max_time": o["max_time"],
                    "max_tokens": o["max_tokens"], "seed": o["seed"], "baselines": baselines,
                    "policy_lang": o["policy_lang"]})
    try:
        journal, config = open_run(run_dir, config)
    except RunError as error:
        raise click.UsageError(shown(error)) from None
    except (JournalError, sqlite3.Error, OSError) as error:  # busy, damaged, unwritable, a full disk: one line
        click.echo(f"error: {shown(explain(error, run_dir))}", err=True)
        sys.exit(1)
    if o["resume"] and config["search"].get("policy_lang") == "python":
        _require_sandbox()
    for budget in ("max_evals", "max_time", "max_tokens"):  # a resumed run may get new budgets
        if o[budget] is not None:
            config["search"][budget] = o[budget]
    executor = config.setdefault("executor", {})  # ... and run its evaluations elsewhere
    for key, option in (("kind", "executor"), ("workers", "workers"), ("cpus_per_eval", "cpus_per_eval"),
                        ("gpus_per_eval", "gpus_per_eval"), ("ray_address", "ray_address"),
                        ("retries", "eval_retries")):
        if o[option] is not None:
            executor[key] = o[option]
    if executor.get("kind", "local") == "local" and (o["gpus_per_eval"] or o["ray_address"]):
        journal.close()  # a resumed local run: its folder was there before
        raise click.UsageError("--gpus-per-eval and --ray-address are for --executor ray")
    refused = _untrusted_endpoints(o, config, executor) if o["resume"] else None
    if refused:  # a run folder is read without trust: it does not choose where the key or pickles go
        journal.close()
        click.echo(f"error: {shown(refused)}", err=True)
        sys.exit(1)
    if config["proposer"] == "llm" and llm is None and config.get("llm"):
        try:
            base_url = o["base_url"] or os.environ.get("OPENAI_BASE_URL") or config["llm"].get("base_url")
            llm = LLMSettings.resolve(config["llm"]["model"], base_url, o["api_key"])
        except LLMSetupError as error:  # a stored base URL from a damaged journal
            journal.close()
            click.echo(f"error: {shown(error)}", err=True)
            sys.exit(1)
    click.echo(shown(f"{'resuming' if o['resume'] else 'search'} {run_dir}: {config['proposer']} proposer, "
                     f"{config['search']['strategy']}, {config['dataset']} (imbalance {config['imb_ratio']:g}), "
                     f"{config['method']} on {config['net']}, fitness after {config['n_ft']} epochs from epoch "
                     f"{config['e_ckp']}; evaluations: {executor.get('kind', 'local')} x "
                     f"{executor.get('workers', 1)}"), err=True)
    try:
        with search_progress(config) as (on_progress, on_epoch):
            outcome, summary = run_search(run_dir, config, journal, llm, on_progress, on_epoch)
    except KeyboardInterrupt:
        click.echo(shown(f"interrupted; the journal is written: continue with --resume {run_dir}"), err=True)
        sys.exit(130)
    except (DataError, RunError) as error:
        click.echo(f"error: {shown(error)}", err=True)
        sys.exit(1)
    except Diverged as error:  # the checkpoint's training (a candidate's divergence is its own failure)
        click.echo(f"error: training the checkpoint diverged: {shown(error)}", err=True)
        sys.exit(1)
    except (sqlite3.Error, JournalError, OSError) as error:  # a full disk, a journal damaged meanwhile
        click.echo(f"error: {shown(explain(error, run_dir))}", err=True)
        sys.exit(1)
    finally:
        journal.close()
    best = summary["best"]
    try:
        finished = journal_for(run_dir)
        try:
            click.echo(leaderboard_table(finished, shown(f"{run_dir}: {outcome}")))
        finally:
            finished.close()
    except (sqlite3.Error, JournalError) as error:
        click.echo(f"error: {shown(explain(error, run_dir))}", err=True)
        sys.exit(1)
    if best:
        click.echo(shown(f"best: {best['name']} at {100 * best['fitness']:.2f}% balanced validation accuracy -> "
                         f"{run_dir / best_file(config)}"))
    else:
        click.echo("no candidate was evaluated successfully")


def journal_for(run_dir: Path):
    """A run's journal, read-only (a run folder may be read-only, or in use)."""
    from .search.journal import Journal
    from .search.run import JOURNAL

    return Journal(run_dir / JOURNAL, read_only=True)


@cli.command("experiment")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Result folder [the config's path without .toml].")
@click.option("--device", default=None, help="Overrides the config's device.")
@click.option("--cache-dir", help="Where decoded image folders are cached (default ~/.cache/autoda).")
@_WEAK_SANDBOX
def experiment_command(config: str, out: str | None, device: str | None, cache_dir: str | None) -> None:
    """Run a grid of methods x policies x seeds from a TOML file, cell by cell (an
    interrupted experiment resumes), and print the many/medium/few/all table."""
    from .engine.train.data import DataError
    from .engine.train.fitness import default_cache_dir
    from .experiment import Experiment, ExperimentError, run_experiment
    from .report.tables import csv_text, markdown, rich_table, rows

    if not Path(config).is_file():
        raise click.UsageError(f"{config}: no such file")
    try:
        experiment = Experiment.load(config)
    except (ExperimentError, PolicyError) as error:
        click.echo(f"error: {shown(error)}", err=True)
        sys.exit(1)
    out_dir = Path(out) if out else Path(config).with_suffix("")
    device = _device(device or experiment.device)
    cells = experiment.cells()
    click.echo(f"{len(cells)} cells: {', '.join(experiment.methods)} x {len(experiment.policies)} policies x "
               f"{len(experiment.seeds)} seeds on {experiment.dataset} (imbalance {experiment.imb_ratio:g}), "
               f"{experiment.epochs} epochs on {device} -> {out_dir}", err=True)
    done = []

    def on_cell(name: str, status: str) -> None:
        if status != "running":
            done.append(name)
        click.echo(shown(f"[{len(done)}/{len(cells)}] {name}: {status}"), err=True)

    try:
        results = run_experiment(experiment, out_dir, device, cache_dir or str(default_cache_dir() / "data"), on_cell)
    except (DataError, PolicyError) as error:  # a policy that does not check: before any cell trains
        click.echo(f"error: {shown(error)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo(f"interrupted; finished cells are kept in {out_dir / 'cells'}: run the same command again",
                   err=True)
        sys.exit(130)
    table_rows = rows(results)
    write_atomic(out_dir / "table.md", lambda tmp: tmp.write_text(markdown(table_rows)))
    write_atomic(out_dir / "table.csv", lambda tmp: tmp.write_text(csv_text(table_rows)))
    click.echo(rich_table(table_rows, f"{experiment.dataset} at imbalance {experiment.imb_ratio:g}"))
    click.echo(f"tables written to {out_dir / 'table.md'} and {out_dir / 'table.csv'}", err=True)


@cli.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="The HTML file [RUN_DIR/report.html].")
@_WEAK_SANDBOX
def report_command(run_dir: str, out: str | None) -> None:
    """Write a self-contained HTML report (figures inlined) for a search run or an experiment."""
    from .report import ReportError, build_report
    from .search.journal import JournalError
    from .search.run import explain

    if not Path(run_dir).is_dir():
        raise click.UsageError(shown(f"{run_dir}: no such folder"))
    try:
        path = build_report(run_dir, out)
    except ReportError as error:
        click.echo(f"error: {shown(error)}", err=True)
        sys.exit(1)
    except (sqlite3.Error, JournalError, OSError) as error:
        click.echo(f"error: {shown(explain(error, Path(run_dir)))}", err=True)
        sys.exit(1)
    click.echo(shown(path))


@cli.command("doctor")
def doctor_command() -> None:
    """What this machine gives: the Python-policy sandbox's isolation layers, the device,
    the versions. Exit 1 when Python policies would be refused here."""
    from .doctor import doctor_text

    text, ok = doctor_text()
    click.echo(text)
    if not ok:
        sys.exit(1)


@cli.group("runs")
def runs_group() -> None:
    """Look at search runs."""


@runs_group.command("list")
@click.argument("folder", default="runs", required=False)
def runs_list(folder: str) -> None:
    """A line per run under FOLDER (default runs/), best first."""
    from .report.leaderboard import best_fitness, runs_table

    root = Path(folder)
    if not root.is_dir():
        raise click.UsageError(shown(f"{folder}: no such folder"))
    runs = []
    for summary_path in sorted(root.glob("*/summary.json")):
        try:  # anyone may have written it: unreadable, not a plain file (a FIFO blocks) or not an object: left out
            if not summary_path.is_file() or summary_path.stat().st_size > 16 << 20:
                continue
            summary = json.loads(summary_path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(summary, dict):
            runs.append((summary_path.parent, summary))
    runs.sort(key=lambda r: -best_fitness(r[1]))
    click.echo(runs_table(runs) if runs else shown(f"no runs in {folder}"))


@runs_group.command("show")
@click.argument("run_dir")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
def runs_show(run_dir: str, top: int) -> None:
    """The leaderboard of one run."""
    from .report.leaderboard import leaderboard_table
    from .search.journal import JournalError
    from .search.run import JOURNAL, explain

    if not (Path(run_dir) / JOURNAL).exists():
        raise click.UsageError(shown(f"{run_dir}: no {JOURNAL} there"))
    try:
        journal = journal_for(Path(run_dir))
        try:
            click.echo(leaderboard_table(journal, shown(run_dir), top))
        finally:
            journal.close()
    except (sqlite3.Error, JournalError) as error:
        click.echo(f"error: {shown(explain(error, Path(run_dir)))}", err=True)
        sys.exit(1)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)

