"""Replacing a folder atomically: write a staged copy beside it, fsync it, then switch it into place.

Readers of the folder see the old or the new one, never neither and never a half-written one; a stage
left by a killed writer is removed by the next writer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file or folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False when unsupported."""
    rename_exchange = 2
    at_fdcwd = -100
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return result == 0


def switch_into_place(staged: Path, target: Path) -> None:
    """Make `staged` the folder at `target`; the previous index stays intact until the switch succeeds."""
    if not target.exists():
        os.rename(staged, target)
    elif _exchange(staged, target):
        # Readers saw either the old or the new folder, never neither; the old one is now at `staged`.
        shutil.rmtree(staged, ignore_errors=True)
    else:
        retired = target.with_name(f"{target.name}.old-{os.getpid()}")
        os.rename(target, retired)
        try:
            os.rename(staged, target)
        except OSError:
            os.rename(retired, target)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    fsync_path(target.parent)


def remove_abandoned_stages(out_dir: Path) -> None:
    """Delete `<index>.tmp-<pid>` folders left by builds that were killed (their process is gone)."""
    for stage in out_dir.parent.glob(f"{out_dir.name}.tmp-*"):
        pid = stage.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True
