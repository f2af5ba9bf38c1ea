"""Processes that run submitted code: started isolated, limited, and killed with every descendant.

Two isolation levels, chosen by what the machine allows (``isolation()``; ``shortcutbench doctor``
prints it):

- ``namespaces``: ``unshare`` puts the process in new PID, network, mount, UTS and IPC namespaces
  (plus a user namespace when not root). Inside, before any submitted code is imported,
  ``enter()`` makes every mount read-only except a scratch directory, gives it a minimal /dev,
  and drops every capability (so even uid 0 cannot remount). Killing the namespace's first
  process makes the kernel kill every process in it, whatever session or group it made.
- ``process``: a new session, resource limits, and the caller as child subreaper
  (``PR_SET_CHILD_SUBREAPER``): a descendant that detaches (``setsid``, double fork) is re-parented
  to the caller rather than to init, so ``kill_tree`` still finds it. Files and network are the
  user's: the README's threat model says what that means.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ENV_LEVEL = "SHORTCUTBENCH_SANDBOX"  # force a level: "process" (e.g. to compare), never a stronger one
_PR_SET_CHILD_SUBREAPER = 36
LIFELINE_ENV = "SHORTCUTBENCH_LIFELINE"  # fd of the read end of the starter's lifeline pipe, in the child
_NS_FLAGS = ["--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--mount", "--uts", "--ipc"]


@dataclass(frozen=True)
class Isolation:
    level: str  # "namespaces" or "process"
    detail: str  # what is and is not isolated, one line

    @property
    def namespaces(self) -> bool:
        return self.level == "namespaces"


@dataclass(frozen=True)
class Limits:
    time_s: float = 3600.0  # per stage (load + checks, export, each track)
    memory_bytes: int = 8 << 30  # address space of the sandboxed process
    extra_processes: int = 256  # processes/threads it may add (RLIMIT_NPROC counts the whole uid)
    file_bytes: int = 1 << 30  # largest file it may write


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _unshare_prefix() -> List[str]:
    tool = shutil.which("unshare")
    if tool is None:
        return []
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [tool, *user, *_NS_FLAGS, "--"]


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Probe once: run the sandbox entry in namespaces and check that it confines writes."""
    if sys.platform != "linux":
        return Isolation("process", f"no Linux namespaces on {sys.platform}; no subreaper either")
    if os.environ.get(ENV_LEVEL) == "process":
        return Isolation("process", f"{ENV_LEVEL}=process: namespaces not used")
    prefix = _unshare_prefix()
    reason = "unshare(1) not found"
    if prefix:
        scratch = tempfile.mkdtemp(prefix="sb-probe-")
        # this file as a script: stdlib only, no torch import (a probe per command stays cheap)
        probe = [*prefix, sys.executable, "-I", str(Path(__file__).resolve()), "--probe", scratch, mount_namespace()]
        try:
            res = subprocess.run(probe, capture_output=True, text=True, timeout=30)
            if res.returncode == 0 and res.stdout.strip() == "confined":
                who = "root, capabilities dropped" if os.geteuid() == 0 else "user namespace"
                return Isolation("namespaces", f"unshare: own PID/network/mount namespaces, read-only filesystem "
                                               f"except a scratch dir, no network, {who}")
            reason = (res.stderr.strip().splitlines() or [res.stdout.strip() or f"exit {res.returncode}"])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = str(exc)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    bwrap = "; bubblewrap is installed but not used" if shutil.which("bwrap") else ""
    return Isolation("process", f"namespaces unavailable ({reason}{bwrap}); own session, rlimits, subreaper kill; "
                                "files and network are the user's")


def command(argv: Sequence[str]) -> List[str]:
    """``argv`` wrapped for the active isolation level."""
    return [*_unshare_prefix(), *argv] if isolation().namespaces else list(argv)


def become_subreaper() -> bool:
    """Orphaned descendants of our children come back to us, not to init (Linux ≥ 3.4)."""
    if sys.platform != "linux":
        return False
    return _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def die_with_starter() -> None:
    """Stop when the process that ``start``-ed us is gone. Only the starter holds the write end of
    our lifeline pipe, so a daemon thread reads EOF the moment it dies, however it dies (even by
    SIGKILL, while we hang), and then kills our process group and exits. Our own children were
    started the same way and follow us down their own lifelines. Under namespaces the sandboxed
    process is its PID namespace's init, so its exit makes the kernel kill everything left in it;
    at the process level a descendant that left our group (setsid) is the starter's ``kill_tree``'s
    to find, and survives if the starter itself is gone."""
    fd = os.environ.get(LIFELINE_ENV)
    if fd is None:
        return
    import threading

    def watch():
        while os.read(int(fd), 1):
            pass
        with contextlib.suppress(OSError):
            os.killpg(0, signal.SIGKILL)
        os._exit(3)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def start(argv: Sequence[str], env: Dict[str, str], pass_fds: Sequence[int] = (), **kw) -> subprocess.Popen:
    """Start ``argv`` (already wrapped by ``command``) in its own session; we become subreaper first.
    The child inherits a lifeline (``die_with_starter``); ``kill_tree`` closes our end."""
    become_subreaper()
    life_r, life_w = os.pipe()
    try:
        proc = subprocess.Popen(list(argv), env={**env, LIFELINE_ENV: str(life_r)},
                                pass_fds=(*pass_fds, life_r), start_new_session=True, **kw)
    except BaseException:
        os.close(life_w)
        raise
    finally:
        os.close(life_r)
    proc.lifeline = life_w
    return proc


# ---------------------------------------------------------------- killing every descendant
def _stat(pid: int) -> Optional[tuple]:
    """(ppid, start time in clock ticks) from /proc/PID/stat, or None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2:].split()  # after "(comm)", which may hold spaces
    return int(fields[1]), int(fields[19])


def _all_parents() -> Dict[int, tuple]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                out[int(name)] = st
    return out


def descendants(root: Optional[int], since_ticks: Optional[int] = None) -> List[int]:
    """``root`` and every live descendant, plus (with ``since_ticks``) our own children started since
    then: the orphans a subreaper inherits from a detached grandchild. ``root`` None: a reaped
    process, whose pid may already belong to someone else."""
    table = _all_parents()
    kids: Dict[int, List[int]] = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    seeds = ([root] if root is not None else []) + (
        [p for p in kids.get(os.getpid(), []) if p != root and table[p][1] >= since_ticks]
        if since_ticks is not None else [])
    found, stack = [], list(seeds)
    while stack:
        pid = stack.pop()
        if pid in table and pid not in found:
            found.append(pid)
            stack += kids.get(pid, [])
    return found


def start_ticks(pid: int) -> Optional[int]:
    st = _stat(pid)
    return None if st is None else st[1]


def kill_tree(proc: subprocess.Popen, since_ticks: Optional[int], grace_s: float = 0.0) -> List[int]:
    """SIGKILL ``proc`` and every descendant (see ``descendants``) until none is left; reap the ones
    that are our children. Returns every pid signalled."""
    if grace_s > 0 and proc.poll() is None:
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    signalled: List[int] = []
    for _ in range(50):  # a process may fork between listing and killing: repeat until none remain
        root = proc.pid if proc.returncode is None else None  # unreaped: the pid is still its own
        alive = [p for p in descendants(root, since_ticks) if not _zombie(p)]
        if not alive:
            break
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            signalled.append(pid)
        _reap(signalled, proc)
        time.sleep(0.01)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    _reap(signalled, proc)
    with contextlib.suppress(AttributeError, OSError):
        os.close(proc.lifeline)
    return sorted(set(signalled))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _reap(pids: Sequence[int], proc: subprocess.Popen) -> None:
    for pid in set(pids):
        if pid == proc.pid:
            proc.poll()
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (its parent reaps it)
            pass


# ---------------------------------------------------------------- inside the sandbox
def apply_rlimits(limits: Limits) -> None:
    """Memory, file size, core dumps and a process cap, before submitted code is imported."""
    def lower(which, value):
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))

    lower(resource.RLIMIT_AS, limits.memory_bytes)
    lower(resource.RLIMIT_FSIZE, limits.file_bytes)
    lower(resource.RLIMIT_CORE, 0)
    lower(resource.RLIMIT_NPROC, _tasks_of_uid(os.getuid()) + limits.extra_processes)


def _tasks_of_uid(uid: int) -> int:
    n = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                pass
    return n


_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = (
    1, 2, 4, 32, 4096, 8192, 16384, 1 << 18)
_DEV_NODES = ("null", "zero", "full", "random", "urandom")


def _mount(libc, src, target, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else str(s).encode()  # noqa: E731
    if libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _mount_points() -> List[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        p = line.split()[4].replace("\\040", " ")
        if p not in points:
            points.append(p)
    return points


def mount_namespace() -> str:
    return os.readlink("/proc/self/ns/mnt")


def enter(scratch: Path, outer_ns: str) -> None:
    """Inside fresh namespaces (as their root): read-only everything but ``scratch``, a minimal /dev,
    then drop every capability so nothing can undo it. Raises OSError when not possible.
    ``outer_ns`` is the starter's mount namespace: never remount the real one."""
    if mount_namespace() == outer_ns:
        raise OSError(1, "still in the starter's mount namespace: refusing to remount its filesystems")
    libc = _libc()
    scratch = scratch.resolve()
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount(libc, scratch, scratch, None, _MS_BIND | _MS_REC)  # its own mount point, kept writable
    dev = scratch / ".dev"
    dev.mkdir(exist_ok=True)
    _mount(libc, "tmpfs", dev, "tmpfs", _MS_NOSUID, "mode=0755,size=65536k")
    for node in _DEV_NODES:  # bind the harmless device nodes, hide the rest (disks among them)
        (dev / node).touch()
        _mount(libc, f"/dev/{node}", dev / node, None, _MS_BIND)
    (dev / "shm").mkdir()
    _mount(libc, "tmpfs", dev / "shm", "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777,size=65536k")
    _mount(libc, dev, "/dev", None, _MS_MOVE)
    _mount(libc, "/proc/sys", "/proc/sys", None, _MS_BIND | _MS_REC)
    keep = {str(scratch), "/dev/shm"}
    for point in reversed(_mount_points()):  # deepest first; every mount read-only but the scratch
        if point in keep or point.startswith(str(scratch) + "/"):
            continue
        if not os.path.lexists(point):  # hidden under a mount made above (the old /dev/pts)
            continue
        try:
            _mount(libc, None, point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID)
        except OSError:
            _mount(libc, None, point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
    _drop_capabilities(libc)


def _drop_capabilities(libc) -> None:
    PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT, PR_SET_NO_NEW_PRIVS = 24, 28, 47, 38
    # uid 0 must not regain capabilities by exec (NOROOT, NO_SETUID_FIXUP, each locked)
    if libc.prctl(PR_SET_SECUREBITS, 0x2F, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot set securebits")
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: fine
    libc.prctl(PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot set no_new_privs")


def _probe(scratch: Path, outer_ns: str) -> int:
    """``python -I sandbox.py --probe SCRATCH OUTER_NS`` under unshare: enter, then
    prove that a write inside the scratch dir succeeds and one next to it fails."""
    try:
        enter(scratch, outer_ns)
        (scratch / "ok").write_text("ok")
    except OSError as exc:
        print(f"cannot enter the sandbox: {exc}", file=sys.stderr)
        return 1
    try:
        (scratch.parent / f"{scratch.name}-escaped").write_text("escaped")
    except OSError:
        print("confined")
        return 0
    print("escaped")
    return 1


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--probe":
    sys.exit(_probe(Path(sys.argv[2]), sys.argv[3]))
