"""Issue 6: component IPC through the nucleus against the same client work done directly to the broker.

    cd Benchmarks/IPC && swift build -c release && cd ../..
    swift build -c release --scratch-path .build-bench --product greengrass-nucleus
    swift build -c release --scratch-path .build-bench --product greengrass-cli
    python3 Benchmarks/IPC/bench_ipc.py --variant after=.build-bench/release [--variant before=/tmp/gg-before] \
        [--count 20000] [--paced-count 2500] [--rate 500] [--rounds 3] [--memory]

One Mosquitto on a free loopback port serves the whole run. The direct baselines run once; every --variant (a
directory holding a greengrass-nucleus binary) then gets its own fresh nucleus root, so before/after builds are
compared against the same baselines; --rounds repeats baselines and variants interleaved (medians are reported). Every message carries its CLOCK_REALTIME send time; an outside collector
(our MQTTClient, `ipc-bench collect`: it keeps up with the fastest publisher, which a Python subscriber does not)
records its receive time, and reads the nucleus's CPU ticks at the first and the last message it receives.

Runs (QoS 0 and 1 each):
  saturated  — window 50, as fast as possible: throughput (first send → last receive) and nucleus CPU/message
  paced      — `--rate` msg/s: p50/p99 publish → receive latency of the path itself, not of queueing
  publishers — paho-mqtt direct vs AWS SDK (Python) component; our MQTTClient direct vs the Swift IPC client component
  delivery   — paho publishes paced QoS 0 messages; received by a paho subscriber / our MQTTClient directly, or by an
               SDK / Swift-IPC component through SubscribeToIoTCore
  --memory   — on the last variant: nucleus RSS idle, after 100 components × 100 SubscribeToIoTCore streams, and
               sampled during a sustained QoS 0 publish run
Prints one JSON document with every figure; BENCHMARKS.md §4 is written from it.
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
import time

import paho.mqtt.client as mqtt

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TICKS = os.sysconf("SC_CLK_TCK")
BENCH = os.environ.get("IPC_BENCH_BIN", f"{HERE}/.build/release/ipc-bench")


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """CPU time of every live thread of `pid` in nanoseconds' precision (/proc/PID/task/TID/schedstat, first field).
    /proc/PID/stat counts in clock ticks (10 ms): one tick is ~12 % of Mosquitto's CPU in a saturated round."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread ended meanwhile
    return total / 1e9


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_for_file(path, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def read_json(path, timeout):
    if not wait_for_file(path, timeout):
        raise RuntimeError(f"no result at {path} after {timeout}s")
    with open(path) as f:
        return json.load(f)


def summarize(samples, count):
    """samples: [index, send ns, receive ns]."""
    if not samples:
        return {"received": 0, "expected": count}
    latencies = sorted((receive - send) / 1e6 for _, send, receive in samples)
    first_send = min(send for _, send, _ in samples)
    last_receive = max(receive for _, _, receive in samples)
    return {
        "received": len(samples),
        "expected": count,
        "msgs_per_s": round(len(samples) / ((last_receive - first_send) / 1e9), 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 3),
    }


def paho_publish(port, topic, count, qos, window, rate):
    """paho-mqtt publisher in this process, same window and pacing as the component publishers."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"paho-{topic}")
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(1.0)
    pending = []
    start = time.perf_counter()
    for index in range(count):
        if rate > 0:
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        pending.append(client.publish(topic, json.dumps({"i": index, "t": time.time_ns()}), qos=qos))
        if len(pending) >= window:
            pending.pop(0).wait_for_publish(30)
    for info in pending:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


class Bench:
    def __init__(self, work, port, cli, broker_pid):
        self.work, self.port, self.cli_binary = work, port, cli
        self.broker_pid = broker_pid
        self.sequence = 0
        self.nucleus = None
        self.root = None
        self.deployed = []  # root components of the current nucleus that a next run replaces
        self.perf_output = None  # perf.data path: profile the first saturated QoS 0 Swift-IPC run

    def next_name(self, label):
        self.sequence += 1
        return f"{label}-{self.sequence}"

    # Nucleus ------------------------------------------------------------------------------------------------
    def start_nucleus(self, binaries, name, broker_port=None, extra_mqtt="", root=None):
        """extra_mqtt: more lines under `mqtt:`, each indented 8 spaces; root: reuse an existing root."""
        self.root = root or f"{self.work}/root-{name}"
        with open(f"{self.work}/config.yaml", "w") as conf:
            conf.write("system:\n  thingName: bench\nservices:\n  aws.greengrass.Nucleus:\n    configuration:\n"
                       f"      iotDataEndpoint: 127.0.0.1\n      mqtt:\n        port: {broker_port or self.port}\n"
                       "        maxInFlightPublishes: 100\n" + extra_mqtt)
        self.nucleus = subprocess.Popen(
            [f"{binaries}/greengrass-nucleus", "--root", self.root, "--config", f"{self.work}/config.yaml"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_file(f"{self.root}/ipc.socket", 20):
            raise RuntimeError("nucleus did not create its IPC socket")
        self.deployed = []
        time.sleep(1.0)

    def stop_nucleus(self):
        if self.nucleus is None:
            return
        self.nucleus.send_signal(signal.SIGTERM)
        try:
            self.nucleus.wait(60)
        except subprocess.TimeoutExpired:
            self.nucleus.kill()
            self.nucleus.wait()
        self.nucleus = None

    def deploy(self, components, keep_previous=False):
        """components: {name: Run command}; replaces the previous run's components unless keep_previous."""
        recipes = tempfile.mkdtemp(dir=self.work, prefix="recipes")
        os.makedirs(f"{self.work}/artifacts", exist_ok=True)
        arguments = []
        for name, run in components.items():
            with open(f"{recipes}/{name}.yaml", "w") as recipe:
                recipe.write(f"""RecipeFormatVersion: "2020-01-25"
ComponentName: {name}
ComponentVersion: "1.0.0"
ComponentConfiguration:
  DefaultConfiguration:
    accessControl:
      aws.greengrass.ipc.mqttproxy:
        {name}:bench:
          operations: ["aws.greengrass#PublishToIoTCore", "aws.greengrass#SubscribeToIoTCore"]
          resources: ["*"]
Manifests:
  - Lifecycle:
      Run: {run}
""")
            arguments += ["--merge", f"{name}=1.0.0"]
        if not keep_previous:
            for old in self.deployed:
                arguments += ["--remove", old]
            self.deployed = []
        self.deployed += list(components)
        subprocess.run([self.cli_binary, "--root", self.root, "deployment", "create", "--recipeDir", recipes,
                        "--artifactDir", f"{self.work}/artifacts", *arguments], check=True, capture_output=True, text=True)

    # Collectors ---------------------------------------------------------------------------------------------
    def start_collector(self, topic, count):
        name = self.next_name("collect")
        ready, result = f"{self.work}/{name}.ready", f"{self.work}/{name}.json"
        pid = self.nucleus.pid if self.nucleus else 0
        process = subprocess.Popen([BENCH, "collect", str(self.port), topic, str(count), str(pid), ready, result])
        if not wait_for_file(ready, 30):
            raise RuntimeError("collector did not subscribe")
        return process, result

    @staticmethod
    def finish_collector(collector, count, timeout=600):
        process, result = collector
        process.wait(timeout)
        data = read_json(result, 5)
        summary = summarize(data["samples"], count)
        if data["cpu_first"] >= 0 and data["cpu_last"] >= 0 and summary["received"] > 1:
            summary["nucleus_cpu_us_per_msg"] = round(
                (data["cpu_last"] - data["cpu_first"]) / TICKS / (summary["received"] - 1) * 1e6, 1)
        return summary

    # Runs ---------------------------------------------------------------------------------------------------
    def publish_run(self, path, qos, count, window, rate):
        """path: paho | swift-direct (baselines) | sdk | swift-ipc (components through the nucleus)."""
        name = self.next_name(f"bench.{path}")
        topic = f"bench/{name}"
        collector = self.start_collector(topic, count)
        broker_before = cpu_seconds(self.broker_pid)
        result = f"{self.work}/{name}.pub.json"
        if path == "paho":
            paho_publish(self.port, topic, count, qos, window, rate)
        elif path == "swift-direct":
            subprocess.run([BENCH, "publish-direct", str(self.port), topic, str(count), str(qos), str(window), str(rate), result],
                           check=True, timeout=600)
        elif path == "sdk":
            self.deploy({name: f"python3 -u {HERE}/ipc_publisher_component.py {topic} {count} {qos} {window} {rate} {result}"})
            read_json(result, 600)
        elif path == "swift-ipc":
            profiler = None
            if self.perf_output and rate == 0 and qos == 0:
                # Sampled from deployment to the last message: start-up shows up, but is small next to 20k messages.
                profiler = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(self.nucleus.pid), "-o",
                                             self.perf_output], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.deploy({name: f"{BENCH} publish-ipc {topic} {count} {qos} {window} {rate} {result}"})
            read_json(result, 600)
            if profiler:
                collector[0].wait(600)
                profiler.send_signal(signal.SIGINT)
                profiler.wait(60)
                self.perf_output = None
        summary = self.finish_collector(collector, count)
        if summary["received"]:
            # The same run's broker work per message (in from the publisher or nucleus, out to the collector),
            # measured from the collector's subscription to its last message: the yardstick for the nucleus's.
            summary["broker_cpu_us_per_msg"] = round(
                (cpu_seconds(self.broker_pid) - broker_before) / summary["received"] * 1e6, 1)
        if os.path.exists(result):
            published = read_json(result, 1)
            summary["publisher_msgs_per_s"] = round(published["count"] / published["seconds"], 1)
        log(f"{path} qos{qos} rate {rate}: {summary}")
        return summary

    def delivery_run(self, path, count, rate):
        """paho publishes paced QoS 0; path: paho-sub | swift-direct (baselines) | sdk | swift-ipc receive it."""
        name = self.next_name(f"bench.sub-{path}")
        topic = f"bench/{name}"
        ready, result = f"{self.work}/{name}.ready", f"{self.work}/{name}.sub.json"
        process = None
        if path == "paho-sub":
            process = subprocess.Popen([sys.executable, f"{HERE}/paho_subscriber.py", str(self.port), topic, str(count), ready, result])
            wait_for_file(ready, 30)
        elif path == "swift-direct":
            process, result = self.start_collector(topic, count)
        elif path == "sdk":
            self.deploy({name: f"python3 -u {HERE}/ipc_subscriber_component.py {topic} {count} {ready} {result}"})
            wait_for_file(ready, 120)
        elif path == "swift-ipc":
            self.deploy({name: f"{BENCH} subscribe-ipc {topic} {count} {ready} {result}"})
            wait_for_file(ready, 120)
        time.sleep(0.5)
        cpu_before = cpu_seconds(self.nucleus.pid) if self.nucleus and path in ("sdk", "swift-ipc") else None
        paho_publish(self.port, topic, count, 0, 50, rate)
        data = read_json(result, 120)
        summary = summarize(data["samples"], count)
        if cpu_before is not None and summary["received"]:
            summary["nucleus_cpu_us_per_msg"] = round((cpu_seconds(self.nucleus.pid) - cpu_before) / summary["received"] * 1e6, 1)
        if process is not None:
            process.wait(60)
        log(f"delivery {path}: {summary}")
        return summary

    def memory_run(self, components, streams, sustained):
        idle = rss_kb(self.nucleus.pid)
        log(f"memory: idle RSS {idle} kB; deploying {components} components × {streams} streams")
        holders = {f"bench.hold{k}": f"{BENCH} hold mem/{k} {streams} {self.work}/hold{k}.ready" for k in range(components)}
        started = time.time()
        self.deploy(holders)
        for k in range(components):
            if not wait_for_file(f"{self.work}/hold{k}.ready", 600):
                raise RuntimeError(f"holder {k} did not open its streams")
        opened = time.time() - started
        time.sleep(2.0)
        with_streams = rss_kb(self.nucleus.pid)
        log(f"memory: {components}×{streams} streams open after {opened:.1f}s, RSS {with_streams} kB")
        name = self.next_name("bench.sustained")
        topic, result = f"bench/{name}", f"{self.work}/{name}.pub.json"
        self.deploy({name: f"{BENCH} publish-ipc {topic} {sustained} 0 50 0 {result}"}, keep_previous=True)
        samples = []
        started = time.time()
        while not os.path.exists(result) and time.time() - started < 900:
            samples.append([round(time.time() - started, 1), rss_kb(self.nucleus.pid)])
            time.sleep(1.0)
        published = read_json(result, 5)
        time.sleep(2.0)
        after = rss_kb(self.nucleus.pid)
        return {
            "components": components, "streams_per_component": streams,
            "rss_idle_kb": idle, "rss_with_streams_kb": with_streams, "seconds_to_open_all": round(opened, 1),
            "sustained_messages": sustained, "sustained_publisher_msgs_per_s": round(published["count"] / published["seconds"], 1),
            "rss_samples_s_kb": samples, "rss_after_sustained_kb": after,
        }


def median_of(runs):
    """Per run key, the median of every numeric figure over the rounds."""
    merged = {}
    for key in runs[0] if runs else []:
        values = [run[key] for run in runs if key in run]
        if isinstance(values[0], dict):
            merged[key] = {field: round(statistics.median([v[field] for v in values if field in v]), 3)
                           for field in values[0] if isinstance(values[0][field], (int, float))}
        else:
            merged[key] = statistics.median(values)
    return merged


def forwarding_targets(direct, via):
    """Issue 15's forwarding targets from one run's medians: nucleus CPU per forwarded QoS 0 message against the
    broker's CPU per message in the same run (target ≤ 2), and the Swift IPC client's saturated QoS 0 rate
    through the nucleus against our MQTTClient's direct rate (target ≥ 0.6)."""
    targets = {}
    ipc = via.get("swift-ipc qos0 saturated", {})
    if ipc.get("nucleus_cpu_us_per_msg") and ipc.get("broker_cpu_us_per_msg"):
        targets["nucleus_cpu_over_broker_cpu"] = round(ipc["nucleus_cpu_us_per_msg"] / ipc["broker_cpu_us_per_msg"], 2)
    swift_direct = direct.get("swift-direct qos0 saturated", {})
    if ipc.get("msgs_per_s") and swift_direct.get("msgs_per_s"):
        targets["ipc_rate_over_direct_rate"] = round(ipc["msgs_per_s"] / swift_direct["msgs_per_s"], 2)
    return targets


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", default=[], help="NAME=DIR with a greengrass-nucleus binary")
    parser.add_argument("--cli", help="greengrass-cli binary (default: from the last variant's directory)")
    parser.add_argument("--count", type=int, default=20000, help="messages per saturated run")
    parser.add_argument("--paced-count", type=int, default=2500, help="messages per paced run")
    parser.add_argument("--rate", type=float, default=500, help="paced runs: messages per second")
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--memory", action="store_true", help="100 components × 100 streams on the last variant")
    parser.add_argument("--components", type=int, default=100)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--sustained", type=int, default=200000, help="messages of the sustained run during --memory")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repetitions; medians are reported")
    parser.add_argument("--only", help="comma-separated subset: saturated,paced,delivery")
    parser.add_argument("--perf", help="perf record the nucleus during the first saturated QoS 0 Swift-IPC run into this file")
    parser.add_argument("--no-direct", action="store_true", help="skip the direct baselines (profiling runs)")
    arguments = parser.parse_args()
    variants = [v.split("=", 1) for v in arguments.variant] or [["current", os.environ.get("GG_BIN_DIR", f"{REPO}/.build-bench/release")]]
    variants = [(name, os.path.abspath(path)) for name, path in variants]
    cli = arguments.cli or f"{variants[-1][1]}/greengrass-cli"
    parts = set((arguments.only or "saturated,paced,delivery").split(","))

    work = tempfile.mkdtemp(prefix="ggbi")
    port = free_port()
    with open(f"{work}/mosquitto.conf", "w") as conf:
        conf.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", f"{work}/mosquitto.conf"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    bench = Bench(work, port, cli, broker.pid)
    bench.perf_output = arguments.perf and os.path.abspath(arguments.perf)
    results = {"count": arguments.count, "paced_count": arguments.paced_count, "rate": arguments.rate,
               "window": arguments.window, "rounds": arguments.rounds,
               "mosquitto": subprocess.run(["/usr/sbin/mosquitto", "-h"], capture_output=True, text=True).stdout.split("\n")[0]}
    count, paced, rate, window = arguments.count, arguments.paced_count, arguments.rate, arguments.window
    rounds = {"direct": [], **{name: [] for name, _ in variants}}
    try:
        # Rounds interleave the baselines and every variant, so a load change on the shared machine hits all of
        # them alike; the medians over rounds are what BENCHMARKS.md reports.
        for round_index in range(arguments.rounds):
            log(f"round {round_index + 1}/{arguments.rounds}")
            direct = {}
            for qos in (() if arguments.no_direct else (0, 1)):
                for path in ("paho", "swift-direct"):
                    if "saturated" in parts:
                        direct[f"{path} qos{qos} saturated"] = bench.publish_run(path, qos, count, window, 0)
                    if "paced" in parts:
                        direct[f"{path} qos{qos} paced"] = bench.publish_run(path, qos, paced, window, rate)
            if "delivery" in parts and not arguments.no_direct:
                for path in ("paho-sub", "swift-direct"):
                    direct[f"delivery {path}"] = bench.delivery_run(path, paced, rate)
            rounds["direct"].append(direct)
            for name, binaries in variants:
                log(f"variant {name}: {binaries}")
                bench.start_nucleus(binaries, f"{name}-{round_index}")
                via = {"rss_start_kb": rss_kb(bench.nucleus.pid)}
                for qos in (0, 1):
                    for path in ("sdk", "swift-ipc"):
                        if "saturated" in parts:
                            via[f"{path} qos{qos} saturated"] = bench.publish_run(path, qos, count, window, 0)
                        if "paced" in parts:
                            via[f"{path} qos{qos} paced"] = bench.publish_run(path, qos, paced, window, rate)
                if "delivery" in parts:
                    for path in ("sdk", "swift-ipc"):
                        via[f"delivery {path}"] = bench.delivery_run(path, paced, rate)
                via["rss_end_kb"] = rss_kb(bench.nucleus.pid)
                bench.stop_nucleus()
                rounds[name].append(via)
        results["rounds_detail"] = rounds
        results["median"] = {name: median_of(runs) for name, runs in rounds.items()}
        results["targets"] = {name: forwarding_targets(results["median"]["direct"], results["median"][name]) for name, _ in variants}
        if arguments.memory:
            name, binaries = variants[-1]
            bench.start_nucleus(binaries, name + "-memory")
            results["memory"] = {"variant": name, **bench.memory_run(arguments.components, arguments.streams, arguments.sustained)}
            bench.stop_nucleus()
    finally:
        bench.stop_nucleus()
        broker.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
