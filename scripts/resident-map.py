#!/usr/bin/env python3
"""Which parts of a running executable are resident (issue 16's memory analysis).

    python3 scripts/resident-map.py PID [--binary PATH] [--top N] [--windows] [--pages FILE]

Reads the process's mappings of its own executable (/proc/PID/maps), asks /proc/PID/pagemap which of their pages
are present, and splits the resident pages over the ELF sections (`readelf -SW` view) of the file, telling file
pages (clean, shared with the page cache) from private copies (written: relocations, data). Pages of `.text`,
`.rodata` and `.data.rel.ro` are further attributed to modules by the symbols (`nm -S`) that cover them; a page
shared by several symbols is split by bytes. The `.bss` and the heap are not the executable's file pages and are
only listed as totals (anonymous memory is the kernel's RssAnon).

--windows also counts, per section, the 64 KiB windows with at least one resident page: the kernel maps up to 16
cached pages around each read fault ("fault-around"), so a resident page is not necessarily a touched one, and
spreading touched code over many windows costs far more than its size.

Needs read access to /proc/PID/pagemap (same user or root); the present bit is readable without privileges.
"""
import argparse
import bisect
import collections
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
WINDOW = 64 * 1024


def read_elf(path):
    """Section headers and PT_LOAD segments of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read(64)
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a 64-bit little-endian ELF file")
        (e_phoff, e_shoff) = struct.unpack_from("<QQ", data, 0x20)
        (e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from("<HHHHH", data, 0x36)
        segments = []
        f.seek(e_phoff)
        for _ in range(e_phnum):
            p_type, p_flags, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = struct.unpack("<IIQQQQQQ", f.read(e_phentsize))
            if p_type == 1:  # PT_LOAD
                segments.append((p_offset, p_vaddr, p_filesz, p_memsz, p_flags))
        f.seek(e_shoff)
        raw = [struct.unpack("<IIQQQQIIQQ", f.read(e_shentsize)) for _ in range(e_shnum)]
        names_offset = raw[e_shstrndx][4]
        sections = []
        for name, kind, flags, addr, offset, size, *_ in raw:
            if not flags & 0x2 or size == 0:  # SHF_ALLOC only: what the loader maps
                continue
            f.seek(names_offset + name)
            title = f.read(256).split(b"\0", 1)[0].decode()
            sections.append((addr, size, title, kind == 8))  # SHT_NOBITS (.bss, .tbss)
        sections.sort()
        return segments, sections


def module_of(symbol):
    """The module a symbol most likely belongs to, from its (mangled) name."""
    if symbol.startswith(("$s", "_$s")):
        body = symbol[symbol.index("$s") + 2:]
        match = re.match(r"(\d+)", body)
        if match:
            length = int(match.group(1))
            name = body[len(match.group(1)):len(match.group(1)) + length]
            return "Swift: " + name
        if body.startswith(("s", "S")):
            return "Swift: Swift (stdlib, and its generics specialised elsewhere)"
        return "Swift: other"
    if symbol.startswith(("swift_", "_swift_", "_ZN5swift", "_ZL5swift")) or "swift" in symbol[:24].lower():
        return "Swift runtime (C++)"
    if symbol.startswith(("dispatch_", "_dispatch_")):
        return "C: libdispatch"
    if symbol.startswith("CNIOBoringSSL") or symbol.startswith("_CNIOBoringSSL"):
        return "C: BoringSSL (NIOSSL)"
    if symbol.startswith(("c_nio_", "CNIO")):
        return "C: NIO shims"
    if symbol.startswith("_Z"):
        return "C++: other (BoringSSL's .cc files, runtime internals)"
    return "C: other"


def symbols(path):
    """(address, size, name) of every sized symbol, sorted by address."""
    out = subprocess.run(["nm", "-S", "--defined-only", path], capture_output=True, text=True).stdout
    result = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and int(parts[1], 16) > 0:
            result.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    result.sort()
    return result


def resident_pages(pid, binary):
    """(ELF virtual address of each resident page, is it a private copy?) for the executable's file mappings,
    plus the anonymous mapping that directly follows them (the .bss)."""
    segments, _ = read_elf(binary)
    real = os.path.realpath(binary)
    mappings = []
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split(None, 5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            path = fields[5].strip() if len(fields) > 5 else ""
            mappings.append((start, end, int(fields[2], 16), path))
    base = None
    ours = []
    for index, (start, end, offset, path) in enumerate(mappings):
        if path and os.path.realpath(path) == real:
            if base is None:
                for p_offset, p_vaddr, p_filesz, _, _ in segments:
                    if p_offset <= offset < p_offset + max(p_filesz, 1):
                        base = start - (p_vaddr + offset - p_offset)
                        break
            ours.append((start, end))
        elif not path and ours and start == ours[-1][1]:
            ours.append((start, end))  # .bss beyond the file
    if base is None:
        sys.exit(f"process {pid} maps no part of {binary}")
    pages = []
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for start, end in ours:
            count = (end - start) // PAGE
            pagemap.seek(start // PAGE * 8)
            entries = struct.unpack(f"<{count}Q", pagemap.read(count * 8))
            for i, entry in enumerate(entries):
                if entry >> 63 & 1 or entry >> 62 & 1:
                    private = not entry >> 61 & 1  # bit 61: file page or shared anonymous
                    pages.append((start + i * PAGE - base, private))
    return pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("--binary", help="the executable (default: /proc/PID/exe)")
    parser.add_argument("--top", type=int, default=15, help="modules listed per section")
    parser.add_argument("--windows", action="store_true", help="also count resident 64 KiB windows per section")
    parser.add_argument("--pages", metavar="FILE", help="also write the ELF address of each resident page to FILE")
    args = parser.parse_args()
    binary = args.binary or os.readlink(f"/proc/{args.pid}/exe")
    _, sections = read_elf(binary)
    pages = resident_pages(args.pid, binary)
    if args.pages:
        with open(args.pages, "w") as out:
            out.write("".join(f"{page:x}\n" for page, _ in pages))
    starts = [s[0] for s in sections]

    per_section = collections.defaultdict(lambda: [0, 0])  # title -> [file bytes, private bytes]
    windows = collections.defaultdict(set)
    unsectioned = [0, 0]
    for page, private in pages:
        covered = 0
        i = max(bisect.bisect_right(starts, page) - 1, 0)
        while i < len(sections) and sections[i][0] < page + PAGE:
            addr, size, title, _ = sections[i]
            overlap = min(page + PAGE, addr + size) - max(page, addr)
            if overlap > 0:
                per_section[title][private] += overlap
                covered += overlap
                windows[title].add(page // WINDOW)
            i += 1
        unsectioned[private] += PAGE - covered

    total = sum(f + p for f, p in per_section.values()) + sum(unsectioned)
    print(f"{binary}: {len(pages) * PAGE // 1024} kB resident in pid {args.pid} "
          f"({sum(p for _, p in pages) * PAGE // 1024} kB of it private copies)")
    header = f"{'section':<34}{'size kB':>10}{'resident':>10}{'file':>9}{'private':>9}{'res %':>7}"
    if args.windows:
        header += f"{'64K win':>9}"
    print(header)
    for addr, size, title, nobits in sections:
        if title not in per_section:
            continue
        file_bytes, private_bytes = per_section.pop(title)
        row = (f"{title:<34}{size / 1024:>10.0f}{(file_bytes + private_bytes) / 1024:>10.0f}"
               f"{file_bytes / 1024:>9.0f}{private_bytes / 1024:>9.0f}{100 * (file_bytes + private_bytes) / size:>6.0f}%")
        if args.windows:
            row += f"{len(windows[title]):>9}"
        print(row)
    if sum(unsectioned):
        print(f"{'(padding between sections)':<34}{'':>10}{sum(unsectioned) / 1024:>10.0f}"
              f"{unsectioned[0] / 1024:>9.0f}{unsectioned[1] / 1024:>9.0f}")
    print(f"{'total':<34}{'':>10}{total / 1024:>10.0f}")

    # Per module within the big sections, by the symbols covering each resident page.
    table = symbols(binary)
    addresses = [s[0] for s in table]
    for wanted in (".text", ".rodata", ".data.rel.ro", ".data"):
        section = next((s for s in sections if s[2] == wanted), None)
        if section is None:
            continue
        s_addr, s_size = section[0], section[1]
        resident = collections.Counter()
        size_by_module = collections.Counter()
        for addr, size, name in table:
            if s_addr <= addr < s_addr + s_size:
                size_by_module[module_of(name)] += size
        for page, _ in pages:
            if page + PAGE <= s_addr or page >= s_addr + s_size:
                continue
            low, high = max(page, s_addr), min(page + PAGE, s_addr + s_size)
            i = max(bisect.bisect_right(addresses, low) - 1, 0)
            named = 0
            while i < len(table) and table[i][0] < high:
                addr, size, name = table[i]
                overlap = min(high, addr + size) - max(low, addr)
                if overlap > 0:
                    resident[module_of(name)] += overlap
                    named += overlap
                i += 1
            resident["(no sized symbol)"] += max(high - low - named, 0)
        if not resident:
            continue
        print(f"\n{wanted}: resident kB by module (of the module's kB in the section)")
        for module, value in resident.most_common(args.top):
            print(f"  {value / 1024:>8.0f} of {size_by_module.get(module, 0) / 1024:>6.0f}  {module}")


if __name__ == "__main__":
    main()
