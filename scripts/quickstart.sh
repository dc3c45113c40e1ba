#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: installs what is missing, builds, starts a local Mosquitto as the
# "cloud" broker, starts the nucleus in a local root, deploys the two sample components through greengrass-cli,
# and shows their messages flowing: the publisher's PublishToIoTCore reaches the broker (mosquitto_sub sees it)
# and comes back to the subscriber component through SubscribeToIoTCore.
#
#   bash scripts/quickstart.sh                  # runs, then stops everything (measured below)
#   KEEP_RUNNING=1 bash scripts/quickstart.sh   # leaves nucleus and broker running, prints how to stop them
#   bash scripts/quickstart.sh --stop           # stops what a KEEP_RUNNING=1 run left running
#
# Measured: the first run is nearly all release build, and prints a `[step/total] Compiling …` line per step: about
# 7 min on 2 idle cores (about 35 min when 6 other Swift builds share them), plus ~40 s to make .venv and
# download awsiotsdk/paho-mqtt, plus ~10 s to start, deploy and show the messages. A re-run takes 10-30 s (the
# build then only checks that nothing changed: 5-20 s), plus up to a few seconds to stop the components at the end.
# The components run `python3` from the nucleus's PATH: this script puts the project's venv (.venv, made by
# scripts/setup-deps.sh, holds awsiotsdk) first there, as a device puts a device-wide venv on its nucleus's PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
WORK="$REPO/.quickstart"
ROOT="$WORK/greengrass/v2"
PORT="${QUICKSTART_MQTT_PORT:-18830}"
NUCLEUS_PIDFILE="$WORK/nucleus.pid"
BROKER_PIDFILE="$WORK/broker.pid"

# Whether process $1 exists and is not a zombie (an orphan waits as one until PID 1 reaps it, which in a container
# may be never).
alive() {
    kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# The pid in pid file $1 if that process is still alive and its command line still contains $2 (a pid reused by
# an unrelated process after a reboot or a crash is not ours to stop); prints nothing otherwise.
live_pid() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 0
    case "$pid" in '' | *[!0-9]*) return 0 ;; esac
    alive "$pid" || return 0
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" && echo "$pid"
    return 0
}

# SIGTERM to a process this script started earlier, then waits for it (the nucleus stops its components first,
# within its own 60 s bound); SIGKILL only if it is still there after $3 seconds.
stop_process() { # name pid seconds
    echo "==> Stopping the $1 of an earlier quick start still running (pid $2)"
    kill -TERM "$2" 2>/dev/null || return 0
    local waited=0
    while alive "$2" && [ "$waited" -lt $(( $3 * 10 )) ]; do sleep 0.1; waited=$(( waited + 1 )); done
    if alive "$2"; then
        echo "    still running after $3 s: SIGKILL"
        kill -KILL "$2" 2>/dev/null || true
    else
        echo "    stopped after $(( waited / 10 )).$(( waited % 10 )) s"
    fi
}

# Stops a nucleus and broker an earlier (KEEP_RUNNING=1) run left running, before anything under $WORK is deleted.
stop_previous() {
    local nucleus broker
    nucleus=$(live_pid "$NUCLEUS_PIDFILE" "--root $ROOT")
    broker=$(live_pid "$BROKER_PIDFILE" "$WORK/mosquitto.conf")
    [ -z "$nucleus" ] || stop_process nucleus "$nucleus" 90
    [ -z "$broker" ] || stop_process broker "$broker" 10
    rm -f "$NUCLEUS_PIDFILE" "$BROKER_PIDFILE"
}

if [ "${1:-}" = "--stop" ]; then
    if [ -z "$(live_pid "$NUCLEUS_PIDFILE" "--root $ROOT")$(live_pid "$BROKER_PIDFILE" "$WORK/mosquitto.conf")" ]; then
        echo "==> No quick start nucleus or broker is running (pid files in $WORK)"
    fi
    stop_previous
    exit 0
fi

bash scripts/setup-deps.sh
# Components run `sh -c "python3 …"` with the nucleus's environment: the venv's python3 (with awsiotsdk) first.
export PATH="$REPO/.venv/bin:$PATH"
echo "==> Building release binaries (the first time: about 7 min on 2 idle cores, one line per step; later runs only check for changes)"
source "$REPO/scripts/lib/release-build.sh"
release_build
BIN="$(release_bin_path)"

stop_previous
rm -rf "$WORK"
mkdir -p "$WORK" "$ROOT"
cleanup() {
    if [ -z "${KEEP_RUNNING:-}" ]; then
        [ -n "${NUCLEUS_PID:-}" ] && kill -TERM "$NUCLEUS_PID" 2>/dev/null && wait "$NUCLEUS_PID" 2>/dev/null || true
        [ -n "${BROKER_PID:-}" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null || true
        rm -f "$NUCLEUS_PIDFILE" "$BROKER_PIDFILE"
    fi
}
trap cleanup EXIT

# A broker already on the port (another program, or one this script did not record) would make ours exit at once
# and the components talk to the wrong broker: refuse, naming the holder.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "quickstart: port 127.0.0.1:$PORT is already in use by: $(ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'users:.*' || echo 'an unknown process')" >&2
    echo "quickstart: stop it, or choose another port with QUICKSTART_MQTT_PORT=<port>" >&2
    exit 1
fi
echo "==> Starting Mosquitto on 127.0.0.1:$PORT (stands in for AWS IoT Core)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" > "$WORK/mosquitto.conf"
/usr/sbin/mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
BROKER_PID=$!
echo "$BROKER_PID" > "$BROKER_PIDFILE"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
if ! kill -0 "$BROKER_PID" 2>/dev/null || ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "quickstart: Mosquitto did not start listening on 127.0.0.1:$PORT; its log ($WORK/mosquitto.log):" >&2
    cat "$WORK/mosquitto.log" >&2
    exit 1
fi

cat > "$WORK/config.yaml" <<CONFIG
system:
  thingName: quickstart-device
services:
  aws.greengrass.Nucleus:
    configuration:
      iotDataEndpoint: 127.0.0.1
      mqtt:
        port: $PORT
CONFIG

echo "==> Starting the nucleus: $BIN/greengrass-nucleus --root $ROOT --config $WORK/config.yaml"
"$BIN/greengrass-nucleus" --root "$ROOT" --config "$WORK/config.yaml" > "$WORK/nucleus.out" 2>&1 &
NUCLEUS_PID=$!
echo "$NUCLEUS_PID" > "$NUCLEUS_PIDFILE"
# Ready for the CLI once the socket, the installed CLI and the CLI's token file are all there (they appear in
# that order, a moment apart: waiting for the socket alone raced with the CLI's copy).
nucleus_ready() {
    [ -S "$ROOT/ipc.socket" ] && [ -x "$ROOT/bin/greengrass-cli" ] && [ -e "$ROOT/cli_ipc_info/user-$(id -u)" ]
}
for _ in $(seq 1 200); do nucleus_ready && break; kill -0 "$NUCLEUS_PID" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$NUCLEUS_PID" 2>/dev/null || ! nucleus_ready; then
    echo "quickstart: the nucleus is not ready for greengrass-cli (socket, bin/greengrass-cli, cli_ipc_info) in $ROOT; its output ($WORK/nucleus.out):" >&2
    cat "$WORK/nucleus.out" >&2
    exit 1
fi

echo "==> Deploying the sample components with greengrass-cli"
"$ROOT/bin/greengrass-cli" deployment create \
    --recipeDir "$REPO/recipes" --artifactDir "$REPO/artifacts" \
    --merge "com.example.IoTCorePublisher=1.0.0" --merge "com.example.IoTCoreSubscriber=1.0.0" \
    --update-config '{"com.example.IoTCorePublisher":{"MERGE":{"intervalSeconds":1}}}'

echo "==> Messages on the broker's core/topic (mosquitto_sub, 5 messages):"
timeout 30 mosquitto_sub -h 127.0.0.1 -p "$PORT" -t core/topic -C 5 -v

echo "==> greengrass-cli component list"
"$ROOT/bin/greengrass-cli" component list
echo "==> greengrass-cli deployment list"
"$ROOT/bin/greengrass-cli" deployment list
echo "==> Received by the subscriber component (work/com.example.IoTCoreSubscriber/received.jsonl):"
tail -n 3 "$ROOT/work/com.example.IoTCoreSubscriber/received.jsonl"
echo "==> Its log (logs/com.example.IoTCoreSubscriber.log):"
tail -n 2 "$ROOT/logs/com.example.IoTCoreSubscriber.log"
if [ -n "${KEEP_RUNNING:-}" ]; then
    echo "==> Nucleus (pid $NUCLEUS_PID) and broker (pid $BROKER_PID) keep running; root: $ROOT"
    echo "    To stop both: bash $REPO/scripts/quickstart.sh --stop"
    echo "    (or: kill -TERM $NUCLEUS_PID $BROKER_PID; a re-run of the quick start stops them too)"
fi
echo "==> Quick start done in ${SECONDS} s"
