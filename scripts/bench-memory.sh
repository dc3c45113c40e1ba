#!/usr/bin/env bash
# Nucleus memory and start-up for several builds in ONE run (issue 16's benchmark), measured the same way for each:
#   bash scripts/bench-memory.sh [LABEL=BINDIR ...]
# Each BINDIR holds a `greengrass-nucleus` and a `greengrass-cli` (release builds). Without arguments: the release
# build of this checkout (scripts/lib/release-build.sh). For each build, on loopback only:
#   - exec → IPC socket accepting (empty root; median of $RUNS, default 5);
#   - the two samples (recipes/, artifacts/) deployed, the upstream MQTT connection up over mutual TLS to a local
#     Mosquitto (a throw-away CA, a server certificate for localhost and 127.0.0.1, a client certificate; the nucleus
#     trusts `system.rootCaPath` only), then after 15 s idle: VmRSS, Pss (smaps_rollup), RssAnon, RssFile;
#   - the same after a third component (bench.Flood, Python SDK) has forwarded 100, then 10,000 QoS 1
#     `PublishToIoTCore` messages through the nucleus to the broker (counted at the broker), 2 s after the last one
#     and again once idle (60 s after it, compared with idle 60 s after the samples started);
#   - `greengrass-cli component list` wall time (median of $RUNS);
#   - idle again after a restart on the same root (the components restored, no deployment since).
# Working set: the kernel's per-page "referenced" bits are cleared (/proc/PID/clear_refs) and the pages touched since
# are summed (smaps_rollup `Referenced`), over 10 s of idle and over the 9,900-message round: the memory the nucleus
# really uses, against what it merely has mapped (RSS includes pages the kernel mapped around faults).
# GG_BENCH_BREAKDOWN=1 also prints the resident kB of each mapped file (top 12) at idle; GG_BENCH_SECTIONS=1 the
# executable's resident pages by ELF section and module (scripts/resident-map.py).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
RUNS="${RUNS:-5}"
# Idle is measured this many seconds after the components are RUNNING: past the nucleus's second page return, 10 s
# after a deployment or connection settled (ProcessMemory.IdlePageReturns); builds without returns do not change.
IDLE_AFTER="${GG_BENCH_IDLE_AFTER:-15}"
# Steady idle: this many seconds after the samples are RUNNING, and after the flood's last message (well past the
# first fully quiet 10 s sampling period that returns what the flood mapped).
STEADY_AFTER="${GG_BENCH_STEADY_AFTER:-60}"
QUIET_AFTER="$STEADY_AFTER"
# localhost by default: releases before MQTTTLSServerIdentity sent an IP endpoint as SNI, which NIOSSL refuses, so
# they cannot connect to 127.0.0.1 over TLS. GG_BENCH_ENDPOINT=127.0.0.1 checks the IP SAN path of newer builds.
ENDPOINT="${GG_BENCH_ENDPOINT:-localhost}"
if [ $# -eq 0 ]; then
    source scripts/lib/release-build.sh
    release_build >/dev/null
    set -- "this=$(release_bin_path)"
fi
. "$REPO/scripts/lib/project-python.sh"

# WORK, PIDS (stopped on exit), wait_for (scripts/lib/work-directory.sh)
source scripts/lib/work-directory.sh
make_work_directory ggmem

source scripts/lib/tls-broker.sh
start_tls_broker "$WORK"

source scripts/lib/flood-component.sh

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ns() { date +%s%N; }

# start_nucleus BINARY ROOT [ARGS...] (scripts/lib/start-nucleus.sh)
source scripts/lib/start-nucleus.sh  # the working directory is the repository root from here on
stop_nucleus() { kill -TERM "$1"; for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; kill -KILL "$1"; }

# "rss pss anon file" in kB.
memory() {
    local rss pss anon file
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status")
    anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status")
    file=$(awk '/^RssFile:/ {print $2}' "/proc/$1/status")
    pss=$(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup")
    echo "$rss $pss $anon $file"
}
# kB of resident pages touched since the last `clear_refs` (root, or the same user as the nucleus).
referenced_since_cleared() { awk '/^Referenced:/ {print $2}' "/proc/$1/smaps_rollup"; }
clear_referenced() { echo 1 > "/proc/$1/clear_refs"; }
breakdown() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anonymous]" : $6)} /^Rss:/ {rss[name] += $2}
         END {for (n in rss) if (rss[n] > 0) printf "%8d kB  %s\n", rss[n], n}' "/proc/$1/smaps" | sort -rn | head -12
}

# GG_BENCH_SNAPSHOTS=DIR keeps /proc/PID/smaps and the executable's resident map at the two steady idle readings and
# after each round of messages, to tell what traffic maps and leaves behind (scripts/compare-snapshots.py).
snapshot() {
    [ -n "${GG_BENCH_SNAPSHOTS:-}" ] || return 0
    mkdir -p "$GG_BENCH_SNAPSHOTS"
    cp "/proc/$3/smaps" "$GG_BENCH_SNAPSHOTS/$1-$2.smaps"
    python3 scripts/resident-map.py --windows --pages "$GG_BENCH_SNAPSHOTS/$1-$2.pages" "$3" > "$GG_BENCH_SNAPSHOTS/$1-$2.sections" 2>&1 || true
}

# GG_BENCH_FAULTS=DIR records the page faults of each build's nucleus (perf, from just after its start until idle
# again after the messages), with a mark at each reading, in DIR/LABEL: `python3 scripts/fault-phases.py DIR/LABEL`
# tells what each phase mapped, and where in linker/symbol-order.txt the code it ran is listed.
faults_start() {
    [ -n "${GG_BENCH_FAULTS:-}" ] || return 0
    command -v perf >/dev/null || { echo "GG_BENCH_FAULTS needs perf (apt-get install linux-perf)" >&2; exit 1; }
    FAULTS="$GG_BENCH_FAULTS/$1"
    mkdir -p "$FAULTS"
    : > "$FAULTS/marks"
    echo "$2" > "$FAULTS/pid"
    cp "/proc/$2/maps" "$FAULTS/maps"
    perf record -q -k CLOCK_MONOTONIC -e exceptions:page_fault_user -e exceptions:page_fault_kernel -p "$2" -o "$FAULTS/perf.data" 2>"$FAULTS/perf.log" &
    FAULTS_PERF=$!
    PIDS+=("$FAULTS_PERF")
    sleep 0.5
    kill -0 "$FAULTS_PERF" 2>/dev/null || { echo "perf record failed: $(cat "$FAULTS/perf.log")" >&2; exit 1; }
}
fault_mark() { # NAME: the time on perf's clock (CLOCK_MONOTONIC) and the nucleus's RSS
    [ -n "${GG_BENCH_FAULTS:-}" ] || return 0
    echo "$(python3 -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))') $1 $(awk '/^VmRSS:/ {print $2}' "/proc/$NPID/status")" >> "$FAULTS/marks"
}
faults_stop() { [ -z "${GG_BENCH_FAULTS:-}" ] || { kill -INT "$FAULTS_PERF" 2>/dev/null; wait "$FAULTS_PERF" || true; }; }

RESULTS="$WORK/results"
: > "$RESULTS"
record() { echo "$1|$2|$3" >> "$RESULTS"; } # label|metric|value

for set in "$@"; do
    label="${set%%=*}"
    bin="$(cd "${set#*=}" && pwd)"
    echo "== $label ($bin)" >&2
    write_flood_component "$WORK/$label-flood" "$WORK/flood/$label"

    for i in $(seq 1 "$RUNS"); do
        read -r ms pid < <(start_nucleus "$bin/greengrass-nucleus" "$WORK/$label-start$i")
        stop_nucleus "$pid"
        echo "$ms"
    done | median | { read -r ms; record "$label" "exec → socket accepting (ms, empty root)" "$(printf %.1f "$ms")"; }

    thing="bench-$label"
    write_nucleus_config "$WORK/$label-config.yaml" "$thing" "$ENDPOINT"
    ROOT="$WORK/$label-root"
    read -r _ NPID < <(start_nucleus "$bin/greengrass-nucleus" "$ROOT" --config "$WORK/$label-config.yaml")
    PIDS+=("$NPID")
    faults_start "$label" "$NPID"
    CLI="$ROOT/bin/greengrass-cli"
    wait_for "CLI installed" 100 test -x "$CLI"
    wait_for "TLS connection of $thing" 300 grep -q "as $thing" "$WORK/mosquitto.log"
    "$CLI" deployment create --recipeDir "$REPO/recipes" --artifactDir "$REPO/artifacts" \
        --merge com.example.IoTCorePublisher=1.0.0 --merge com.example.IoTCoreSubscriber=1.0.0 >/dev/null
    running() { [ "$("$CLI" component list | grep -c 'State: RUNNING')" -ge "$1" ]; }
    wait_for "samples RUNNING" 600 running 2
    sleep "$IDLE_AFTER"
    read -r rss pss anon file < <(memory "$NPID")
    record "$label" "idle, 2 samples, TLS up: RSS (kB)" "$rss"
    fault_mark idle
    record "$label" "idle, 2 samples, TLS up: Pss (kB)" "$pss"
    record "$label" "idle, 2 samples, TLS up: RssAnon (kB)" "$anon"
    record "$label" "idle, 2 samples, TLS up: RssFile (kB)" "$file"
    clear_referenced "$NPID"; sleep 10
    record "$label" "idle working set over 10 s: Referenced (kB)" "$(referenced_since_cleared "$NPID")"
    if [ -n "${GG_BENCH_BREAKDOWN:-}" ]; then echo "-- $label: resident kB per mapping at idle" >&2; breakdown "$NPID" >&2; fi
    if [ -n "${GG_BENCH_SECTIONS:-}" ]; then echo "-- $label: the executable's resident pages at idle" >&2; python3 scripts/resident-map.py --windows "$NPID" >&2; fi
    # Idle keeps mapping back, slowly, the code it runs after each return: the figure to compare with "idle again"
    # below is this one, taken as long after the work.
    sleep $((STEADY_AFTER - IDLE_AFTER - 10))
    read -r rss _ _ _ < <(memory "$NPID")
    record "$label" "idle ${STEADY_AFTER} s after the samples RUNNING: RSS (kB)" "$rss"
    fault_mark idle-steady
    snapshot "$label" "idle-steady" "$NPID"

    for i in $(seq 1 "$RUNS"); do
        t0=$(now_ns); "$CLI" component list >/dev/null; echo $(( ($(now_ns) - t0) / 100000 ))
    done | median | { read -r t; record "$label" "greengrass-cli component list (ms)" "$(awk -v t="$t" 'BEGIN {printf "%.1f", t / 10}')"; }

    # The flood component: subscribe at the broker first, so every forwarded message is counted.
    timeout 600 mosquitto_sub -h 127.0.0.1 -p "$PORT" --cafile "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key" \
        -i "counter-$label" -t bench/flood -q 1 > "$WORK/flood/$label.received" 2>/dev/null &
    PIDS+=($!)
    fault_mark deploy-flood
    "$CLI" deployment create --recipeDir "$WORK/$label-flood/recipes-flood" --artifactDir "$WORK/$label-flood/artifacts" --merge bench.Flood=1.0.0 >/dev/null
    wait_for "bench.Flood RUNNING" 600 running 3
    sleep "$IDLE_AFTER"
    read -r rss _ _ _ < <(memory "$NPID")
    record "$label" "bench.Flood deployed, 0 messages: RSS (kB)" "$rss"
    fault_mark flood-deployed
    total=0; round=0
    for count in 100 9900; do
        round=$((round + 1)); total=$((total + count))
        clear_referenced "$NPID"
        fault_mark "go$round"
        echo "$count" > "$WORK/flood/$label/go-$round"
        wait_for "$total messages published" 3000 test -e "$WORK/flood/$label/done-$round"
        wait_for "$total messages at the broker" 300 sh -c "[ \$(wc -l < '$WORK/flood/$label.received') -ge $total ]"
        sleep 2
        read -r rss pss anon _ < <(memory "$NPID")
        record "$label" "after $total forwarded messages: RSS (kB)" "$rss"
        fault_mark "after-$total"
        record "$label" "after $total forwarded messages: RssAnon (kB)" "$anon"
        record "$label" "working set while forwarding $count: Referenced (kB)" "$(referenced_since_cleared "$NPID")"
        snapshot "$label" "after-$total" "$NPID"
    done
    if [ -n "${GG_BENCH_SECTIONS:-}" ]; then echo "-- $label: the executable's resident pages after $total messages" >&2; python3 scripts/resident-map.py --windows "$NPID" >&2; fi
    # Idle again: traffic does not say when it ends, so the nucleus samples itself every 10 s and returns pages after
    # a quiet period that followed growth (ProcessMemory.QuietAfterGrowth): within 20 s of the last message.
    sleep "$QUIET_AFTER"
    read -r rss pss anon _ < <(memory "$NPID")
    record "$label" "idle again ${QUIET_AFTER} s after $total messages: RSS (kB)" "$rss"
    fault_mark idle-again
    faults_stop
    record "$label" "idle again ${QUIET_AFTER} s after $total messages: RssAnon (kB)" "$anon"
    snapshot "$label" "idle-again" "$NPID"
    if [ -n "${GG_BENCH_BREAKDOWN:-}" ]; then echo "-- $label: resident kB per mapping idle again after $total messages" >&2; breakdown "$NPID" >&2; fi
    stop_nucleus "$NPID"

    # As after `systemctl restart greengrass`: the same root, its three components restored, no deployment since.
    rm -f "$WORK/flood/$label"/go-* "$WORK/flood/$label"/done-*
    read -r _ NPID < <(start_nucleus "$bin/greengrass-nucleus" "$ROOT" --config "$WORK/$label-config.yaml")
    PIDS+=("$NPID")
    wait_for "components RUNNING after the restart" 600 running 3
    sleep "$IDLE_AFTER"
    read -r rss _ anon _ < <(memory "$NPID")
    record "$label" "restarted, 3 components restored, idle: RSS (kB)" "$rss"
    record "$label" "restarted, 3 components restored, idle: RssAnon (kB)" "$anon"
    stop_nucleus "$NPID"
done

echo
python3 - "$RESULTS" "$@" <<'PY'
import sys
rows, labels = {}, [s.split("=", 1)[0] for s in sys.argv[2:]]
order = []
for line in open(sys.argv[1]):
    label, metric, value = line.rstrip("\n").split("|")
    if metric not in rows: rows[metric] = {}; order.append(metric)
    rows[metric][label] = value
print("| metric | " + " | ".join(labels) + " |")
print("|---|" + "---:|" * len(labels))
for metric in order:
    print("| " + metric + " | " + " | ".join(rows[metric].get(l, "") for l in labels) + " |")
PY
