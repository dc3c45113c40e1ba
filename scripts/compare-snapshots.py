#!/usr/bin/env python3
"""What changed between two /proc/PID/smaps snapshots (issue 16's memory analysis):

    python3 scripts/compare-snapshots.py BEFORE.smaps AFTER.smaps

bench-memory.sh keeps them with GG_BENCH_SNAPSHOTS=DIR, at idle before and after traffic. Prints the resident and
anonymous kB of each mapping (file and permissions) that changed, largest growth first: RSS growth in a read-only
file mapping is code or data mapped back; growth in `Anonymous` is heap or private copies.
"""
import collections
import re
import sys


def load(path):
    resident, anonymous = collections.Counter(), collections.Counter()
    name = None
    for line in open(path):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            fields = line.split()
            name = (fields[5] if len(fields) > 5 else "[anonymous]") + " " + fields[1]
        elif line.startswith("Rss:"):
            resident[name] += int(line.split()[1])
        elif line.startswith("Anonymous:"):
            anonymous[name] += int(line.split()[1])
    return resident, anonymous


if len(sys.argv) != 3:
    sys.exit(__doc__)
(before, before_anon), (after, after_anon) = load(sys.argv[1]), load(sys.argv[2])
print(f"resident: {sum(before.values())} kB -> {sum(after.values())} kB")
for name in sorted(set(before) | set(after), key=lambda n: before[n] - after[n]):
    if before[name] != after[name] or before_anon[name] != after_anon[name]:
        print(f"{after[name] - before[name]:+7d} kB rss {after_anon[name] - before_anon[name]:+7d} kB anonymous"
              f"  ({before[name]} -> {after[name]})  {name}")
