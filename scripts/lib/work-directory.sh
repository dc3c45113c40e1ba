# Sourced by the benchmark scripts.
# make_work_directory PREFIX: a throw-away directory /tmp/PREFIX.XXXXXX in WORK, and an empty PIDS. On exit every
# pid in PIDS is sent SIGTERM (its process group when it leads one, as start_nucleus and start_tls_broker start
# them), then WORK is removed; GG_BENCH_KEEP=1 keeps it and prints where.
make_work_directory() {
    WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
    PIDS=()
    trap remove_work_directory EXIT
}

remove_work_directory() {
    for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    if [ -z "${GG_BENCH_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}

# wait_for WHAT TRIES COMMAND...: runs COMMAND every 0.1 s until it succeeds, at most TRIES times; then fails
# naming WHAT.
wait_for() {
    local what="$1" tries="$2"
    shift 2
    for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.1; done
    echo "timed out: $what" >&2
    return 1
}
