"""The C allocator's policy in a host process: large blocks go straight to the OS and back.

glibc serves a block above its mmap threshold (128 KiB at first) with ``mmap`` and unmaps
it when it is freed, but it raises the threshold to the size of every such block freed, up
to 32 MiB. A license host's cache is a dict of a hundred thousand entries, whose tables
(several MiB) are replaced now and then as entries come and go at the cap. Once the
threshold has risen past them, each new table is carved from the heap and the old one,
freed in the middle of it, stays resident: the host's RSS grows in steps, a table's size
each, as licenses come and go at its cap. A fixed threshold keeps such blocks mapped and
unmapped whole.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h
MMAP_THRESHOLD_BYTES = 256 * 1024


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold; False, changing nothing, where the C library has no
    ``mallopt`` or refuses the setting."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError):
        log.info("allocator policy: this C library has no mallopt; left as it is")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    taken = bool(mallopt(M_MMAP_THRESHOLD, threshold))
    if not taken:
        log.info("allocator policy: mallopt refused a fixed mmap threshold; left as it is")
    return taken
