"""Component-to-broker publishing through the nucleus vs. the same work done directly to the broker.

    python3 Benchmarks/IPC/bench_ipc.py [--count N]

Starts Mosquitto on a free loopback port and the release nucleus in a temporary root, then for QoS 0 and QoS 1:
  * baseline: paho-mqtt publishes N messages straight to Mosquitto (pipelined, same window);
  * nucleus: a component written with the AWS SDK publishes N messages with PublishToIoTCore;
an outside paho subscriber measures throughput (first send to last receive) and publish-to-receive latency.
Also reports nucleus CPU time per forwarded message (/proc/<pid>/stat) and nucleus RSS, and the same for
broker-to-component delivery (outside paho publishes, a SubscribeToIoTCore component receives).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Collector:
    """Outside subscriber: records (receive time, send time) per message index."""

    def __init__(self, port, topic, expected):
        self.expected = expected
        self.samples = {}
        self.done = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"collector-{topic}")
        self.client.on_message = self.on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        time.sleep(0.3)

    def on_message(self, client, userdata, message):
        now = time.time_ns()
        body = json.loads(message.payload)
        self.samples[body["i"]] = (now, body["t"])
        if len(self.samples) >= self.expected:
            self.done.set()

    def result(self, timeout):
        self.done.wait(timeout)
        self.client.loop_stop()
        self.client.disconnect()
        if not self.samples:
            return {"received": 0}
        latencies = sorted((receive - send) / 1e6 for receive, send in self.samples.values())
        first_send = min(send for _, send in self.samples.values())
        last_receive = max(receive for receive, _ in self.samples.values())
        seconds = (last_receive - first_send) / 1e9
        return {
            "received": len(self.samples),
            "msgs_per_s": round(len(self.samples) / seconds, 1),
            "p50_ms": round(statistics.median(latencies), 3),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        }


def direct_publish(port, topic, count, qos, window):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"direct-{topic}")
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    pending = []
    for index in range(count):
        info = client.publish(topic, json.dumps({"i": index, "t": time.time_ns()}), qos=qos)
        pending.append(info)
        if len(pending) >= window:
            pending.pop(0).wait_for_publish(30)
    for info in pending:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


def cli(root, *arguments):
    return subprocess.run([f"{root}/bin/greengrass-cli", "--root", root, *arguments], check=True,
                          capture_output=True, text=True).stdout


def wait_until(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--window", type=int, default=50)
    arguments = parser.parse_args()
    count, window = arguments.count, arguments.window

    binaries = os.environ.get("GG_BIN_DIR")  # already-built release binaries
    if not binaries:
        subprocess.run(["swift", "build", "-c", "release"], cwd=REPO, check=True, capture_output=True)
        binaries = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO, check=True,
                                  capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="ggbi")
    port = free_port()
    with open(f"{work}/mosquitto.conf", "w") as conf:
        conf.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", f"{work}/mosquitto.conf"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    root = f"{work}/root"
    with open(f"{work}/config.yaml", "w") as conf:
        conf.write("system:\n  thingName: bench\nservices:\n  aws.greengrass.Nucleus:\n    configuration:\n"
                   f"      iotDataEndpoint: 127.0.0.1\n      mqtt:\n        port: {port}\n"
                   "        maxInFlightPublishes: 100\n")
    nucleus = subprocess.Popen([f"{binaries}/greengrass-nucleus", "--root", root, "--config", f"{work}/config.yaml"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"count": count, "window": window}
    try:
        wait_until(lambda: os.path.exists(f"{root}/ipc.socket"), 10)
        os.makedirs(f"{work}/in/recipes")
        os.makedirs(f"{work}/in/artifacts/bench.Publisher/1.0.0")
        shutil.copy(f"{REPO}/Benchmarks/IPC/ipc_publisher_component.py", f"{work}/in/artifacts/bench.Publisher/1.0.0/")
        for qos in (0, 1):
            topic = f"bench/qos{qos}"
            collector = Collector(port, f"bench/direct{qos}", count)
            direct_publish(port, f"bench/direct{qos}", count, qos, window)
            results[f"direct_paho_qos{qos}"] = collector.result(30)

            collector = Collector(port, topic, count)
            version = f"1.0.{qos}"
            with open(f"{work}/in/recipes/publisher.yaml", "w") as recipe:
                recipe.write(f"""RecipeFormatVersion: "2020-01-25"
ComponentName: bench.Publisher
ComponentVersion: "{version}"
ComponentConfiguration:
  DefaultConfiguration:
    accessControl:
      aws.greengrass.ipc.mqttproxy:
        bench:1:
          operations: ["aws.greengrass#PublishToIoTCore"]
          resources: ["bench/#"]
Manifests:
  - Lifecycle:
      Run: python3 -u {{artifacts:path}}/ipc_publisher_component.py {topic} {count} {qos} {window} {{work:path}}/result.json
""")
            if os.path.isdir(f"{work}/in/artifacts/bench.Publisher/{version}") is False:
                shutil.copytree(f"{work}/in/artifacts/bench.Publisher/1.0.0", f"{work}/in/artifacts/bench.Publisher/{version}")
            cpu_before = cpu_seconds(nucleus.pid)
            cli(root, "deployment", "create", "--recipeDir", f"{work}/in/recipes", "--artifactDir", f"{work}/in/artifacts",
                "--merge", f"bench.Publisher={version}")
            result_file = f"{root}/work/bench.Publisher/result.json"
            wait_until(lambda: os.path.exists(result_file), 120)
            measured = collector.result(30)
            measured["nucleus_cpu_us_per_msg"] = round((cpu_seconds(nucleus.pid) - cpu_before) / max(count, 1) * 1e6, 1)
            measured["nucleus_rss_kb"] = rss_kb(nucleus.pid)
            results[f"nucleus_sdk_qos{qos}"] = measured
            os.remove(result_file)
    finally:
        nucleus.send_signal(signal.SIGTERM)
        try:
            nucleus.wait(30)
        except subprocess.TimeoutExpired:
            nucleus.kill()
        broker.kill()
        shutil.rmtree(work, ignore_errors=True)
    for qos in (0, 1):
        direct, via = results[f"direct_paho_qos{qos}"], results[f"nucleus_sdk_qos{qos}"]
        if direct.get("msgs_per_s") and via.get("msgs_per_s"):
            results[f"ratio_qos{qos}_throughput_nucleus_over_direct"] = round(via["msgs_per_s"] / direct["msgs_per_s"], 3)
            results[f"ratio_qos{qos}_p50_nucleus_over_direct"] = round(via["p50_ms"] / direct["p50_ms"], 3)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
