#!/usr/bin/env python3
"""How much one touch of a file's mapping makes resident on this kernel (issue 16, BENCHMARKS.md §8):

    python3 scripts/fault-around-probe.py FILE [OFFSET ...]

Maps FILE privately and read-only twice, once at an address congruent to its file offsets modulo 64 KiB and once
4 KiB off (as lld lays out an executable's segments with the default 4 KiB maximum page size), reads one byte at
each OFFSET (default: a few spread over the file) and prints the kB the mapping then holds. The kernel maps the
cached pages around a read fault ("fault-around", 64 KiB of addresses by default) and, where the page cache holds
the file in large folios (a freshly copied file is held in 64 KiB folios), whole folios: a window 4 KiB off the
folio boundaries then maps two of them.
"""
import ctypes
import os
import re
import sys

PROT_NONE, PROT_READ = 0, 1
MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x02, 0x10, 0x20
WINDOW = 64 * 1024

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


def resident_kb(start):
    current = None
    for line in open("/proc/self/smaps"):
        match = re.match(r"^([0-9a-f]+)-[0-9a-f]+ ", line)
        if match:
            current = int(match.group(1), 16)
        elif line.startswith("Rss:") and current == start:
            return int(line.split()[1])
    return 0


def touch(descriptor, length, skew, offset):
    """kB resident after reading the byte at `offset` of a fresh mapping `skew` bytes off 64 KiB alignment."""
    reserved = libc.mmap(None, length + 2 * WINDOW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if reserved in (None, ctypes.c_void_p(-1).value):
        sys.exit(f"mmap: errno {ctypes.get_errno()}")
    try:
        address = ((reserved + WINDOW - 1) & ~(WINDOW - 1)) + skew
        mapped = libc.mmap(address, length, PROT_READ, MAP_PRIVATE | MAP_FIXED, descriptor, 0)
        if mapped != address:
            sys.exit(f"mmap: errno {ctypes.get_errno()}")
        ctypes.c_char.from_address(mapped + offset).value
        return resident_kb(mapped)
    finally:
        libc.munmap(reserved, length + 2 * WINDOW)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    length = os.path.getsize(path) & ~0xFFF
    if length < 2 * WINDOW:
        sys.exit(f"{path}: too small to probe")
    offsets = [int(x, 0) for x in sys.argv[2:]] or [length * k // 5 & ~0xFFF for k in range(1, 5)]
    descriptor = os.open(path, os.O_RDONLY)
    print(f"{'offset':>12} {'aligned kB':>11} {'4 KiB off kB':>13}")
    for offset in offsets:
        if not 0 <= offset < length:
            sys.exit(f"offset {offset:#x} is outside {path}")
        print(f"{offset:>#12x} {touch(descriptor, length, 0, offset):>11} {touch(descriptor, length, 4096, offset):>13}")


if __name__ == "__main__":
    main()
