"""The ``autoda`` command line: each command maps its options onto the library (a search's
onto autoda.search.config.RunConfig) and reports what went wrong as one line.

Exit codes: 0 success; 1 a policy (or the work it drives) failed, with diagnostics on
stderr; 2 bad usage; 130 interrupted (Ctrl-C), 143 stopped by SIGTERM (as a scheduler stops a
job: search, train and experiment wind down as for Ctrl-C). No input file ever produces a
Python traceback.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Iterator, NoReturn

import click

from . import __version__
from .catalog import BASES, DATASETS, MAX_EPOCHS, MAX_LR, METHODS, MODELS, SEED_RANGE, SPLIT_FILE_KEYS, default_net
from .compiler import PolicyError
from .compiler.cost import DEFAULT_BUDGET
from .compiler.decode_grammar import NAMES as GRAMMAR_NAMES
from .compiler.decode_render import FORMATS as GRAMMAR_FORMATS
from .compiler.source import MAX_SOURCE_BYTES
from .errors import AutodaError
from .files import write_atomic, write_json
from .policies import LANGUAGES, check_policy
from .presets import HAND_DESIGNED, PRESET_NAMES, PRESETS
from .search.constrain import MODES as CONSTRAIN_MODES
from .secrets import shown
from .stopping import exit_code, sigterm_as_interrupt
from .words import counted

EMITS = ("summary", "ast", "plan", "canonical", "json")
SEED = click.IntRange(*SEED_RANGE)
EPOCHS = click.IntRange(1, MAX_EPOCHS)
LR = click.FloatRange(min=0, max=MAX_LR, min_open=True)
NETS = ("auto",) + MODELS
DEFAULT_REFERENCES = ("none", "randaugment")  # what a search's best is seen against, unless told otherwise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="autoda")
def cli() -> None:
    """autoda: search data-augmentation policies for long-tailed image classification."""


# --- errors: one line each -------------------------------------------------------------------

def fail(message: object) -> NoReturn:
    """One `error:` line on stderr (keys redacted, terminal controls escaped: messages
    quote file names, journals and LLM answers), and exit 1."""
    click.echo(f"error: {shown(message)}", err=True)
    sys.exit(1)


@contextlib.contextmanager
def _stops_with(message: str) -> Iterator[None]:
    """Ctrl-C, or SIGTERM (main() makes it one), inside: ``message`` on stderr and exit 130
    or 143, after whatever the way out writes and closes (a search's summary, its workers)."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(shown(message), err=True)
        sys.exit(exit_code())


@contextlib.contextmanager
def one_error_line(run_dir: Path | None = None, wording: dict[type, str] | None = None,
                   usage: tuple[type, ...] = ()) -> Iterator[None]:
    """Where a command does its work. An AutodaError becomes one `error:` line and exit 1,
    never a traceback; ``wording`` puts the command's own words before the message of the
    classes it names ("training diverged: ..."). A ConfigError, or a class in ``usage``, is
    bad usage (exit 2). With ``run_dir``, what SQLite or the file system raised is said for
    that run folder (a full disk, a busy or damaged journal). Anything else passes,
    KeyboardInterrupt included (exit 130)."""
    try:
        yield
    except (AutodaError, sqlite3.Error, OSError) as error:
        from .search.config import ConfigError
        from .search.run import explain

        if isinstance(error, (ConfigError, *usage)):
            raise click.UsageError(shown(error)) from None
        if run_dir is not None and isinstance(error, (sqlite3.Error, OSError)):
            fail(explain(error, run_dir))
        if not isinstance(error, AutodaError):
            raise
        words = next((w for kind, w in (wording or {}).items() if isinstance(error, kind)), None)
        fail(f"{words}: {error}" if words else error)


# --- options and inputs every command shares -----------------------------------------------

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


_BASE = click.option("--base", type=click.Choice(BASES), default="standard", show_default=True,
                     help="The augmentation around the policy: standard (pad-crop, flip), paper (crop, flip, "
                          "AutoAugment's CIFAR-10 policy, the policy, Cutout 16; LLM-AutoDA's), or none.")


def _SPLIT_FILES(command):
    """--train-list, --val-list, --test-list and --image-size: a folder's split files
    (ImageNet-LT's three, iNaturalist's two) and the side its images are resized to."""
    for option in reversed((
            click.option("--train-list", help="Folder data sets: a split file of 'relative/path label' lines for "
                                              "train, taken as it lists (its long tail is the data's)."),
            click.option("--val-list", help="Folder data sets: the split file for validation (with --test-list: "
                                            "each taken whole; without, the held-out images are halved)."),
            click.option("--test-list", help="Folder data sets: the split file for the held-out (test) images."),
            click.option("--image-size", type=click.IntRange(min=8),
                         help="Resize (shorter side) and centre-crop folder images to this size."))):
        command = option(command)
    return command


_TENSORBOARD = click.option("--tensorboard", type=click.Path(file_okay=False),
                            help="Write TensorBoard scalars into this folder (pip install 'autoda[tensorboard]').")


def _require_tensorboard(log_dir: str | None) -> None:
    """With --tensorboard: a usage error now, before any work, when the package is missing."""
    if log_dir is not None:
        from .report.scalars import TensorBoardMissing, require_tensorboard

        with one_error_line(usage=(TensorBoardMissing,)):
            require_tensorboard()


def _POLICY_LANG(command):
    """--policy-lang and --allow-weak-sandbox: for every command that reads policies."""
    return _LANG(_WEAK_SANDBOX(command))


def _preset(command_name: str):
    """--preset NAME: the named regime's data, network and schedule as this command's
    defaults (autoda/presets.py); an option given on the command line still wins."""
    def apply(ctx: click.Context, param: click.Parameter, name: str | None) -> str | None:
        if name is not None:  # eager, so every other option reads its default from here
            ctx.default_map = {**(ctx.default_map or {}), **PRESETS[name].options(command_name)}
        return name

    return click.option("--preset", type=click.Choice(PRESET_NAMES), is_eager=True, callback=apply,
                        help="A named benchmark regime's data, network and schedule (docs/benchmarks.md); "
                             "options given here override it.")


def _preset_data(preset: str | None, data_root: str | None) -> None:
    """A preset's data archive that is not where the preset looks: say where it looked."""
    if (preset is not None and data_root is not None and data_root == PRESETS[preset].data.get("data_root")
            and not Path(data_root).exists()):
        raise click.UsageError(f"--preset {preset} reads CIFAR-10 from {data_root}, relative to where autoda runs, "
                               "and it is not there: run from the repository root, or give --data-root")


def _require_sandbox() -> None:
    """Before a Python search does any work: the sandbox's OS isolation is there (or weak
    isolation was allowed), else one line and exit 1, not a failure for every candidate."""
    from .sandbox import SandboxClient, SandboxError

    client = SandboxClient()
    try:
        with one_error_line(wording={SandboxError: "Python policies cannot run"}):
            client.start()
    finally:
        client.close()


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


@cli.command("grammar")
@click.option("--format", "grammar_format", type=click.Choice(GRAMMAR_FORMATS), default="gbnf",
              show_default=True,
              help="gbnf: llama.cpp's server; ebnf: vLLM's structured outputs and XGrammar; "
                   "lark: llguidance and OpenAI's custom tools.")
@click.option("--policy-only", is_flag=True,
              help="The policy text alone, without the answer's IDEA line and fence.")
@click.option("--names", type=click.Choice(GRAMMAR_NAMES), default="declared", show_default=True,
              help="declared: states are named s1, s2, ... and epoch values v1, v2, ..., and only what is "
                   "declared is read; free: any name where the language takes one.")
def grammar_command(grammar_format: str, policy_only: bool, names: str) -> None:
    """Print the grammar a model server constrains its decoding to: an answer (the IDEA
    line, then a fenced policy) that always parses. `autoda search --constrain` sends the
    declared-names form."""
    from .compiler.decode_grammar import decode_grammar
    from .compiler.decode_render import render

    click.echo(render(decode_grammar(answer=not policy_only, names=names), grammar_format), nl=False)


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
    from .engine.train.data import load_image_folder, make_synthetic
    from .policies import compile_policy
    from .report.preview import preview

    compiled = compile_policy(_checked(policy, policy_lang), seed=seed)
    if data_source != "synthetic" and not os.path.exists(data_source):
        raise click.UsageError(f"--data {data_source!r}: no such file or folder")
    with one_error_line():  # a data error names files of the folder
        data = (make_synthetic(seed=seed) if data_source == "synthetic"
                else load_image_folder(data_source, split=split, per_class_limit=1))
        image, rows = preview(compiled, data, imb_ratio=imb_ratio, epoch=epoch, total_epochs=total_epochs,
                              samples=samples)
    write_atomic(out, lambda tmp: image.save(tmp, format="PNG"))
    groups = ", ".join(f"{r.group} {r.class_name} ({counted(r.count, 'training image')})" for r in rows)
    # the sizes are the simulated training set's, whichever split the pictured images come from
    click.echo(shown(f"{out}: {groups}; class sizes of a simulated long-tailed training set at imbalance "
                     f"{imb_ratio:g}{f', images from the {split} split' if data_source != 'synthetic' else ''}"))


# --- autoda train ------------------------------------------------------------------------------

def _old_model_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        click.echo("warning: `autoda train --model` is deprecated: name the network with --net (in `autoda "
                   "search`, --model names the LLM)", err=True)
    return value


@cli.command("train")
@_preset("train")
@click.option("--dataset", type=click.Choice(DATASETS), default="synthetic", show_default=True)
@click.option("--data-root", help="Local copy of the data set: CIFAR's folder, or an image folder or archive.")
@click.option("--download", is_flag=True, help="Let torchvision download CIFAR into --data-root.")
@click.option("--imb-ratio", type=click.FloatRange(min=1), default=100, show_default=True)
@click.option("--max-per-class", type=click.IntRange(min=1),
              help="Cap the head class of the long-tailed subset at N images (the profile keeps its ratio).")
@click.option("--method", type=click.Choice(METHODS), default="ce", show_default=True)
@click.option("--net", type=click.Choice(NETS), default="auto", show_default=True,
              help="The network (auto: resnet8 for synthetic, resnet32 up to 64 pixels, resnet50 above).")
@click.option("--model", "old_model", type=click.Choice(NETS), hidden=True, callback=_old_model_option,
              help="Deprecated: the old name of --net.")
@click.option("--epochs", type=EPOCHS, default=200, show_default=True,
              help="The recipe's milestones, warm-up and DRW epoch scale with it.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--lr", type=LR, default=0.1, show_default=True)
@click.option("--policy", "policy_file", help="A policy to augment with (inside the --base augmentation).")
@_BASE
@click.option("--no-standard-aug", is_flag=True, help="The same as --base none.")
@_POLICY_LANG
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--metrics-out", type=click.Path(dir_okay=False, writable=True), help="Write metrics as JSON here.")
@click.option("--report-test", is_flag=True, help="Also report the test split (final reports only).")
@click.option("--cache-dir", help="Where decoded image folders are cached (default ~/.cache/autoda).")
@_SPLIT_FILES
@click.option("--stream/--no-stream", default=None,
              help="Keep the training images on disk (decoded once, memory-mapped) and stream batches to the "
                   "device [only when they do not fit in memory or on the device].")
@_TENSORBOARD
def train_command(preset, dataset, data_root, download, imb_ratio, max_per_class, method, net, old_model, epochs,
                  batch_size, lr, policy_file, base, no_standard_aug, policy_lang, seed, device, metrics_out, report_test,
                  cache_dir, train_list, val_list, test_list, image_size, stream, tensorboard) -> None:
    """Train one method with one policy; print a many/medium/few/all table."""
    from .engine import PolicyRuntimeError
    from .engine.train.data import load_dataset
    from .engine.train.fitness import default_cache_dir
    from .engine.train.trainer import Diverged, Recipe, build_trainer
    from .report.progress import progress_bar
    from .report.scalars import training_scalars
    from .report.tables import accuracy_table

    if old_model is not None and net not in ("auto", old_model):
        raise click.UsageError("--model is the old name of --net: give --net only")
    net = old_model if old_model is not None and net == "auto" else net
    if no_standard_aug and base != "standard":
        raise click.UsageError(f"--no-standard-aug is --base none: give --base {base} or --no-standard-aug")
    base = "none" if no_standard_aug else base
    device = _device(device)
    checked = _checked(policy_file, policy_lang) if policy_file is not None else None
    _preset_data(preset, data_root)
    if data_root is not None and dataset not in ("cifar10-lt", "cifar100-lt") and not Path(data_root).exists():
        raise click.UsageError(f"--data-root {data_root!r}: no such file or folder")
    _require_tensorboard(tensorboard)
    wording = {Diverged: "training diverged", PolicyRuntimeError: "the policy failed at run time"}
    with _stops_with("interrupted"), one_error_line(wording=wording):
        data = load_dataset(dataset, data_root, imb_ratio, seed, download,
                            cache_dir or str(default_cache_dir() / "data"), train_list=train_list,
                            test_list=test_list, image_size=image_size, max_per_class=max_per_class,
                            val_list=val_list, mapped=stream)
        recipe = Recipe.for_epochs(epochs, batch_size=batch_size, lr=lr)
        net = default_net(dataset, data.train.images.shape[-1]) if net == "auto" else net
        trainer = build_trainer(data, checked, method, net, recipe, device, seed, base, stream)
        click.echo(f"{dataset} (imbalance {imb_ratio:g}): {data.sizes()['train']} train, {data.sizes()['val']} val, "
                   f"{data.sizes()['test']} test images, {data.num_classes} classes; {method} on {net}, "
                   f"{counted(epochs, 'epoch')} on {device}", err=True)
        started = time.perf_counter()
        with training_scalars(tensorboard) as (epoch_scalars, validation_scalars):
            with progress_bar(epochs, "training", device.split(":")[0]) as (on_epoch, on_batch):
                trainer.train(epochs, lambda log: (on_epoch(log), epoch_scalars(log)), on_batch)
            results = {"val": trainer.evaluate(data.val)}
            validation_scalars(results["val"], epochs)
        if report_test:
            results["test"] = trainer.evaluate(data.test)
    click.echo(accuracy_table(results))
    if metrics_out:
        made = {"dataset": dataset, "imb_ratio": data.imb_ratio, "max_per_class": max_per_class, "method": method,
                "net": net, "epochs": epochs,
                "seed": seed, "device": device, "seconds": time.perf_counter() - started}
        write_json(metrics_out, _train_metrics(trainer, data, trainer.recipe, results, checked, base, made))
        click.echo(f"metrics written to {metrics_out}", err=True)


def _train_metrics(trainer, data, recipe, results: dict, checked, base: str, made: dict) -> dict:
    """The --metrics-out record: validation accuracies at the top, how the model was made
    (the record an experiment cell keeps too), the policy and a log per epoch."""
    from .engine.train.metrics import training_record

    validation = results["val"]
    metrics = {**{k: validation[k] for k in ("many", "medium", "few", "all", "per_class")}, "split": "val",
               **training_record(data, recipe, **made), "model": made["net"],  # "model": files before --net
               "class_names": list(data.train.class_names), "group_sizes": validation["group_sizes"],
               "policy": None if checked is None else {"name": checked.name, "hash": checked.hash},
               "base": base, "epochs_log": [vars(e) for e in trainer.log]}
    if "test" in results:
        metrics["test"] = results["test"]
    return metrics


# --- autoda search -----------------------------------------------------------------------------

def _rungs_option(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...]:
    """--rungs 2,5,10: the fine-tune epochs of each rung, checked here so a bad list is a usage error."""
    from .search.config import parse_rungs

    if value is None:
        return ()
    try:
        return parse_rungs(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@cli.command("search")
@click.option("--proposer", type=click.Choice(["auto", "offline", "llm"]), default="auto", show_default=True,
              help="auto: llm when an LLM is configured (--llm-model or AUTODA_MODEL), else offline.")
@click.option("--strategy", type=click.Choice(["evolve", "simple"]), default="evolve", show_default=True,
              help="simple: the paper's SimpleLLM ablation, one answer, one evaluation.")
@_preset("search")
@click.option("--dataset", type=click.Choice(DATASETS), default="synthetic", show_default=True)
@click.option("--data-root")
@click.option("--download", is_flag=True)
@click.option("--imb-ratio", type=click.FloatRange(min=1), default=100, show_default=True)
@click.option("--max-per-class", type=click.IntRange(min=1),
              help="Cap the head class of the long-tailed subset at N images (the profile keeps its ratio).")
@_SPLIT_FILES
@click.option("--method", type=click.Choice(METHODS), default="ce", show_default=True)
@click.option("--net", type=click.Choice(NETS), default="auto", show_default=True,
              help="The network (auto: resnet8 for synthetic, resnet32 up to 64 pixels, resnet50 above).")
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
@click.option("--max-time", type=click.FloatRange(min=0),
              help="Seconds of wall time: no evaluation starts that would end after them, at the cost per epoch "
                   "measured so far.")
@click.option("--max-tokens", type=click.IntRange(min=0))
@click.option("--max-epochs", type=click.IntRange(min=0),
              help="Fine-tune epochs summed over every evaluation (rungs and confirmation included).")
@click.option("--rungs", callback=_rungs_option,
              help="Fine-tune epochs of each rung, increasing (e.g. 2,5,10): each generation's cohort starts at the "
                   "first, the top 1/--promote go up rung by rung [one rung: --n-ft].")
@click.option("--promote", type=click.IntRange(min=1), default=3, show_default=True,
              help="eta: the top 1/eta (at least one) of a generation's cohort at a rung go up to the next.")
@click.option("--confirm-seeds", type=click.IntRange(min=0), default=0, show_default=True,
              help="At the end, this many fresh seeds for each leader and reference at the top rung; the best is "
                   "the best mean.")
@click.option("--confirm-top", type=click.IntRange(min=1), default=3, show_default=True,
              help="The leaders confirmed with --confirm-seeds.")
@click.option("--scratch-seeds", type=click.IntRange(min=0), default=0, show_default=True,
              help="Last, the --scratch-top leaders and the best reference trained from scratch (the whole schedule, "
                   "scored on validation) with this many seeds each; the best is the best mean there.")
@click.option("--scratch-top", type=click.IntRange(min=1), default=2, show_default=True,
              help="The leaders trained from scratch with --scratch-seeds.")
@click.option("--diversity/--no-diversity", default=False, show_default=True,
              help="Keep the population across niches (op kinds and strength), cross parents of different niches, "
                   "and simplify GP offspring and bound their size.")
@click.option("--tune", type=click.IntRange(min=0), default=0, show_default=True,
              help="Offspring per generation that keep the leader's structure with constants Optuna chooses.")
@click.option("--build-on-references/--no-build-on-references", default=False, show_default=True,
              help="The evaluated references join the population: offspring may descend from them, and the tuning "
                   "may start from one that leads.")
@click.option("--baseline", "baselines", multiple=True, default=DEFAULT_REFERENCES, show_default=True,
              help="A reference policy to evaluate with the same fitness, so the best is seen against it: an "
                   "example's name or a file; repeat for more.")
@click.option("--no-baselines", is_flag=True, help="Evaluate no reference policy.")
@_BASE
@click.option("--executor", type=click.Choice(["local", "ray"]),
              help="Where evaluations run: this machine [local], or a Ray cluster (pip install 'autoda[ray]').")
@click.option("--workers", type=click.IntRange(min=1),
              help="Evaluations at once [1]: local processes (one device each) or Ray tasks in flight.")
@click.option("--cpus-per-eval", type=click.IntRange(min=1),
              help="Torch threads (and Ray CPUs) per evaluation [local: cores / workers; ray: 1].")
@click.option("--eval-batch", type=click.IntRange(min=1),
              help="Candidates fine-tuned at once as one packed network, in this process [16 on a GPU where "
                   "the network packs (CIFAR ResNets, one worker), else 1].")
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
@_TENSORBOARD
@click.option("--base-url", help="The LLM's OpenAI-compatible endpoint [OPENAI_BASE_URL].")
@click.option("--llm-model", "--model", "llm_model",
              help="The LLM, as the endpoint names it [AUTODA_MODEL]; the network is --net.")
@click.option("--api-key", help="The LLM endpoint's key [OPENAI_API_KEY].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per LLM call.")
@click.option("--temperature", type=click.FloatRange(min=0), help="The LLM's sampling temperature.")
@click.option("--constrain", type=click.Choice(CONSTRAIN_MODES), default="auto",
              show_default=True,
              help="Hold the LLM's answers to the policy grammar: gbnf (llama.cpp), vllm (structured outputs), "
                   "openai (custom tools); auto probes the endpoint once and falls back to none.")
def search_command(**o) -> None:
    """Search for a policy: evolve with an LLM or offline genetic programming, or ask once.

    With no options: a short offline search on the synthetic set, about 15 s on a 2-core CPU.
    """
    for option in ("max_time", "timeout", "temperature"):
        if o[option] is not None and math.isnan(o[option]):
            raise click.UsageError(f"--{option.replace('_', '-')} must be a number, not nan")
    if o["preset"] is not None and o["resume"]:
        raise click.UsageError("--preset sets up a new run; a resumed run keeps its own settings")
    if o["preset"] is not None:  # the preset's settings for this method, where not given here
        ctx = click.get_current_context()
        for option, value in PRESETS[o["preset"]].search_options(o["method"]).items():
            if ctx.get_parameter_source(option) is not click.core.ParameterSource.COMMANDLINE:
                o[option] = value
    _preset_data(o["preset"], o["data_root"])
    _require_tensorboard(o["tensorboard"])
    llm = _llm_settings(o)
    overrides = _overrides(o)
    run_dir, new = (Path(o["resume"]), None) if o["resume"] else _new_run(o, llm)
    if new is not None:
        with one_error_line():  # usage errors before the run folder is made
            checked = new.with_overrides(**overrides)
            checked.search.check_budgets(checked.training.n_ft, checked.training.epochs)
    footprint = _footprint(run_dir, new is not None)  # what a new run adds, taken back if it never starts
    with footprint.folders_taken_back_on_error():  # made for a journal that could not be opened
        journal, stored = _open_run(run_dir, new)
    try:
        with one_error_line():
            config = stored.with_overrides(**overrides)  # a resumed run's new budgets, executor, endpoints
            config.search.check_budgets(config.training.n_ft, config.training.epochs)
            if o["resume"] and config.search.policy_lang == "python":
                _require_sandbox()
            llm = config.llm_settings(llm, base_url=overrides["base_url"], api_key=o["api_key"])
        click.echo(shown(_search_line(run_dir, config, resumed=bool(o["resume"]), llm=llm)), err=True)
        outcome, summary = _run_search(run_dir, config, journal, llm, footprint, o["tensorboard"])
    finally:
        journal.close()
    _show_search(run_dir, config, outcome, summary)


def _llm_settings(o: dict):
    """The LLM the options (or AUTODA_MODEL, OPENAI_BASE_URL, OPENAI_API_KEY) name, or None."""
    from .search.llm import LLMSettings, LLMSetupError

    model = o["llm_model"] or os.environ.get("AUTODA_MODEL")
    if o["policy_lang"] == "python" and o["constrain"] not in ("auto", "none"):
        raise click.UsageError(f"--constrain {o['constrain']} holds answers to the policy language's grammar; "
                               "Python policies (--policy-lang python) are not constrained")
    if model in NETS:  # `--model resnet8`, meant for the network, would have started an LLM search
        named = "--llm-model/--model" if o["llm_model"] else "AUTODA_MODEL"
        raise click.UsageError(f"{named} {model!r} names a network, not an LLM: choose the network with "
                               f"--net {model}, and the LLM with --llm-model (or AUTODA_MODEL)")
    try:
        llm = LLMSettings.resolve(o["llm_model"], o["base_url"], o["api_key"], timeout=o["timeout"],
                                  temperature=o["temperature"], constrain=o["constrain"])
    except LLMSetupError as error:
        raise click.UsageError(shown(error)) from None
    if o["api_key"]:
        click.echo("warning: --api-key is visible to other processes on this machine (ps, /proc); "
                   "prefer the OPENAI_API_KEY environment variable", err=True)
    return llm


def _overrides(o: dict) -> dict:
    """RunConfig.with_overrides's arguments: what this command line gives a run, new or resumed."""
    executor = {"kind": o["executor"], "workers": o["workers"], "cpus_per_eval": o["cpus_per_eval"],
                "gpus_per_eval": o["gpus_per_eval"], "ray_address": o["ray_address"], "retries": o["eval_retries"],
                "eval_batch": o["eval_batch"]}
    return {"budgets": {k: o[k] for k in ("max_evals", "max_time", "max_tokens", "max_epochs")}, "executor": executor,
            "base_url": o["base_url"] or os.environ.get("OPENAI_BASE_URL"),
            "has_key": bool(o["api_key"] or os.environ.get("OPENAI_API_KEY"))}


def _new_run(o: dict, llm):
    """(run folder, configuration) of a new search, checked before anything is written. The
    executor options are not part of it: they apply to this process (see _overrides)."""
    from dataclasses import replace

    from .engine.train.fitness import default_cache_dir
    from .search.config import DataConfig, RunConfig, SearchConfig, TrainingConfig, default_schedule
    from .search.run import RunError, baseline_text

    proposer = o["proposer"] if o["proposer"] != "auto" else ("llm" if llm else "offline")
    schedule = {k: default if o[k] is None else o[k] for k, default in default_schedule(o["dataset"]).items()}
    if o["rungs"]:  # the top rung is the fine-tune the search ends at: the run's n_ft
        named = click.get_current_context().get_parameter_source("n_ft") is click.core.ParameterSource.COMMANDLINE
        if named and o["n_ft"] != o["rungs"][-1]:
            raise click.UsageError(f"--n-ft {o['n_ft']} and --rungs {','.join(map(str, o['rungs']))}: the top rung is "
                                   "the fine-tune length; leave --n-ft out, or make it the last rung")
        schedule["n_ft"] = o["rungs"][-1]
    cache = Path(o["cache_dir"]) if o["cache_dir"] else default_cache_dir()
    search = {k: o[k] for k in ("strategy", "population", "parents", "explore", "mutations", "generations",
                                "repair_tries", "max_evals", "max_time", "max_tokens", "seed", "policy_lang",
                                "rungs", "promote", "confirm_seeds", "confirm_top", "scratch_seeds", "scratch_top",
                                "max_epochs", "diversity", "tune", "build_on_references")}
    config = RunConfig(
        proposer,
        DataConfig(dataset=o["dataset"], data_root=o["data_root"], download=o["download"], imb_ratio=o["imb_ratio"],
                   cache_dir=str(cache / "data"), max_per_class=o["max_per_class"],
                   **{k: o[k] for k in SPLIT_FILE_KEYS}),
        TrainingConfig(method=o["method"],
                       net=o["net"] if o["net"] != "auto" else default_net(o["dataset"], o["image_size"]),
                       **schedule, batch_size=o["batch_size"], lr=o["lr"], seed=o["seed"],
                       device=_device(o["device"]), fitness_cache=str(cache), base=o["base"]),
        SearchConfig(**search), llm=llm)
    with one_error_line(usage=(RunError,)):
        config.validate()
        if config.search.policy_lang == "python":
            _require_sandbox()
        baselines = () if o["no_baselines"] else tuple(baseline_text(b) for b in o["baselines"])
    run_dir = Path(o["out"] or f"runs/{time.strftime('%Y%m%d-%H%M%S')}-{proposer}")
    return run_dir, replace(config, search=replace(config.search, baselines=baselines))


def _footprint(run_dir: Path, new: bool):
    """What a new run will add to the file system (autoda.search.run.Footprint; a resumed
    run's is empty)."""
    from .search.run import Footprint

    return Footprint(run_dir, new)


def _open_run(run_dir: Path, config):
    """The run's journal (holding the folder's lock) and its configuration: ``config`` for a
    new run, the stored one for --resume."""
    from .search.run import RunError, open_run

    with one_error_line(run_dir=run_dir, usage=(RunError,)):  # busy, damaged, unwritable, a full disk: one line
        return open_run(run_dir, config)


def _search_line(run_dir: Path, config, resumed: bool, llm=None) -> str:
    t, executor = config.training, config.executor
    proposer = f"{config.proposer} proposer"
    if config.proposer == "llm" and llm is not None:  # which model answers, and where: the first thing to check
        proposer = f"llm proposer ({llm.model} at {llm.base_url or 'the OpenAI API'})"
    return (f"{'resuming' if resumed else 'search'} {run_dir}: {proposer}, {config.search.strategy}, "
            f"{config.data.dataset} (imbalance {config.data.imb_ratio:g}), {t.method} on {t.net}, fitness after "
            f"{_fine_tunes(config.search, t.n_ft)} from epoch {t.e_ckp}{_from_scratch(config.search)}; evaluations: "
            f"{executor.kind} x "
            f"{executor.workers}{_packed(config)}")


def _packed(config) -> str:
    executor = config.executor
    if executor.eval_batch is None and config.training.device.startswith("cuda") and executor.workers == 1 \
            and executor.kind == "local":
        return ", candidates packed into one fine-tune where the network allows (--eval-batch)"
    k = executor.eval_batch or 1
    return f", {k} candidates packed into one fine-tune" if k > 1 else ""


def _fine_tunes(search, n_ft: int) -> str:
    """The fine-tunes a search scores with: its rungs and confirmation, when it has them."""
    text = counted(n_ft, "epoch") if len(search.rungs) < 2 else f"rungs of {', '.join(map(str, search.rungs))} epochs"
    if search.confirm_seeds:
        text += (f" (the {counted(search.confirm_top, 'leader')} confirmed with {search.confirm_seeds} more "
                 f"seed{'s' if search.confirm_seeds > 1 else ''})")
    return text


def _from_scratch(search) -> str:
    """The confirmation's trainings from scratch, when the search has them."""
    if not search.scratch_seeds:
        return ""
    return (f", then the {counted(search.scratch_top, 'leader')} and the best reference trained from scratch with "
            f"{counted(search.scratch_seeds, 'seed')}")


def _run_search(run_dir: Path, config, journal, llm, footprint, tensorboard: str | None) -> tuple[str, dict]:
    from .engine.train.trainer import Diverged
    from .report.progress import search_progress
    from .report.scalars import search_scalars
    from .search.run import run_search

    # a new run that stops with an error before it journals anything leaves no run folder;
    # Ctrl-C and SIGTERM (a scheduler's stop) keep it, with summary.json and best.dsl
    with _stops_with(f"interrupted; the journal is written: continue with --resume {run_dir}"), \
            footprint.taken_back_unless_journaled(journal), \
            one_error_line(run_dir=run_dir, wording={Diverged: "training the checkpoint diverged"}):
        # a candidate's divergence is its own failure; Diverged here is the checkpoint's training
        with search_progress(config) as (on_progress, on_epoch, on_note), \
                search_scalars(tensorboard, on_progress) as on_progress:
            return run_search(run_dir, config, journal, llm, on_progress, on_epoch, on_note)


def _show_search(run_dir: Path, config, outcome: str, summary: dict) -> None:
    """The finished run's leaderboard, and where its best policy is."""
    from .report.leaderboard import leaderboard_table
    from .search.summary import best_file

    with one_error_line(run_dir=run_dir):
        finished = journal_for(run_dir)
        try:
            click.echo(leaderboard_table(finished, shown(f"{run_dir}: {outcome}")))
        finally:
            finished.close()
    best = summary["best"]
    if best:
        click.echo(shown(f"best: {best['name']} at {100 * best['fitness']:.2f}% balanced validation accuracy -> "
                         f"{run_dir / best_file(config.search.policy_lang)}"))
        against = _against_references(summary)
        if against:
            click.echo(shown(against))
    else:
        click.echo("no candidate was evaluated successfully")


def _against_references(summary: dict) -> str | None:
    """Where the best stands against the best reference evaluated at its fidelity, and
    whether the run measured enough to tell that from noise."""
    best, noise = summary["best"], summary.get("noise") or {}
    fidelity = best.get("fidelity")
    scores = {name: s for name, s in (summary.get("reference_scores") or {}).items()
              if s.get("fitness") is not None and s.get("fidelity") == fidelity}
    if not scores:
        return None
    name, top = max(scores.items(), key=lambda item: item[1]["fitness"])
    gap = 100 * (best["fitness"] - top["fitness"])
    listed = ", ".join(f"{n} {100 * s['fitness']:.2f}%" for n, s in scores.items())
    line = f"against the references: {listed}; the best is {gap:+.2f} points from {name}"
    if noise.get("std") is None:
        return line + " (each scored once: a gap of about a point can be seed noise; --confirm-seeds measures it)"
    within = abs(gap) <= 100 * noise["std"]
    return line + f" (seed-to-seed std {100 * noise['std']:.2f} points{': within the noise' if within else ''})"


def journal_for(run_dir: Path):
    """A run's journal, read-only (a run folder may be read-only, or in use)."""
    from .search.journal import Journal
    from .search.run import JOURNAL

    return Journal(run_dir / JOURNAL, read_only=True)


# --- experiments, reports, runs ------------------------------------------------------------

@cli.command("experiment")
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@click.option("--preset", type=click.Choice(PRESET_NAMES),
              help="Run a named regime's grid (its methods x policies x seeds: none, RandAugment, TrivialAugment, "
                   "CUDA, DODA; the table1-* presets the paper's Table 1 on its base) instead of a CONFIG file.")
@click.option("--policy", "extra_policies", multiple=True,
              help="Add a policy to the grid: an example's name, a file, or LABEL=FILE to name its row (a "
                   "search's best as searched=runs/x/best.dsl, the paper's SimpleLLM as simplellm=...); repeatable.")
@click.option("--data-root", help="Overrides the config's (or preset's) data root.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Result folder [the config's path without .toml; runs/<preset>-experiment].")
@click.option("--device", default=None, help="Overrides the config's device.")
@click.option("--cache-dir", help="Where decoded image folders are cached (default ~/.cache/autoda).")
@_WEAK_SANDBOX
def experiment_command(config: str | None, preset: str | None, extra_policies: tuple[str, ...], data_root: str | None,
                       out: str | None, device: str | None, cache_dir: str | None) -> None:
    """Run a grid of methods x policies x seeds from a TOML file (or --preset), cell by cell
    (an interrupted experiment resumes), and print the many/medium/few/all table."""
    from .experiment import Experiment

    if (config is None) == (preset is None):
        raise click.UsageError("give a CONFIG file or --preset NAME (one of them)")
    if config is not None and not Path(config).is_file():
        raise click.UsageError(f"{config}: no such file")
    if preset is not None and data_root is None:
        _preset_data(preset, PRESETS[preset].data["data_root"])
    with one_error_line():
        raw = Experiment.load(config) if config else Experiment.from_dict(PRESETS[preset].experiment_config())
        experiment = raw.with_changes(data_root=data_root, policies=raw.policies + extra_policies)
    if experiment.data_root is None and experiment.dataset in ("cifar10-lt", "cifar100-lt", "folder"):
        raise click.UsageError(f"{experiment.dataset} needs a copy of the data: give --data-root (for CIFAR-100, the "
                               "folder holding torchvision's cifar-100-python)")
    out_dir = Path(out) if out else Path(config).with_suffix("") if config else Path(f"runs/{preset}-experiment")
    results = _run_grid(experiment, out_dir, _device(device or experiment.device), cache_dir)
    _write_tables(results, out_dir, f"{experiment.dataset} at imbalance {experiment.imb_ratio:g}",
                  experiment.published)


def _run_grid(experiment, out_dir: Path, device: str, cache_dir: str | None) -> list[dict]:
    """Run an experiment's missing cells with a line per cell; exit 130 on Ctrl-C."""
    from .engine.train.fitness import default_cache_dir
    from .experiment import run_experiment

    cells = experiment.cells()
    grid = (f"{', '.join(experiment.methods)} x {counted(len(experiment.policies), 'policy', 'policies')} x "
            f"{counted(len(experiment.seeds), 'seed')}")
    click.echo(f"{counted(len(cells), 'cell')}: {grid} on {experiment.dataset} (imbalance {experiment.imb_ratio:g}), "
               f"{counted(experiment.epochs, 'epoch')} on {device} -> {out_dir}", err=True)
    done = []

    def on_cell(name: str, status: str) -> None:
        if status != "running":
            done.append(name)
        click.echo(shown(f"[{len(done)}/{len(cells)}] {name}: {status}"), err=True)

    with _stops_with(f"interrupted; finished cells are kept in {out_dir / 'cells'}: run the same command again"):
        with one_error_line():  # a policy that does not check stops the run before any cell trains
            return run_experiment(experiment, out_dir, device, cache_dir or str(default_cache_dir() / "data"), on_cell)


def _write_tables(results: list[dict], out_dir: Path, title: str, published: dict | None = None) -> None:
    from .report.tables import csv_text, markdown, rich_table, rows

    table_rows = rows(results, published=published)
    write_atomic(out_dir / "table.md", lambda tmp: tmp.write_text(markdown(table_rows)))
    write_atomic(out_dir / "table.csv", lambda tmp: tmp.write_text(csv_text(table_rows)))
    click.echo(rich_table(table_rows, title))
    click.echo(f"tables written to {out_dir / 'table.md'} and {out_dir / 'table.csv'}", err=True)


@cli.command("verify")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@_preset("verify")
@click.option("--seeds", default="0,1,2", show_default=True, help="Training seeds, comma-separated.")
@click.option("--policies", default=",".join(HAND_DESIGNED), show_default=True,
              help="The hand-designed policies to train beside the run's best, comma-separated.")
@click.option("--dataset", type=click.Choice(DATASETS), help="[the run's]")
@click.option("--data-root", help="[the run's]")
@click.option("--imb-ratio", type=click.FloatRange(min=1), help="[the run's]")
@click.option("--max-per-class", type=click.IntRange(min=1), help="[the run's]")
@_SPLIT_FILES
@click.option("--net", type=click.Choice(MODELS), help="[the run's]")
@click.option("--epochs", type=EPOCHS, help="The full schedule's length [the run's --epochs].")
@click.option("--batch-size", type=click.IntRange(min=1), help="[the run's]")
@click.option("--lr", type=LR, help="[the run's]")
@click.option("--out", type=click.Path(file_okay=False),
              help="Result folder [RUN_DIR/verify; required for several runs].")
@click.option("--device", default=None, help="[the run's]")
@click.option("--cache-dir", help="Where decoded image folders are cached (default ~/.cache/autoda).")
@_WEAK_SANDBOX
def verify_command(run_dirs: tuple[str, ...], preset: str | None, seeds: str, policies: str, out: str | None,
                   device: str | None, cache_dir: str | None, **schedule) -> None:
    """Retrain a search's best from scratch beside the hand-designed policies, several seeds,
    and give the verdict on the test split (mean ± std, paired by seed). Several runs of one
    regime, each of another method (a CE and a BS search), make one verdict in --out."""
    from .report.verdict import sentence
    from .verify import plan, write_verdict

    _preset_data(preset, schedule["data_root"])
    with one_error_line():
        verification = plan([Path(r) for r in run_dirs], Path(out) if out else None, _int_list("--seeds", seeds),
                             _names("--policies", policies), preset=preset is not None, **schedule)
    results = [cell for experiment in verification.experiments
               for cell in _run_grid(experiment, verification.out, _device(device or experiment.device), cache_dir)]
    _write_tables(results, verification.out, f"verdict of {', '.join(Path(r).name for r in run_dirs)}")
    with one_error_line():
        result = write_verdict(verification, results)
    for comparison in result["comparisons"]:
        click.echo(sentence(comparison))
    click.echo(f"verdict written to {verification.out / 'verdict.json'} (and .md, .csv, report.html)", err=True)


def _int_list(option: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.UsageError(f"{option} takes whole numbers separated by commas, got {text!r}") from None
    if not values or any(not SEED_RANGE[0] <= v <= SEED_RANGE[1] for v in values) or len(set(values)) < len(values):
        raise click.UsageError(f"{option}: give distinct whole numbers in [{SEED_RANGE[0]}, {SEED_RANGE[1]}]")
    return values


def _names(option: str, text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise click.UsageError(f"{option}: give at least one name")
    return names


@cli.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="The HTML file [RUN_DIR/report.html].")
@_WEAK_SANDBOX
def report_command(run_dir: str, out: str | None) -> None:
    """Write a self-contained HTML report (figures inlined) for a search run or an experiment."""
    from .report import build_report

    if not Path(run_dir).is_dir():
        raise click.UsageError(shown(f"{run_dir}: no such folder"))
    with one_error_line(run_dir=Path(run_dir)):
        path = build_report(run_dir, out)
    click.echo(shown(path))


@cli.command("doctor")
@click.option("--llm-model", help="An LLM to check [AUTODA_MODEL].")
@click.option("--base-url", help="Its OpenAI-compatible endpoint [OPENAI_BASE_URL; else the OpenAI API].")
@click.option("--timeout", type=click.FloatRange(min=1), default=20, show_default=True,
              help="Seconds the endpoint has to answer.")
def doctor_command(llm_model: str | None, base_url: str | None, timeout: float) -> None:
    """What this machine gives: the versions, the device, the cache folders and their
    sizes, the Python-policy sandbox's isolation layers, and whether the configured LLM
    endpoint answers (one short request). Exit 1 when Python policies would be refused
    here or the endpoint cannot be used."""
    from .doctor import doctor_text
    from .search.llm import LLMSettings, LLMSetupError

    try:  # a key comes from OPENAI_API_KEY only: doctor takes none on its command line
        llm = LLMSettings.resolve(llm_model, base_url, None, timeout=timeout, retries=0, constrain="auto")
    except LLMSetupError as error:
        raise click.UsageError(shown(error)) from None
    text, ok = doctor_text(llm)
    click.echo(shown(text))
    if not ok:
        sys.exit(1)


@cli.group("runs")
def runs_group() -> None:
    """Look at search runs."""


@runs_group.command("list")
@click.argument("folder", default="runs", required=False)
def runs_list(folder: str) -> None:
    """A line per run under FOLDER (default runs/), best first."""
    from .report.leaderboard import best_fitness, journaled_anything, runs_table

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
        if isinstance(summary, dict) and journaled_anything(summary):
            runs.append((summary_path.parent, summary))
    runs.sort(key=lambda r: -best_fitness(r[1]))
    click.echo(runs_table(runs) if runs else shown(f"no runs in {folder}"))


@runs_group.command("show")
@click.argument("run_dir")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--candidate", "candidate_id", type=click.IntRange(min=1),
              help="One candidate (its id, as the leaderboard shows it): its policy, idea, fitness, each "
                   "evaluation and per-class accuracy, or why it failed.")
def runs_show(run_dir: str, top: int, candidate_id: int | None) -> None:
    """The leaderboard of one run, or one of its candidates."""
    from .report.candidate import candidate_text
    from .report.leaderboard import leaderboard_table
    from .search.run import JOURNAL

    if not (Path(run_dir) / JOURNAL).exists():
        raise click.UsageError(shown(f"{run_dir}: no {JOURNAL} there"))
    with one_error_line(run_dir=Path(run_dir)):
        journal = journal_for(Path(run_dir))
        try:
            if candidate_id is None:
                click.echo(leaderboard_table(journal, shown(run_dir), top))
                return
            text = candidate_text(journal, candidate_id)
            if text is None:
                raise click.UsageError(shown(f"{run_dir}: no candidate {candidate_id} (the run has "
                                             f"{len(journal.all())} candidates)"))
            click.echo(text)
        finally:
            journal.close()


@runs_group.command("export")
@click.argument("run_dir")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the CSV to this file [standard output].")
@click.option("--top", type=click.IntRange(min=1), help="Only the N best [every evaluated candidate].")
@click.option("--all", "every", is_flag=True,
              help="After the ranked rows, every candidate without a fitness (failed, duplicate, in flight).")
def runs_export(run_dir: str, out: str | None, top: int | None, every: bool) -> None:
    """A run's leaderboard as CSV: the rows `runs show` ranks, with numbers unformatted
    (fractions, full precision) and columns for programs (fitness_std, fitness_n, epochs,
    status, failure, ...; docs/search.md lists them)."""
    from .report.export import csv_text, export_rows
    from .search.run import JOURNAL

    if not (Path(run_dir) / JOURNAL).exists():
        raise click.UsageError(shown(f"{run_dir}: no {JOURNAL} there"))
    with one_error_line(run_dir=Path(run_dir)):
        journal = journal_for(Path(run_dir))
        try:
            rows = export_rows(journal, top, every)
        finally:
            journal.close()
    text = csv_text(rows)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror or error}")
    click.echo(shown(f"{out}: {counted(len(rows), 'row')} and a header written"), err=True)


@cli.group("llm")
def llm_group() -> None:
    """A local LLM for the search (the local-llm extra)."""


@llm_group.command("serve")
@click.option("--model", "model_path", type=click.Path(dir_okay=False),
              help="A GGUF model file [the bundled SmolLM2-135M-Instruct].")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--ctx", "context", type=click.IntRange(min=512), default=8192, show_default=True,
              help="Context length in tokens (the system prompt is about 5,000).")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads [llama.cpp's choice].")
def llm_serve(model_path: str | None, host: str, port: int, context: int, threads: int | None) -> None:
    """Serve a local model at an OpenAI-compatible endpoint until Ctrl-C; then search
    with --base-url http://HOST:PORT/v1 --llm-model local."""
    import subprocess

    from .search.local_server import LocalServerError, resolve_model, server_command
    from .secrets import environ_without_secrets

    try:
        path = resolve_model(model_path)
    except LocalServerError as error:
        fail(error)
    click.echo(shown(f"serving {path.name} at http://{host}:{port}/v1 as model 'local'; "
                     f"search with --base-url http://{host}:{port}/v1 --llm-model local"), err=True)
    code = subprocess.call(server_command(path, host, port, context, threads), env=environ_without_secrets())
    if code not in (0, -2, 130):  # 130 / SIGINT: Ctrl-C, the way it is meant to stop
        fail(f"the local server exited with code {code}")


def main() -> None:
    # a scheduler's SIGTERM stops a command as Ctrl-C does
    with sigterm_as_interrupt(), _stops_with("interrupted"):
        cli(standalone_mode=True)
