"""OS-level isolation of the sandbox worker, applied by the worker to itself after its
imports and before it reads any request.

RestrictedPython's own documentation says it is not a sandbox, so every layer here assumes
the one before it has been bypassed and that the policy runs arbitrary native code:

- environment: the parent starts the worker with an empty environment (no API keys, no
  proxies); the worker clears whatever is left;
- network namespace: a namespace of its own with no interfaces (not even loopback up),
  where the kernel allows it (root, or unprivileged user namespaces);
- separate uid: when started as root, the worker becomes nobody (65534), so root-only files
  and other users' processes are out of reach;
- resource limits: address space, file size 0, few descriptors, no new processes, no core;
- no_new_privs: nothing it executes can gain privileges (and seccomp/landlock require it);
- landlock: no file may be opened, created or executed at all (stdin and stdout stay open),
  no TCP bind/connect, no signal or abstract socket outside (as far as the kernel's ABI goes);
- seccomp (libseccomp): the system calls that open files, make sockets, start or trace
  processes, signal others, change credentials or reach kernel attack surface fail with
  EPERM; calls of a foreign ABI (i386 on x86_64, x32) kill the process.

Each layer reports itself; `cuts()` says which of the three things the parent insists on
(the environment scrubbed, the filesystem cut, the network cut) hold, and by which layers.
Nothing here may open a file once the landlock layer is on: libraries are loaded first.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import sys

NOBODY = 65534
LAYERS = ("environment", "network_namespace", "separate_uid", "rlimits", "no_new_privs", "landlock", "seccomp")
REQUIRED = ("environment", "filesystem", "network")

_CLONE_NEWIPC, _CLONE_NEWUSER, _CLONE_NEWNET = 0x08000000, 0x10000000, 0x40000000
_PR_SET_NO_NEW_PRIVS = 38
_SYS_LANDLOCK = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}  # create_ruleset, add_rule, restrict_self

# The system calls seccomp refuses (EPERM), by what they would reach. Names the running
# architecture does not have are skipped. Everything else (memory, pipes already open,
# time, futexes, signals to itself) stays allowed: Python and numpy need it.
DENIED_SYSCALLS = {
    "files": "open openat openat2 creat open_by_handle_at name_to_handle_at mknod mknodat mkdir mkdirat rmdir "
             "unlink unlinkat rename renameat renameat2 link linkat symlink symlinkat chmod fchmod fchmodat "
             "fchmodat2 chown fchown lchown fchownat truncate ftruncate utime utimes utimensat futimesat setxattr "
             "lsetxattr fsetxattr removexattr lremovexattr fremovexattr memfd_create memfd_secret inotify_init "
             "inotify_init1 fanotify_init chroot pivot_root mount umount2 mount_setattr move_mount open_tree "
             "fsopen fsmount fsconfig fspick quotactl swapon swapoff acct uselib",
    "network": "socket socketpair connect bind listen accept accept4 sendto sendmsg sendmmsg recvfrom recvmsg "
               "recvmmsg setsockopt getsockopt shutdown getpeername getsockname",
    "processes": "execve execveat fork vfork clone clone3 ptrace process_vm_readv process_vm_writev kcmp "
                 "pidfd_open pidfd_getfd pidfd_send_signal tkill rt_sigqueueinfo rt_tgsigqueueinfo setns unshare "
                 "setpriority ioprio_set sched_setaffinity sched_setscheduler sched_setparam migrate_pages "
                 "move_pages",
    "credentials": "setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups capset",
    "kernel": "bpf perf_event_open userfaultfd io_uring_setup io_uring_enter io_uring_register keyctl add_key "
              "request_key init_module finit_module delete_module kexec_load kexec_file_load reboot syslog "
              "ioperm iopl personality lookup_dcookie vhangup sethostname setdomainname settimeofday "
              "clock_settime clock_adjtime adjtimex modify_ldt",
}
# allowed only towards the worker itself (argument 0 is its pid; prlimit64's 0 means itself)
_SELF_ONLY = {"kill": "pid", "tgkill": "pid", "prlimit64": "zero"}


def _layer(active: bool, detail: str) -> dict:
    return {"active": active, "detail": detail}


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def scrub_environment() -> dict:
    """Clear the environment (unsetenv for each name, so C code sees it gone too)."""
    names = len(os.environ)
    os.environ.clear()
    return _layer(not os.environ, "empty" if not names else f"cleared the {names} variable(s) set for start-up")


def enter_network_namespace(libc) -> dict:
    """A network (and IPC) namespace of its own; unprivileged users need a user namespace too."""
    flags = _CLONE_NEWNET | _CLONE_NEWIPC | (0 if os.geteuid() == 0 else _CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        code = ctypes.get_errno()
        return _layer(False, f"unshare refused: {errno.errorcode.get(code, code)} ({os.strerror(code)})")
    return _layer(True, "no network interfaces" + ("" if os.geteuid() == 0 else " (in a user namespace)"))


def drop_to_nobody() -> dict:
    """When started as root, become nobody: root-only files and root's processes are out of reach."""
    if os.geteuid() != 0:
        return _layer(False, f"not started as root: runs as uid {os.geteuid()} (a user cannot take another uid)")
    try:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    except OSError as error:
        return _layer(False, f"setuid refused: {error.strerror}")
    return _layer(os.geteuid() == NOBODY and os.getuid() == NOBODY, f"runs as uid {NOBODY} (nobody)")


def _set(limit: int, soft: int, hard: int | None = None) -> bool:
    try:
        resource.setrlimit(limit, (soft, soft if hard is None else hard))
        return True
    except (ValueError, OSError):  # a limit this platform or user cannot set is skipped
        return False


def _address_space() -> int:
    """This process's virtual size in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def limit_resources(memory_bytes: int) -> dict:
    size = _address_space()
    results = {
        "address space": bool(size) and _set(resource.RLIMIT_AS, size + memory_bytes),
        "no file writes": _set(resource.RLIMIT_FSIZE, 0),  # pipes are not files
        "no processes": _set(resource.RLIMIT_NPROC, 0),  # not applied to root, hence the separate uid
        "no core": _set(resource.RLIMIT_CORE, 0),
        "16 descriptors": _set(resource.RLIMIT_NOFILE, 16),
    }
    missing = [name for name, ok in results.items() if not ok]
    return _layer(not missing, f"address space +{memory_bytes >> 20} MiB, no file writes, 16 descriptors, "
                               f"no processes, no core" + (f"; not set: {', '.join(missing)}" if missing else ""))


def set_no_new_privs(libc) -> dict:
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return _layer(False, f"prctl refused: {os.strerror(ctypes.get_errno())}")
    return _layer(True, "PR_SET_NO_NEW_PRIVS")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


# Landlock's access rights by the ABI version that introduced them
_FS_RIGHTS = {1: (1 << 13) - 1, 2: 1 << 13, 3: 1 << 14, 5: 1 << 15}
_ATTR_SIZE = {1: 8, 4: 16, 6: 24}  # the ruleset attribute grew with the ABI


def _by_abi(table: dict[int, int], abi: int) -> int:
    return max((value for version, value in table.items() if version <= abi), default=0)


def restrict_with_landlock(libc) -> dict:
    """A Landlock domain that handles every right the kernel knows and grants none."""
    numbers = _SYS_LANDLOCK.get(os.uname().machine)
    if numbers is None or not sys.platform.startswith("linux"):
        return _layer(False, f"no Landlock on {sys.platform}/{os.uname().machine}")
    create, _add_rule, restrict = numbers
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return _layer(False, f"the kernel has no Landlock ({os.strerror(ctypes.get_errno())})")
    fs = 0
    for version, rights in _FS_RIGHTS.items():
        if version <= abi:
            fs |= rights
    attr = _RulesetAttr(fs, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)  # TCP bind+connect; sockets+signals
    fd = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(_by_abi(_ATTR_SIZE, abi)), ctypes.c_uint32(0))
    if fd < 0:
        return _layer(False, f"landlock_create_ruleset refused: {os.strerror(ctypes.get_errno())}")
    try:
        if libc.syscall(restrict, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            return _layer(False, f"landlock_restrict_self refused: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)
    parts = ["no file access"] + (["no TCP"] if abi >= 4 else []) + (["no signals or abstract sockets outside"]
                                                                      if abi >= 6 else [])
    return _layer(True, f"ABI {abi}: " + ", ".join(parts))


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


_SCMP_ACT_ALLOW, _SCMP_ACT_ERRNO_EPERM, _SCMP_CMP_NE = 0x7FFF0000, 0x00050000 | errno.EPERM, 1


def load_libseccomp():
    """libseccomp, loaded before the filesystem is cut (None where it is not installed)."""
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        library = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
    library.seccomp_load.argtypes = [ctypes.c_void_p]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    return library


def filter_syscalls(seccomp) -> dict:
    """Load the seccomp filter: DENIED_SYSCALLS fail with EPERM, signals and limits only to itself."""
    if seccomp is None:
        return _layer(False, "libseccomp is not installed")
    context = seccomp.seccomp_init(_SCMP_ACT_ALLOW)  # a foreign ABI's calls kill the process (its default)
    if not context:
        return _layer(False, "seccomp_init failed")
    try:
        denied = 0
        for names in DENIED_SYSCALLS.values():
            for name in names.split():
                number = seccomp.seccomp_syscall_resolve_name(name.encode())
                if number != -1 and seccomp.seccomp_rule_add_array(context, _SCMP_ACT_ERRNO_EPERM, number, 0,
                                                                   None) == 0:
                    denied += 1
        for name, target in _SELF_ONLY.items():
            number = seccomp.seccomp_syscall_resolve_name(name.encode())
            other = _ArgCmp(0, _SCMP_CMP_NE, os.getpid() if target == "pid" else 0, 0)
            if number != -1 and seccomp.seccomp_rule_add_array(context, _SCMP_ACT_ERRNO_EPERM, number, 1,
                                                               ctypes.byref(other)) == 0:
                denied += 1
        code = seccomp.seccomp_load(context)
        if code != 0:
            return _layer(False, f"seccomp_load failed: {os.strerror(-code)}")
    finally:
        seccomp.seccomp_release(context)
    return _layer(True, f"{denied} system calls refused (files, network, processes, credentials, kernel)")


def lock_down(memory_bytes: int, layers: tuple[str, ...] = LAYERS) -> dict[str, dict]:
    """Apply the layers named (all by default), in an order where each still can; report each."""
    libc = _libc()
    seccomp = load_libseccomp() if "seccomp" in layers else None  # dlopen reads files: before Landlock
    steps = {
        "environment": scrub_environment,
        "network_namespace": lambda: enter_network_namespace(libc),
        "separate_uid": drop_to_nobody,
        "rlimits": lambda: limit_resources(memory_bytes),
        "no_new_privs": lambda: set_no_new_privs(libc),
        "landlock": lambda: restrict_with_landlock(libc),
        "seccomp": lambda: filter_syscalls(seccomp),
    }
    report = {}
    for name in LAYERS:
        if name not in layers:
            report[name] = _layer(False, "not requested")
            continue
        try:
            report[name] = steps[name]()
        except (OSError, AttributeError, ValueError) as error:  # a platform without the call
            report[name] = _layer(False, f"{type(error).__name__}: {error}")
    return report


def cuts(report: dict[str, dict]) -> dict[str, list[str]]:
    """What the parent insists on, and the active layers that give each."""
    active = {name for name, layer in report.items() if layer.get("active")}
    return {
        "environment": [name for name in ("environment",) if name in active],
        "filesystem": [name for name in ("landlock", "seccomp") if name in active],
        "network": [name for name in ("seccomp", "network_namespace") if name in active],
    }


def missing_cuts(report: dict[str, dict]) -> list[str]:
    return [name for name, layers in cuts(report).items() if not layers]
