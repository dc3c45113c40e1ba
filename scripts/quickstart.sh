#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: installs what is missing, builds, starts a local Mosquitto as the
# "cloud" broker, starts the nucleus in a local root, deploys the two sample components through greengrass-cli,
# and shows their messages flowing: the publisher's PublishToIoTCore reaches the broker (mosquitto_sub sees it)
# and comes back to the subscriber component through SubscribeToIoTCore.
#
#   bash scripts/quickstart.sh            # runs for ~30 s, then stops everything
#   KEEP_RUNNING=1 bash scripts/quickstart.sh   # leaves nucleus and broker running
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
WORK="$REPO/.quickstart"
ROOT="$WORK/greengrass/v2"
PORT="${QUICKSTART_MQTT_PORT:-18830}"

bash scripts/setup-deps.sh
echo "==> Building release binaries"
swift build -c release 2>&1 | tail -1
BIN="$(swift build -c release --show-bin-path)"

rm -rf "$WORK"
mkdir -p "$WORK" "$ROOT"
cleanup() {
    if [ -z "${KEEP_RUNNING:-}" ]; then
        [ -n "${NUCLEUS_PID:-}" ] && kill -TERM "$NUCLEUS_PID" 2>/dev/null && wait "$NUCLEUS_PID" 2>/dev/null || true
        [ -n "${BROKER_PID:-}" ] && kill "$BROKER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "==> Starting Mosquitto on 127.0.0.1:$PORT (stands in for AWS IoT Core)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" > "$WORK/mosquitto.conf"
/usr/sbin/mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
BROKER_PID=$!

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
for _ in $(seq 1 100); do [ -S "$ROOT/ipc.socket" ] && break; sleep 0.1; done

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
    echo "Nucleus (pid $NUCLEUS_PID) and broker (pid $BROKER_PID) keep running; root: $ROOT"
fi
