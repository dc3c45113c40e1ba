#!/usr/bin/env bash
# Regenerates linker/symbol-order.txt, the order in which the release link (Package.swift, lld
# --symbol-ordering-file) lays out functions: first every function the idle nucleus runs (60 s with the two samples
# deployed, publishing and receiving through its upstream connection over mutual TLS, a third component connected),
# then what traffic adds (a third component, Python SDK, forwarding 2,000 QoS 1 messages in bursts of 50, and the
# nucleus's side of `component list` and `deployment list`), then the rest of what it ran from exec until then
# (start-up and the deployments), then what `greengrass-cli component list` adds. Idle code comes first, and traffic's right after it,
# because the nucleus returns its code pages to the kernel after start-up, after each deployment, once its upstream
# connection is up and once traffic has gone quiet (ProcessMemory.IdlePages): only the pages running work touches
# are mapped again, and clustered they are few; idle's own, packed together, are the fewest. Why it matters: a resident page of code is any 4 KiB page the
# process touched, and the kernel maps up to 16 cached pages around each fault ("fault-around"), so code scattered
# over the binary costs far more resident memory than its size (issue 16, BENCHMARKS §8).
#
#   bash scripts/generate-symbol-order.sh [BINDIR]
#
# BINDIR: release binaries to profile (default: scripts/lib/release-build.sh). Needs valgrind (callgrind), Mosquitto,
# openssl and the Python SDK (scripts/setup-deps.sh). The list only orders: a function missing from it (new code)
# is linked after the listed ones, a listed name the binary lacks is ignored, so a stale list costs memory, never
# correctness. Regenerate after larger changes to start-up code, and commit the result (with
# linker/symbol-order.segments, how many functions each part holds, which scripts/fault-phases.py reads).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
OUTPUT="$REPO/linker/symbol-order.txt"
if [ $# -eq 0 ]; then
    source scripts/lib/release-build.sh
    release_build >/dev/null
    set -- "$(release_bin_path)"
fi
BIN="$(cd "$1" && pwd)"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
. "$REPO/scripts/lib/project-python.sh"

# WORK, PIDS (stopped on exit), wait_for (scripts/lib/work-directory.sh)
source scripts/lib/work-directory.sh
make_work_directory ggorder

source scripts/lib/tls-broker.sh
source scripts/lib/start-nucleus.sh
start_tls_broker "$WORK"
write_nucleus_config "$WORK/config.yaml" order-profile localhost

# Callgrind records every function executed, whatever library or module it comes from (no instrumented build).
# It cannot read the toolchain's DWARF, so it profiles copies without debug information (the symbol table stays).
mkdir -p "$WORK/bin"
for tool in greengrass-nucleus greengrass-cli; do objcopy --strip-debug "$BIN/$tool" "$WORK/bin/$tool"; done
BIN="$WORK/bin"
CALLGRIND="valgrind --tool=callgrind --dump-instr=no --collect-jumps=no --demangle=no"
ROOT="$WORK/root"
GG_NUCLEUS_WRAPPER="$CALLGRIND --callgrind-out-file=$WORK/nucleus.%p.out" \
    start_nucleus "$BIN/greengrass-nucleus" "$ROOT" --config "$WORK/config.yaml" > "$WORK/started"
read -r _ NPID < "$WORK/started"
PIDS+=("$NPID")
CLI="$ROOT/bin/greengrass-cli"
wait_for "CLI installed" 1200 test -x "$CLI"
wait_for "TLS connection" 1200 grep -q "as order-profile" "$WORK/mosquitto.log"
"$CLI" deployment create --recipeDir "$REPO/recipes" --artifactDir "$REPO/artifacts" \
    --merge com.example.IoTCorePublisher=1.0.0 --merge com.example.IoTCoreSubscriber=1.0.0 >/dev/null
running() { [ "$("$CLI" component list | grep -c 'State: RUNNING')" -ge "$1" ]; }
wait_for "samples RUNNING" 1800 running 2
source scripts/lib/flood-component.sh
write_flood_component "$WORK" "$WORK/flood"
"$CLI" deployment create --recipeDir "$WORK/recipes-flood" --artifactDir "$WORK/artifacts" --merge bench.Flood=1.0.0 >/dev/null
wait_for "bench.Flood RUNNING" 1800 running 3
sleep 10
# What ran until then (start-up, two deployments), then what the idle nucleus runs in 60 s (the publisher sample
# sends every 5 s, the subscriber receives, the nucleus samples itself every 10 s), then what two CLI queries and
# 2,000 forwarded messages add. Each dump holds only what ran since the one before. Shutdown code stays out.
callgrind_control --dump=startup "$NPID" >/dev/null
wait_for "start-up profile" 600 test -s "$WORK/nucleus.$NPID.out.1"
sleep 60
callgrind_control --dump=idle "$NPID" >/dev/null
wait_for "idle profile" 600 test -s "$WORK/nucleus.$NPID.out.2"
"$CLI" component list >/dev/null
"$CLI" deployment list >/dev/null
# In bursts of 50 requests: a native flood, one request at a time, fills the nucleus's window of 5 in-flight QoS 1
# publishes within seconds and queues in the spool; under callgrind one request at a time never did (a list made so
# had no `MQTTSpool.append`), and a window of 1 never grew the in-flight table or the write buffers. What the profile
# missed was mapped, in 64 KiB windows of unlisted and start-up code, by the benchmark's flood (issue 16).
echo "2000 50" > "$WORK/flood/go-1"
wait_for "2,000 messages forwarded" 6000 test -e "$WORK/flood/done-1"
callgrind_control --dump=traffic "$NPID" >/dev/null
wait_for "traffic profile" 600 test -s "$WORK/nucleus.$NPID.out.3"
$CALLGRIND --callgrind-out-file="$WORK/cli.out" "$CLI" component list >/dev/null 2>"$WORK/cli.valgrind"
kill -TERM "$NPID"

# Function names of the profiled executables, in the order callgrind first lists them (the dump lists each
# function once, with its callees): idle, then traffic, then start-up, then the CLI.
# BoringSSL's assembly comes in variants for CPU features and picks one at run time; valgrind's CPU has no AVX-512,
# so the profile sees a variant a native run on a newer CPU does not use (a trace
# showed the nucleus at idle mapping a window for `gcm_gmult_vpclmulqdq_avx512`). Each listed variant is followed by
# its siblings in the binary (the same routine, another CPU suffix): about 10 kB for AES-GCM.
mkdir -p "$(dirname "$OUTPUT")"
nm --defined-only "$BIN/greengrass-nucleus" | awk '{print $3}' > "$WORK/nucleus.symbols"
python3 - "$OUTPUT" "$WORK/nucleus.symbols" "$WORK/nucleus.$NPID.out.2" "$WORK/nucleus.$NPID.out.3" "$WORK/nucleus.$NPID.out.1" "$WORK/cli.out" <<'PY'
import collections, os, re, sys
output, symbols, profiles = sys.argv[1], sys.argv[2], sys.argv[3:]
CPU_VARIANT = re.compile(r"^(CNIOBoringSSL_\w+?)_(?:nohw|hw|ssse3|avx|avx2|avx512|clmul|shaext|adx|bmi2|(?:vpclmulqdq|vaes)_avx(?:2|512))$")
siblings = collections.defaultdict(list)
for symbol in open(symbols).read().split():
    match = CPU_VARIANT.match(symbol)
    if match:
        siblings[match.group(1)].append(symbol)
names, seen, segments = [], set(), []
for segment, profile in zip(("idle", "traffic", "startup", "cli"), profiles):
    listed_before = len(names)
    objects, functions = {}, {}
    current_object = called_object = None
    for line in open(profile, errors="replace"):
        match = re.match(r"(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not match:
            continue
        kind, ident, name = match.groups()
        if name is not None:
            name = re.sub(r"'\d+$", "", name)  # callgrind's recursion-depth suffix
        table = objects if kind in ("ob", "cob") else functions
        if name is not None:
            table[ident] = name
        name = table.get(ident, "")
        if kind == "ob":
            current_object = called_object = name
        elif kind == "cob":
            called_object = name
        else:
            owner = current_object if kind == "fn" else called_object
            if os.path.basename(owner or "") in ("greengrass-nucleus", "greengrass-cli") and not name.startswith("0x") and name not in seen:
                variant = CPU_VARIANT.match(name)
                for listed in [name] + (siblings[variant.group(1)] if variant else []):
                    if listed not in seen:
                        seen.add(listed)
                        names.append(listed)
            if kind == "cfn":
                called_object = current_object
    print(f"{len(names) - listed_before} functions from {os.path.basename(profile)}")
    segments.append(f"{segment} {len(names) - listed_before}\n")
with open(output, "w") as out:
    out.write("".join(n + "\n" for n in names))
# How many of the listed functions each profile added, in list order (read by scripts/fault-phases.py).
with open(os.path.splitext(output)[0] + ".segments", "w") as out:
    out.write("".join(segments))
print(f"{len(names)} functions -> {output}")
PY
