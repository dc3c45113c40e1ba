# Sourced by the benchmark scripts.
# write_flood_component WORK CONTROL_DIR: writes the bench.Flood component (artifact under WORK/artifacts, recipe
# under WORK/recipes-flood). It publishes QoS 1 PublishToIoTCore messages to `bench/flood` through the Python SDK:
# "COUNT [BURST]" written to CONTROL_DIR/go-K, then it writes CONTROL_DIR/done-K (bounded: 4 rounds, 10 min). One
# request at a time by default; with BURST, that many requests outstanding before it waits for their answers.
write_flood_component() {
    local work="$1" control="$2"
    mkdir -p "$work/artifacts/bench.Flood/1.0.0" "$work/recipes-flood" "$control"
    cat > "$work/artifacts/bench.Flood/1.0.0/flood.py" <<'PY'
import os, sys, time
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc.model import QOS
directory, topic = sys.argv[1], sys.argv[2]
client = GreengrassCoreIPCClientV2()
deadline = time.time() + 600
for round in range(1, 5):
    go = "%s/go-%d" % (directory, round)
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    if not os.path.exists(go):
        break
    words = open(go).read().split()
    count, burst = int(words[0]), int(words[1]) if len(words) > 1 else 1
    for first in range(0, count, burst):
        if burst == 1:
            client.publish_to_iot_core(topic_name=topic, qos=QOS.AT_LEAST_ONCE, payload=b'{"n":%d}' % first)
            continue
        pending = [client.publish_to_iot_core_async(topic_name=topic, qos=QOS.AT_LEAST_ONCE, payload=b'{"n":%d}' % i)
                   for i in range(first, min(first + burst, count))]
        for answer in pending:
            answer.result(timeout=120)
    open("%s/done-%d" % (directory, round), "w").close()
time.sleep(max(0, deadline - time.time()))
PY
    cat > "$work/recipes-flood/bench.Flood-1.0.0.yaml" <<YAML
RecipeFormatVersion: "2020-01-25"
ComponentName: bench.Flood
ComponentVersion: "1.0.0"
ComponentConfiguration:
  DefaultConfiguration:
    accessControl:
      aws.greengrass.ipc.mqttproxy:
        bench.Flood:mqttproxy:1:
          operations: [aws.greengrass#PublishToIoTCore]
          resources: [bench/flood]
Manifests:
  - Lifecycle:
      Run: python3 -u {artifacts:path}/flood.py "$control" bench/flood
YAML
}
