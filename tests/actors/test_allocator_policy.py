"""Hosts fix glibc's mmap threshold, so that large blocks freed go back to the OS."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest


def _glibc_version() -> tuple[int, ...]:
    name, version = platform.libc_ver()
    return tuple(int(part) for part in version.split(".")) if name == "glibc" else ()


pytestmark = pytest.mark.skipif(_glibc_version() < (2, 33),
                                reason="glibc's mallopt, read back with mallinfo2 (2.33)")

# Frees one 1 MiB block, then asks for another, and says where glibc put it: "mapped" (its
# own mmap, returned whole on free) or "heap" (carved from the heap, kept there on free).
WHERE_THE_SECOND_BLOCK_GOES = textwrap.dedent("""
    import ctypes, sys
    from keylight_actors.actors.allocator_policy import fix_mmap_threshold

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    if sys.argv[1] == "fixed":
        assert fix_mmap_threshold()
    libc.free(libc.malloc(1 << 20))
    before = libc.mallinfo2().hblks
    block = libc.malloc(1 << 20)
    print("mapped" if libc.mallinfo2().hblks > before else "heap")
    libc.free(block)
""")


def where_the_second_block_goes(policy: str) -> str:
    return subprocess.run([sys.executable, "-c", WHERE_THE_SECOND_BLOCK_GOES, policy],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_by_default_a_freed_large_block_sends_the_next_one_to_the_heap():
    assert where_the_second_block_goes("default") == "heap"


def test_with_the_threshold_fixed_the_next_large_block_is_mapped_on_its_own():
    assert where_the_second_block_goes("fixed") == "mapped"
