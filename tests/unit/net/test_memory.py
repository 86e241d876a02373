"""The allocator setting for many idle TLS connections (issue 11, net/memory.py)."""

from __future__ import annotations

import platform
import subprocess
import sys


def test_the_mmap_threshold_is_fixed_on_glibc() -> None:
    """Run in a fresh interpreter: how glibc serves a large allocation depends on
    what the process allocated and freed before (a free chunk or a big top of the
    heap serves it without mmap), which other tests in this process would change."""
    # Debian (CI and the build machine) runs glibc, where mallopt exists and accepts it.
    assert platform.libc_ver()[0] == "glibc"
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


_CHILD = """
import ctypes

from postbus.net.memory import tune_allocator

assert tune_allocator()
assert tune_allocator()  # once per process; later calls are no-ops
# A 256 KiB allocation (uvloop's TLS read buffer) is served by mmap: glibc
# counts it in the mmapped total of mallinfo2 (hblkhd), which grows by it.
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
for _ in range(3):  # freeing one would raise a dynamic threshold above it
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(256 * 1024)
    try:
        assert libc.mallinfo2().hblkhd >= before + 256 * 1024
    finally:
        libc.free(block)
"""
