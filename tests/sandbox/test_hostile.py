"""A corpus of hostile strategy functions. Each is refused when checked (P001/P004: the
static checks and RestrictedPython), or stopped at run time with a recorded kind: a guard
refusal, a CPU or wall-clock timeout, the memory limit, a bad result. The parent is never
harmed: the worker's whole process group is gone afterwards and a good function runs next.
"""
import os
import textwrap
import time

import numpy as np
import pytest

from autoda.compiler import PolicyError
from autoda.compiler.source import Source
from autoda.sandbox import PythonStep, SandboxError, SandboxLimits, check_python_source
from autoda.sandbox.policy import initial_state

LIMITS = SandboxLimits(cpu_seconds=1, wall_seconds=4, memory_mb=256)
SIGNATURE = "def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):\n"
OK_RETURN = "    return lats_chose_matix, lats_chose_exts\n"


def function(body: str, prelude: str = "import numpy as np\nimport random\nimport math\n") -> str:
    return prelude + SIGNATURE + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ") + OK_RETURN


# (id, source, expected): a diagnostic code for refusals when checked, a kind for run time
CORPUS = [
    # escapes published against RestrictedPython and sandboxes like it
    ("format-string attribute walk", function("s = '{0.__class__.__mro__}'.format(ACCs)"), "guard"),
    ("format_map attribute walk", function("s = '{x.__class__}'.format_map({'x': ACCs})"), "guard"),
    ("str.format through a method", function("f = 'x'.format\ns = f('{0.__globals__}')"), "guard"),
    ("f-string dunder", function("s = f'{ACCs.__class__}'"), "P001"),
    # augmented item assignment (allowed for arrays, lists, dicts) opens no other write
    ("augmented write into a dunder", function("ACCs.__dict__['x'] += 1"), "P001"),
    ("augmented write into a tuple", function("ACCs.shape[0] += 1"), "guard"),
    ("augmented write into a string", function("s = 'ab'\ns[0] += 'c'"), "guard"),
    ("augmented write into an attribute", function("ACCs.flags += 1"), "P001"),
    ("augmented write into a module", function("t = {'m': np}\nt['m'][0] += 1"), ("guard", "exception")),
    ("AttributeError.obj", function("try:\n    ACCs.nope\nexcept Exception as e:\n    leaked = e.obj"), "guard"),
    ("exception traceback", function("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    tb = e.__traceback__"),
     "P001"),
    ("exception with_traceback", function("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    w = e.with_traceback"),
     "guard"),
    ("try/except*", function("try:\n    pass\nexcept* ValueError:\n    pass"), "P001"),
    ("generator frame", function("g = (x for x in [1])\nframe = g.gi_frame"), "P001"),
    ("generator code", function("g = (x for x in [1])\ncode = g.gi_code"), "P001"),
    ("positional-only parameter shadows a guard",
     "def get_aug_type(_getattr_, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch, /):\n"
     "    return lats_chose_matix, lats_chose_exts\n", "P001"),
    ("helper's default shadows a guard", function("def helper(x, _getiter_=list, /):\n    return x"), "P001"),
    ("__subclasses__ walk", function("classes = ().__class__.__bases__[0].__subclasses__()"), "P001"),
    ("type() walk", function("classes = type(ACCs).mro()"), "P004"),
    ("getattr builtin", function("cls = getattr(ACCs, '__class__')"), "P004"),
    ("function globals", function("f = lambda: 0\ng = f.__globals__"), "P001"),
    ("bound method self", function("m = [].append\nowner = m.__self__"), "P001"),
    ("module loader", function("loader = math.__loader__"), "P001"),
    ("__import__", function("os = __import__('os')"), "P001"),
    ("class definition", function("class Evil:\n    pass"), "P004"),
    ("eval", function("eval('1')"), "P004"),
    ("exec", function("exec('x = 1')"), "P004"),
    ("compile", function("compile('x', 'f', 'exec')"), "P004"),
    ("array ctypes", function("pointer = ACCs.ctypes"), "guard"),
    ("array base", function("base = ACCs.base"), "guard"),
    ("array tofile", function("ACCs.tofile('escaped.bin')"), "guard"),
    ("numpy.load", function("np.load('/etc/passwd')"), "guard"),
    ("numpy.lib", function("memmap = np.lib.format.open_memmap"), "guard"),
    ("random state", function("state = random.getstate()"), "guard"),
    # numpy over raw memory: arrays over buffers and offsets, forged or leaked pointers
    ("ndarray at a negative offset",
     function("a = np.zeros(4)\nb = np.ndarray((4,), dtype=np.float64, buffer=a, offset=-32)"), "guard"),
    ("ndarray forging object pointers",
     function("a = np.zeros(1, dtype=np.int64)\nb = np.ndarray((1,), dtype='O', buffer=a)"), "guard"),
    ("ndarray leaking addresses", function("b = np.ndarray((1,), dtype=np.int64, buffer=np.array([len]))"),
     "guard"),
    ("object array of a builtin", function("leak = np.array([len])"), "guard"),
    ("object dtype", function("x = np.zeros(3, dtype='object')"), "guard"),
    ("object dtype from random", function("x = np.random.permutation([len, min])"), "guard"),
    ("astype object", function("x = ACCs.astype('O')"), "guard"),
    ("record dtype", function("x = np.zeros(3, dtype=[('a', 'i8')])"), "guard"),
    ("bytes dtype", function("x = np.full(3, 1, dtype='S8')"), "guard"),
    ("frombuffer", function("x = np.frombuffer(ACCs)"), "guard"),
    ("view as another dtype", function("x = ACCs.view(np.int64)"), "guard"),
    ("stride tricks", function("x = np.lib.stride_tricks.as_strided(ACCs, (10 ** 6,), (8,))"), "guard"),
    ("ctypeslib", function("x = np.ctypeslib"), "guard"),
    ("array interface", function("x = ACCs.__array_interface__"), "P001"),
    ("union dtype: a float with a bytes field", function("x = np.zeros(2, dtype=('f8', {'s': ('S8', 0)}))['s']"),
     "guard"),
    ("astype to a union dtype", function("x = ACCs.astype(('i8', {'v': ('V8', 0)}))"), "guard"),
    ("where= without out= shows the heap", function("x = np.sqrt(np.ones(8), where=False)"), "guard"),
    ("two-argument ufunc where= without out=", function("x = np.maximum(ACCs, 0.5, where=ACCs > 0.7)"), "guard"),
    ("clip method where= without out=", function("x = ACCs.clip(0, 1, where=False)"), "guard"),
    ("object array from arithmetic", function("x = (ACCs + [10 ** 30]).tolist()"), "guard"),
    ("object array item", function("x = (ACCs + [10 ** 30])[0]"), "guard"),
    ("object array iterated", function("x = [e for e in ACCs + [10 ** 30]]"), "guard"),
    ("object array written", function("x = ACCs + [10 ** 30]\nx[0] = len"), "guard"),
    ("object array into numpy", function("x = np.sqrt(ACCs + [10 ** 30])"), "guard"),
    ("setting an array's shape", function("aug_weight.shape = (10, 4)"), "guard"),
    ("setting an array's strides", function("ACCs.strides = (0,)"), "guard"),
    ("deleting an attribute", function("del ACCs.shape"), "guard"),
    ("a message that cannot be printed", function("raise ValueError(10 ** 5000)"), "exception"),
    ("writing a module attribute", function("math.pi = 3"), "guard"),
    # files, network, processes
    ("open", function("open('escaped.txt', 'w').write('x')"), "P004"),
    ("import os", function("import os\nos.system('touch escaped')"), "P004"),
    ("from subprocess", function("from subprocess import run\nrun(['true'])"), "P004"),
    ("socket", function("import socket\nsocket.create_connection(('127.0.0.1', 80))"), "P004"),
    ("fork bomb", function("import os\nwhile True:\n    os.fork()"), "P004"),
    ("relative import", function("from . import guards"), "P004"),
    ("star import", function("from numpy import *"), "P004"),
    ("input", function("x = input()"), "P004"),
    # time and memory
    ("infinite loop", function("while True:\n    pass"), "timeout"),
    ("10**10**10", function("x = 10 ** 10 ** 10"), ("timeout", "memory")),
    ("numpy busy loop", function("while True:\n    np.sort(np.random.rand(100000))"), "timeout"),
    ("huge array", function("x = np.ones((100000, 100000))"), "memory"),
    ("huge list", function("x = [0] * 10 ** 10"), "memory"),
    ("huge string", function("x = 'a' * 10 ** 10"), "memory"),
    ("growing list", function("x = []\nwhile True:\n    x.append([0] * 100000)"), ("memory", "timeout")),
    ("printing forever", function("while True:\n    print('x' * 100000)"), ("memory", "timeout")),
    ("recursion", function("def f(n):\n    return f(n + 1)\nf(0)"), "exception"),
    ("loop at module level", "while True:\n    pass\n" + SIGNATURE + OK_RETURN, "timeout"),
    ("deep nesting", function("x = " + "(" * 300 + "1" + ")" * 300), "P001"),
    ("a thousand elifs", function("if epoch == 0:\n    pass\n" + "".join(f"elif epoch == {i}:\n    pass\n"
                                                                            for i in range(1000))), "P001"),
    # results that are not a policy step
    ("returns None", function("return None"), "bad_result"),
    ("returns a string", function("return 'policy'"), "bad_result"),
    ("wrong shape", function("return np.zeros((2, 2), dtype=bool), np.zeros((2, 2))"), "bad_result"),
    ("NaN intensities", function("return lats_chose_matix, lats_chose_exts * np.nan"), "bad_result"),
    ("intensities above 1", function("return lats_chose_matix, lats_chose_exts + 2"), "bad_result"),
    ("choices not boolean", function("return lats_chose_exts + 0.5, lats_chose_exts"), "bad_result"),
    ("endless generator as result", function("return (x for x in range(10 ** 12))"), "bad_result"),
    ("weights returned transposed", function("return lats_chose_matix, lats_chose_exts, aug_weight.T"),
     "bad_result"),
]


def test_the_corpus_is_large_and_covers_every_outcome():
    expected = {e for _, _, e in CORPUS for e in ((e,) if isinstance(e, str) else e)}
    assert len(CORPUS) >= 30
    assert {"P001", "P004", "guard", "timeout", "memory", "bad_result", "exception"} <= expected


def run_once(source: str, limits: SandboxLimits = LIMITS):
    python = check_python_source(Source(source, "hostile.py"))
    step = PythonStep(python, limits, opening=False)
    state = initial_state(4, len(python.ops))
    try:
        return step(state, np.full(4, 0.5), 1, seed=0, correct=np.full(4, 5)), step
    except SandboxError:
        step.close()
        raise


@pytest.mark.parametrize("name,source,expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_function_is_refused_or_stopped(name, source, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything that escaped would write here
    if expected.__class__ is str and expected[0] == "P":
        with pytest.raises(PolicyError) as error:
            check_python_source(Source(source, "hostile.py"))
        assert expected in {d.code for d in error.value.diagnostics}, error.value.render()
        return
    kinds = (expected,) if isinstance(expected, str) else expected
    start = time.monotonic()
    with pytest.raises(SandboxError) as error:
        step = None
        python = check_python_source(Source(source, "hostile.py"))
        step = PythonStep(python, LIMITS, opening=False)
        step.client._start()
        pid = step.client.pid
        step(initial_state(4, len(python.ops)), np.full(4, 0.5), 1, seed=0, correct=np.full(4, 5))
    assert error.value.kind in kinds, f"{error.value.kind}: {error.value}"
    assert time.monotonic() - start < LIMITS.wall_seconds + 10  # stopped within its limit (+ start-up)
    with pytest.raises(ProcessLookupError):  # the worker's whole process group is gone
        os.killpg(pid, 0)
    assert os.listdir(tmp_path) == []
    # the parent is unharmed: a good function runs in a fresh worker right after
    good, step = run_once(function("chose = np.ones(ACCs.shape + (10,), dtype=bool)\n"
                                   "return chose, np.full((4, 10), 0.5)"))
    step.close()
    assert good["chose"].tolist() == [[True] * 10] * 4


def test_wall_clock_timeout_kills_the_process_group_when_the_cpu_limit_is_far():
    limits = SandboxLimits(cpu_seconds=120, wall_seconds=1.5, memory_mb=256)
    start = time.monotonic()
    with pytest.raises(SandboxError) as error:
        run_once(function("while True:\n    pass"), limits)
    assert error.value.kind == "timeout" and "wall-clock" in str(error.value)
    assert time.monotonic() - start < 10


def test_a_functions_message_reaches_terminals_and_prompts_as_one_printable_line(tmp_path):
    """The function chooses its exception's text: an OSC or CSI sequence would drive the
    terminal of whoever runs `autoda compile` or `train`; a newline would forge a line."""
    from click.testing import CliRunner

    from autoda.cli import cli

    source = function('raise ValueError("\\x1b]0;owned\\x07\\x1b[2Jred\\nerror: forged line")')
    with pytest.raises(SandboxError) as error:
        run_once(source)
    message = str(error.value)
    assert "\x1b" not in message and "\x07" not in message and "\n" not in message
    assert "\\x1b]0;owned\\x07" in message and "\\nerror: forged line" in message
    (tmp_path / "loud.py").write_text(source)
    result = CliRunner().invoke(cli, ["compile", str(tmp_path / "loud.py")])
    assert result.exit_code == 1 and "\x1b" not in result.output and "\nerror: forged" not in result.output
