"""Worker processes for studies: capped at the cores this process may use, ended with it.

Results never depend on the number of workers (each chunk of work has its own seed); the pool
only decides where the chunks run. On Linux each worker asks the kernel to end it when the main
process dies (``PR_SET_PDEATHSIG``), so killing the main process leaves no orphans.

>>> available_cores() >= 1
True
>>> list(ordered_map(pow, [(2, 3), (3, 2)], workers=1))
[8, 9]
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def worker_count(requested: int) -> int:
    """Workers to start for ``requested`` (-1 = all cores), never more than the cores available.

    >>> worker_count(10**6) == available_cores()
    True
    """
    cores = available_cores()
    return cores if requested == -1 else max(1, min(requested, cores))


def _end_with_parent() -> None:
    """In a worker: be sent SIGTERM when the main process dies (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl: workers still end when their queue closes
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle


def ordered_map(function: Callable[..., Any], arguments: Iterable[tuple], *,
                workers: int) -> Iterator[Any]:
    """``function(*args)`` for each tuple of ``arguments``, in order, on up to ``workers``
    processes, with at most two tasks per worker in flight (memory stays bounded)."""
    if workers <= 1:
        for args in arguments:
            yield function(*args)
        return
    method = "fork" if sys.platform.startswith("linux") else None
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_end_with_parent) as pool:
        pending: deque[Future] = deque()
        try:
            for args in arguments:
                pending.append(pool.submit(function, *args))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
