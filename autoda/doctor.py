"""`autoda doctor`: what this machine gives autoda. Versions, the device, and the isolation
layers a Python policy's sandbox worker can put up here, read from a worker started the
way every Python policy's is (docs/python-policies.md says what each layer does)."""
from __future__ import annotations

import contextlib
import platform
import sys
from importlib import metadata
from pathlib import Path

from . import __version__

LAYER_NAMES = {"environment": "environment", "network_namespace": "network namespace",
               "separate_uid": "separate uid", "rlimits": "resource limits", "no_new_privs": "no_new_privs",
               "landlock": "landlock", "seccomp": "seccomp"}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _device() -> str:
    import torch

    build = f"torch built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only torch build"
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} device(s)); {build}"
    return f"cpu (no CUDA device; {build})"


def _size(path: Path) -> int:
    """Bytes under ``path`` (a file or a folder); 0 where nothing is."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for file in path.rglob("*") if path.is_dir() else ():
        with contextlib.suppress(OSError):
            if file.is_file() and not file.is_symlink():
                total += file.stat().st_size
    return total


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size < 2**30 else f"{size / 2**30:,.2f} GiB"


def cache_lines() -> list[str]:
    """The folders autoda fills, with their sizes: decoded data sets, shared checkpoints,
    the bundled local model."""
    from .engine.train.fitness import default_cache_dir
    from .search.local_server import bundled_model

    root = default_cache_dir()
    lines = [f"caches (AUTODA_CACHE, else ~/.cache/autoda): {root}"]
    for name, what in (("data", "decoded image folders"), ("checkpoints", "shared fitness checkpoints")):
        folder = root / name
        lines.append(f"  {name + '/':<13}{_megabytes(_size(folder)) if folder.is_dir() else 'empty':<12}{what}")
    model = bundled_model()
    found = f"{_megabytes(_size(model))} {model}" if model else "none (the local-llm extra)"
    lines.append(f"  local model  {found}")
    return lines


def endpoint_lines(llm) -> tuple[list[str], bool]:
    """Whether the configured LLM endpoint answers, and which grammar it takes (one short
    probe or a few, as a search's first step makes them); and whether it answered."""
    from .search.llm import LLMClient, LLMError, LLMSetupError

    where = llm.base_url or "the OpenAI API"
    try:
        note = LLMClient(llm).settle()
    except (LLMError, LLMSetupError) as error:
        return [f"LLM endpoint: {llm.model} at {where}: cannot be used: {error}"], False
    return [f"LLM endpoint: {llm.model} at {where} answers; {note}"], True


def sandbox_layers() -> dict[str, dict]:
    """The layers a sandbox worker reports on this machine (started even where some are missing)."""
    from .sandbox.client import SandboxClient, SandboxLimits

    client = SandboxClient(SandboxLimits(allow_weak=True))
    try:
        return client.start()
    finally:
        client.close()


def doctor_text(llm=None) -> tuple[str, bool]:
    """The report, and whether all is well: Python policies would run here without
    --allow-weak-sandbox, and the LLM endpoint (an autoda.search.llm.LLMSettings, when one
    is configured) answers."""
    from .sandbox import SandboxError
    from .sandbox.client import ALLOW_WEAK_ENV
    from .sandbox.isolation import cuts

    lines = [f"autoda {__version__} · Python {platform.python_version()} · torch {_version('torch')} · "
             f"numpy {_version('numpy')} · RestrictedPython {_version('RestrictedPython')} · "
             f"{platform.system()} {platform.release()} {platform.machine()}",
             f"device: {_device()}", *cache_lines(), "",
             "Python-policy sandbox (each layer assumes the ones before it are bypassed):",
             f"  {'on':<4}{'language guards':<19}RestrictedPython; allow-listed builtins, numpy and random"]
    endpoint, answered = endpoint_lines(llm) if llm is not None else (
        ["LLM endpoint: none configured (--llm-model or AUTODA_MODEL, with --base-url or OPENAI_BASE_URL)"], True)
    try:
        layers = sandbox_layers()
    except SandboxError as error:
        return "\n".join(lines + [f"  the sandbox worker did not start: {error}", "", *endpoint]), False
    for name, label in LAYER_NAMES.items():
        layer = layers.get(name, {"active": False, "detail": "not reported"})
        lines.append(f"  {'on' if layer['active'] else 'off':<4}{label:<19}{layer['detail']}")
    given = cuts(layers)
    lines.append("")
    for need, by in given.items():
        lines.append(f"  {need + ' cut' if need != 'environment' else 'environment scrubbed':<22}"
                     f"{'by ' + ', '.join(LAYER_NAMES[b] for b in by) if by else 'NO'}")
    ok = all(given.values())
    lines.append("Python policies: " + ("run here" if ok else
                                        f"refused here unless --allow-weak-sandbox (or {ALLOW_WEAK_ENV}=1)"))
    return "\n".join(lines + ["", *endpoint]), ok and answered


if __name__ == "__main__":  # pragma: no cover
    text, ok = doctor_text()
    print(text)
    sys.exit(0 if ok else 1)
