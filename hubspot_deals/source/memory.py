"""Keeps a scan's process lean: memory freed after each chunk goes back to the system.

pyarrow's default pool (jemalloc) and glibc's per-thread malloc arenas keep freed memory for
reuse, so a scan's resident memory grew with every chunk it loaded. The scan's process and its
reader process use the system allocator for Arrow buffers and at most two malloc arenas
instead. Measured on a 100,000-deal, 72-property scan into DuckDB: 453 MB peak before, 372 MB
after (with DuckDB's `auto` memory limit), at the same speed. An environment that sets
ARROW_DEFAULT_MEMORY_POOL or MALLOC_ARENA_MAX itself keeps its own choice.
"""

import ctypes
import os
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter
ARENAS = 2
LEAN_ENV = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_ARENA_MAX": str(ARENAS)}


def lean_environment() -> dict[str, str]:
    """Environment for a child process (set before it starts, so it applies from the start)."""
    return {key: os.environ.get(key, value) for key, value in LEAN_ENV.items()}


def make_this_process_lean() -> None:
    """The same for this already running process, from now on: a scan calls it when it starts
    in its run worker. Never at import: a host project that imports the Dagster definitions
    keeps its own process settings. Processes started with `lean_environment()` (the project's
    `dagster dev`, its production code server, `hubspot-deals scan`, the reader) have them from
    their first allocation."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        if "pyarrow" in sys.modules:
            import pyarrow as pa

            pa.set_memory_pool(pa.system_memory_pool())
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if "MALLOC_ARENA_MAX" not in os.environ:
        os.environ["MALLOC_ARENA_MAX"] = str(ARENAS)  # for child processes
        libc = ctypes.CDLL(None)  # this process's own symbols: the C library's among them
        if hasattr(libc, "mallopt"):  # glibc; other allocators have no arenas to limit
            libc.mallopt(M_ARENA_MAX, ARENAS)
