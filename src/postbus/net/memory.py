"""The C allocator's settings for a server holding thousands of idle connections.

Each TLS connection on uvloop owns a 256 KiB read buffer (``SSL_READ_MAX_SIZE``
in uvloop's ``sslproto.pyx``, allocated with ``malloc`` and not configurable),
of which an idle connection has touched a page or two.  glibc serves
allocations that large with their own ``mmap`` at first, so the untouched rest
costs nothing; but after the first such buffer is freed it raises its
threshold (the "dynamic mmap threshold") and serves the next ones from the
heap, where they reuse pages other allocations touched.  Measured with
``bench/imap_idle_memory.py`` (issue 11): about 22 KiB more resident memory
per idle TLS connection.  Fixing the threshold at glibc's own default,
128 KiB, turns the dynamic raise off, so every large buffer stays its own
mapping and only its touched pages are resident.

The cost: an allocation above 128 KiB is an ``mmap``/``munmap`` pair each time
(a message body read whole, a TLS buffer per connection), and the heap is
trimmed at its default 128 KiB threshold too (fixing one fixes both).

On a C library without ``mallopt`` (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("postbus.net")

#: glibc's ``M_MMAP_THRESHOLD`` parameter number (malloc.h).
M_MMAP_THRESHOLD = -3

#: Allocations at least this large get their own mapping. Policy: glibc's default
#: starting value, kept fixed (see the module docstring).
MMAP_THRESHOLD = 128 * 1024

_done = False


def tune_allocator() -> bool:
    """Fix glibc's mmap threshold (once per process); False where it cannot be set."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")
        return False
    _done = True
    return True
