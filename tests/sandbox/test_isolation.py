"""The sandbox's OS layers, tested as if the language guards had been bypassed: a probe
worker (escape_probe.py) starts and locks itself down exactly as the real worker does, then
runs native Python with open, os, socket and ctypes in reach. Every attack a policy that
escaped RestrictedPython would make must fail: reading the parent's environment or command
line, reading any file, writing one, connecting to loopback, starting a process,
signalling the parent. And the parent refuses to run Python policies where the machine
cannot cut the filesystem and the network, unless weak isolation is allowed explicitly."""
import errno
import json
import platform
import socket
from pathlib import Path

import numpy as np
import pytest

from autoda.compiler.source import Source
from autoda.sandbox import PythonStep, SandboxClient, SandboxError, SandboxLimits, check_python_source
from autoda.sandbox.client import ALLOW_WEAK_ENV
from autoda.sandbox.isolation import missing_cuts
from autoda.sandbox.policy import initial_state

PROBE = (str(Path(__file__).with_name("escape_probe.py")),)
LIMITS = SandboxLimits(cpu_seconds=5, wall_seconds=20, memory_mb=256)
SECRET = "sk-test-0123456789abcdefSECRET"

# openat, as a raw system call: what native code would do without Python's open()
OPENAT = {"x86_64": 257, "aarch64": 56}.get(platform.machine())


def attempt(body: str) -> str:
    """Code for the probe: run body (which sets data), report whether it got through."""
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    return (f"try:\n{indented}\n    result = {{'escaped': True, 'data': repr(data)[:300]}}\n"
            f"except OSError as error:\n    result = {{'escaped': False, 'errno': error.errno}}\n")


@pytest.fixture(scope="module")
def probe():
    client = SandboxClient(LIMITS, worker=PROBE)
    try:
        client.start()
    except SandboxError as error:
        if error.kind == "isolation":
            pytest.skip(f"this machine cannot isolate Python policies at the OS level: {error}")
        raise
    yield client
    client.close()


def run(client: SandboxClient, code: str) -> dict:
    return client.call({"code": code})["result"]


def refused(outcome: dict) -> bool:
    """Stopped by a permission check, not by chance (a missing file, a closed port)."""
    return outcome["escaped"] is False and outcome["errno"] in (errno.EPERM, errno.EACCES)


@pytest.fixture(autouse=True)
def secrets_in_the_parent(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:{SECRET}@proxy.invalid:3128")
    monkeypatch.delenv(ALLOW_WEAK_ENV, raising=False)


def test_the_worker_starts_with_nothing_of_the_parents_environment():
    client = SandboxClient(SandboxLimits(**{**LIMITS.__dict__, "allow_weak": True}), worker=PROBE)
    try:
        client.start()
        assert run(client, "result = dict(os.environ)") == {}
    finally:
        client.close()


ATTACKS = {
    "read the parent's environment": "data = open(f'/proc/{os.getppid()}/environ', 'rb').read()",
    "read the parent's command line": "data = open(f'/proc/{os.getppid()}/cmdline', 'rb').read()",
    "read its own start-up environment": "data = open('/proc/self/environ', 'rb').read()",
    "read /etc/passwd": "data = open('/etc/passwd').readline()",
    "list a directory": "data = os.listdir('/')",
    "start a process": "data = os.posix_spawn('/bin/true', ['true'], {})",
    "signal the parent": "data = os.kill(os.getppid(), 0)",
    "make a socket": "data = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
}


@pytest.mark.parametrize("name", ATTACKS)
def test_an_escaped_policy_cannot(name, probe):
    outcome = run(probe, attempt(ATTACKS[name]))
    assert refused(outcome), f"{name}: {outcome}"


@pytest.mark.skipif(OPENAT is None, reason=f"no openat number known for {platform.machine()}")
def test_an_escaped_policy_cannot_open_a_file_with_a_raw_system_call(probe):
    code = attempt(f"fd = libc.syscall({OPENAT}, -100, b'/etc/passwd', 0)\n"
                   f"if fd < 0:\n    raise OSError(ctypes.get_errno(), 'openat')\ndata = fd")
    assert refused(run(probe, code))


def test_an_escaped_policy_cannot_write_files(probe, tmp_path):
    target = tmp_path / "escaped.txt"
    for body in (f"data = open({str(target)!r}, 'w').write('x')", f"data = os.mkdir({str(target)!r})",
                 f"data = os.symlink('/etc/passwd', {str(target)!r})"):
        assert refused(run(probe, attempt(body))), body
    assert list(tmp_path.iterdir()) == []


def test_an_escaped_policy_cannot_connect_to_loopback(probe):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        outcome = run(probe, attempt(f"data = socket.create_connection(('127.0.0.1', {port}), timeout=2)"))
        assert refused(outcome), outcome
        with pytest.raises(BlockingIOError):  # nothing reached the listener
            server.accept()


def test_every_layer_reports_itself(probe):
    assert set(probe.layers) >= {"environment", "landlock", "seccomp", "rlimits", "no_new_privs"}
    assert all(isinstance(layer["detail"], str) and layer["detail"] for layer in probe.layers.values())
    assert missing_cuts(probe.layers) == []
    assert json.dumps(probe.layers).find(SECRET) == -1


POLICY = ("import numpy as np\n"
          "def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):\n"
          "    return np.ones(aug_weight.shape, dtype=bool), np.full(aug_weight.shape, 0.5)\n")


def _step(limits: SandboxLimits):
    step = PythonStep(check_python_source(Source(POLICY, "policy.py")), limits, opening=False)
    try:
        return step(initial_state(3, 10), np.full(3, 0.5), 1, seed=0, correct=np.full(3, 5))
    finally:
        step.close()


def test_python_policies_are_refused_where_the_os_cannot_cut_files_and_network(monkeypatch):
    without = SandboxLimits(cpu_seconds=5, wall_seconds=20, memory_mb=256, layers=("environment", "rlimits"))
    with pytest.raises(SandboxError) as error:
        _step(without)
    assert error.value.kind == "isolation"
    message = str(error.value)
    assert "file-system cut" in message and "network cut" in message and "--allow-weak-sandbox" in message
    # allowed explicitly, in the limits or the environment, the same policy runs
    assert _step(SandboxLimits(**{**without.__dict__, "allow_weak": True}))["chose"].all()
    monkeypatch.setenv(ALLOW_WEAK_ENV, "1")
    assert _step(without)["chose"].all()


def test_one_cut_missing_is_enough_to_refuse():
    files_only = SandboxLimits(cpu_seconds=5, wall_seconds=20, memory_mb=256,
                               layers=("environment", "rlimits", "no_new_privs", "landlock"))
    with pytest.raises(SandboxError) as error:
        _step(files_only)
    assert error.value.kind == "isolation" and "network cut" in str(error.value)
    assert "file-system cut" not in str(error.value)
