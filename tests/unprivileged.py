"""Run a function as a user without privileges, to see what a server account would see.

The tests run as root in CI, and root reads every file whatever its permissions. A forked
child drops to `nobody` and calls the function with the modules already imported, so it
reads nothing but the export (and the app's page files); its answer (or its traceback) comes
back pickled.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import stat
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

NOBODY = 65534
# The child cannot read what only root may (here, Python's own library under /root): what
# it would import on first use is imported now.
"".encode("utf-8-sig")


def run_unprivileged(function: Callable[..., Any], *args: Any, timeout: float = 300) -> Any:
    """`function(*args)` in a child process without root; raises if it raised or if it has
    not answered within `timeout` seconds (then it is killed)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            answer: tuple[str, Any] = ("value", function(*args))
        except BaseException:  # noqa: BLE001 - everything goes back to the test
            answer = ("raised", traceback.format_exc())
        with os.fdopen(write, "wb") as pipe:
            pickle.dump(answer, pipe)
        os._exit(0)
    os.close(write)
    chunks, deadline = [], time.monotonic() + timeout
    with os.fdopen(read, "rb") as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"the unprivileged child gave no answer in {timeout} s")
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    if kind == "raised":
        raise AssertionError(f"raised in the unprivileged child:\n{value}")
    return value


def shared_folder() -> Path:
    """A folder that the unprivileged child can reach (pytest's tmp_path cannot: 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="smart101-"))
    folder.chmod(0o755)
    return folder


def remove(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(stat.S_IRWXU)
    shutil.rmtree(folder, ignore_errors=True)
