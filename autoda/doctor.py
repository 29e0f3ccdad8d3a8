"""`autoda doctor`: what this machine gives autoda. Versions, the device, and the isolation
layers a Python policy's sandbox worker can put up here, read from a worker started the
way every Python policy's is (docs/python-policies.md says what each layer does)."""
from __future__ import annotations

import platform
import sys
from importlib import metadata

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

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} device(s))"
    return "cpu (no CUDA device)"


def sandbox_layers() -> dict[str, dict]:
    """The layers a sandbox worker reports on this machine (started even where some are missing)."""
    from .sandbox.client import SandboxClient, SandboxLimits

    client = SandboxClient(SandboxLimits(allow_weak=True))
    try:
        return client.start()
    finally:
        client.close()


def doctor_text() -> tuple[str, bool]:
    """The report, and whether Python policies would run here without --allow-weak-sandbox."""
    from .sandbox import SandboxError
    from .sandbox.client import ALLOW_WEAK_ENV
    from .sandbox.isolation import cuts

    lines = [f"autoda {__version__} · Python {platform.python_version()} · torch {_version('torch')} · "
             f"numpy {_version('numpy')} · RestrictedPython {_version('RestrictedPython')} · "
             f"{platform.system()} {platform.release()} {platform.machine()}",
             f"device: {_device()}", "",
             "Python-policy sandbox (each layer assumes the ones before it are bypassed):",
             f"  {'on':<4}{'language guards':<19}RestrictedPython; allow-listed builtins, numpy and random"]
    try:
        layers = sandbox_layers()
    except SandboxError as error:
        return "\n".join(lines + [f"  the sandbox worker did not start: {error}"]), False
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
    return "\n".join(lines), ok


if __name__ == "__main__":  # pragma: no cover
    text, ok = doctor_text()
    print(text)
    sys.exit(0 if ok else 1)
