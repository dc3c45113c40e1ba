#!/usr/bin/env python3
"""What the nucleus mapped in each phase of a memory benchmark, from its page faults (issue 16's analysis):

    GG_BENCH_FAULTS=DIR bash scripts/bench-memory.sh LABEL=BINDIR ...
    python3 scripts/fault-phases.py DIR/LABEL [--names PHASE ...]

bench-memory.sh records every page fault of the nucleus with perf (tracepoints exceptions:page_fault_user and
page_fault_kernel, the latter when a system call touches a page of the process first, such as `read` into a fresh
buffer; the components, its children, are left out here) and marks each reading. Between two marks this prints the
faults by what they touched: code of the executable by the part of linker/symbol-order.txt that lists the function
(idle, traffic, startup, cli; "unlisted" when the list does not name it), the executable's data, code of the shared
libraries, and other data (heap, stacks, mappings made later). A fault on code maps the 64 KiB window around it
(the kernel's fault-around), so few faults should mean little growth; the RSS column shows when it does not (see
BENCHMARKS.md §8, seventh pass). --names PHASE also lists the function at each code fault of the phase that starts
at mark PHASE (e.g. `--names go1`).
"""
import argparse
import bisect
import collections
import importlib.util
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def executable_mappings(maps_path):
    """(path, [(start, end, offset, permissions)]) of the executable: the first file mapped in /proc/PID/maps."""
    path, ranges = None, []
    for line in open(maps_path):
        fields = line.split()
        if len(fields) < 6:
            continue
        if path is None:
            path = fields[5]
        if fields[5] == path:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            ranges.append((start, end, int(fields[2], 16), fields[1]))
    return path, ranges


def function_table(binary):
    """Sorted function start addresses (ELF virtual addresses) and their names: resident-map.py's symbol table."""
    spec = importlib.util.spec_from_file_location("resident_map", os.path.join(REPO, "scripts/resident-map.py"))
    resident_map = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(resident_map)
    table = resident_map.symbols(binary)
    return [address for address, _, _ in table], [name for _, _, name in table]


def list_segments():
    """Function name -> the part of the ordering list that names it."""
    segment_of, names = {}, [line.rstrip("\n") for line in open(os.path.join(REPO, "linker/symbol-order.txt"))]
    position = 0
    for line in open(os.path.join(REPO, "linker/symbol-order.segments")):
        segment, count = line.split()
        for name in names[position:position + int(count)]:
            segment_of.setdefault(name, segment)
        position += int(count)
    return segment_of


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    parser.add_argument("--names", nargs="*", default=[], metavar="PHASE")
    args = parser.parse_args()
    directory = args.directory
    pid = open(os.path.join(directory, "pid")).read().split()[0]
    binary, ranges = executable_mappings(os.path.join(directory, "maps"))
    base = min(start - offset for start, _, offset, _ in ranges)  # load bias: ELF address = address - base
    code = [(start, end) for start, end, _, permissions in ranges if "x" in permissions]
    starts, names = function_table(binary)
    segment_of = list_segments()
    marks = [(0.0, "start", "")]
    for line in open(os.path.join(directory, "marks")):
        time, name, rss = line.split()
        marks.append((float(time), name, rss))
    marks.append((float("inf"), "end", ""))

    script = subprocess.run(["perf", "script", "-i", os.path.join(directory, "perf.data"), "-F", "pid,time,event,trace"],
                            capture_output=True, text=True, check=True).stdout
    faults = []
    for line in script.splitlines():
        match = re.match(r"\s*(\d+)\s+(\d+\.\d+):\s+exceptions:page_fault_(user|kernel):.*address=(0x[0-9a-f]+) "
                         r"ip=0x[0-9a-f]+ error_code=(0x[0-9a-f]+)", line)
        if match and match.group(1) == pid:
            faults.append((float(match.group(2)), int(match.group(4), 16), int(match.group(5), 16), match.group(3)))

    def classify(address, error_code):
        in_executable = any(start <= address < end for start, end, _, _ in ranges)
        if any(start <= address < end for start, end in code):
            index = bisect.bisect_right(starts, address - base) - 1
            name = names[index] if index >= 0 else "?"
            return "code " + segment_of.get(name, "unlisted"), name
        if in_executable:
            return "executable data", None
        if error_code & 0x10:
            return "library code", None
        return "other data", None

    kinds = ("code idle", "code traffic", "code startup", "code cli", "code unlisted", "executable data",
             "library code", "other data", "by the kernel")
    print(f"{'phase':<32} {'RSS kB':>15} {'faults':>6}  " + "  ".join(kinds))
    for (begin, name, rss), (end, next_name, next_rss) in zip(marks, marks[1:]):
        counts, functions = collections.Counter(), []
        for time, address, error_code, mode in faults:
            if begin <= time < end:
                kind, function = classify(address, error_code)
                counts[kind if mode == "user" else "by the kernel"] += 1
                if function:
                    functions.append((time - begin, kind, function))
        rss_change = f"{rss or '?'} -> {next_rss or '?'}"
        print(f"{name + ' -> ' + next_name:<32} {rss_change:>15} {sum(counts.values()):>6}  "
              + "  ".join(f"{counts[k]:>{len(k)}}" for k in kinds))
        if name in args.names:
            for offset, kind, function in functions:
                print(f"    +{offset:6.2f} s  {kind:<13} {function}")


if __name__ == "__main__":
    sys.exit(main())
