"""Issue 13: the disk spool (`storageType: Disk`) against the memory spool and against publishing directly.

    cd Benchmarks/IPC && swift build -c release && cd ../..
    swift build -c release --scratch-path .build-bench --product greengrass-nucleus
    swift build -c release --scratch-path .build-bench --product greengrass-cli
    python3 Benchmarks/IPC/bench_spool.py --bin .build-bench/release [--count 20000] [--window 50]

Runs, each on a fresh nucleus root, one Mosquitto on a free loopback port for the whole run:
  accept   — the Swift IPC client component (`ipc-bench publish-ipc`, window --window) publishes --count QoS 1
             messages while the broker is unreachable: messages per second accepted into the Memory spool and into
             the Disk spool (the component is answered once the message is durable); then our MQTTClient publishing
             the same QoS 1 messages directly to Mosquitto (`ipc-bench publish-direct`, awaiting each PUBACK).
  drain    — the Disk spool's backlog from the accept run, after the nucleus restarts pointed at Mosquitto: messages
             per second from the first to the last received by an outside collector (our MQTTClient).
  startup  — time from exec to the IPC socket accepting a connection and to a deployed component's Run process
             running (it writes a marker file as it starts), with the Disk spool empty and with 100,000 messages
             spooled (broker down), alternating, best and median of --startups starts each.
  memory   — nucleus RSS (KiB) with the Disk spool empty, full at 2.5 MiB and full at 100 MiB (filled through the
             spool file while the nucleus is stopped, 8 KiB payloads), after start-up with the broker unreachable, and
             the peak while the 100 MiB backlog drains.
Prints one JSON document.
"""
import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ipc import BENCH, Bench, free_port, log, read_json, rss_kb, wait_for_file  # noqa: E402


class SpoolBench(Bench):
    def __init__(self, work, port, cli, broker_pid, binaries):
        super().__init__(work, port, cli, broker_pid)
        self.binaries = binaries

    def start_spool_nucleus(self, name, storage, broker_port, max_bytes, root=None):
        self.start_nucleus(
            self.binaries, name, broker_port=broker_port, root=root,
            extra_mqtt="        minimumReconnectDelaySeconds: 0.2\n        maximumReconnectDelaySeconds: 1\n"
                       f"        spooler:\n          storageType: {storage}\n          maxSizeInBytes: {max_bytes}\n")

    def accept_run(self, storage, count, window, max_bytes):
        nobody = free_port()
        self.start_spool_nucleus(f"accept-{storage}", storage, nobody, max_bytes)
        name = self.next_name(f"bench.spool-{storage}")
        result = f"{self.work}/{name}.pub.json"
        self.deploy({name: f"{BENCH} publish-ipc spool/{storage} {count} 1 {window} 0 {result}"})
        published = read_json(result, 900)
        rate = round(published["count"] / published["seconds"], 1)
        log(f"accept {storage}: {rate} msg/s")
        root = self.root
        self.stop_nucleus()
        return rate, root

    def drain_run(self, root, count):
        collector = self.start_collector("spool/Disk", count)
        started = time.time_ns()
        self.start_spool_nucleus("drain", "Disk", self.port, 100 * 1024 * 1024, root=root)
        process, result = collector
        process.wait(900)
        data = read_json(result, 5)
        samples = data["samples"]
        self.stop_nucleus()
        if not samples:
            return {"received": 0}
        first, last = min(s[2] for s in samples), max(s[2] for s in samples)
        return {
            "received": len(samples), "distinct": len({s[0] for s in samples}), "expected": count,
            "msgs_per_s": round(len(samples) / max(1e-9, (last - first) / 1e9), 1),
            "seconds_from_start_to_last": round((last - started) / 1e9, 2),
        }

    def fill_spool(self, root, total_bytes=0, payload_bytes=8192, rows=None):
        """Fills a stopped nucleus's spool file to `total_bytes` of charge (payload + topic + 64 per message), or
        with `rows` messages."""
        path = f"{root}/work/aws.greengrass.DiskSpooler/spooler.db"
        topic = "spool/fill"
        charge = payload_bytes + len(topic) + 64
        rows = total_bytes // charge if rows is None else rows
        db = sqlite3.connect(path)
        now = int(time.time() * 1000)

        def payload(index):
            # Stamped as ipc-bench's publishers stamp theirs, so the collector counts them; padded to size.
            stamp = f'{{"i":{index},"t":{time.time_ns()},"pad":"'.encode()
            return stamp + b"x" * (payload_bytes - len(stamp) - 2) + b'"}'

        with db:
            db.executemany("INSERT INTO spooler (topic, qos, retain, payload, properties, spooled_at, charge) VALUES (?, 1, 0, ?, ?, ?, ?)",
                           ((topic, payload(index), b"\x00", now, charge) for index in range(rows)))
        db.close()
        return rows

    def startup_run(self, starts, spooled=100_000):
        """Exec → IPC socket accepting, and exec → the deployed component running, empty spool vs `spooled`."""
        roots = {}
        for label in ("empty", "spooled"):
            self.start_spool_nucleus(f"startup-{label}", "Disk", free_port(), 100 * 1024 * 1024)
            marker = f"{self.work}/startup-{label}.started"
            # Restored at each start; it marks the moment its Run process runs.
            self.deploy({f"bench.startup-{label}": f"sh -c 'touch {marker}; exec sleep 100000'"})
            if not wait_for_file(marker, 120):
                raise RuntimeError("the start-up component did not run")
            roots[label] = (self.root, marker)
            self.stop_nucleus()
        self.fill_spool(roots["spooled"][0], payload_bytes=100, rows=spooled)
        times = {label: {"socket_ms": [], "component_ms": []} for label in roots}
        for _ in range(starts):
            for label, (root, marker) in roots.items():
                os.unlink(marker)
                socket_path = f"{root}/ipc.socket"
                if os.path.exists(socket_path):
                    os.unlink(socket_path)
                started = time.perf_counter()
                self.nucleus = subprocess.Popen(
                    [f"{self.binaries}/greengrass-nucleus", "--root", root, "--config", f"{self.work}/config.yaml"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                accepting = None
                deadline = started + 60
                while time.perf_counter() < deadline:
                    now = time.perf_counter()
                    if accepting is None:
                        with socket.socket(socket.AF_UNIX) as probe:
                            try:
                                probe.connect(socket_path)
                                accepting = now
                            except OSError:
                                pass
                    if os.path.exists(marker):
                        break
                    time.sleep(0.001)
                running = time.perf_counter()
                if accepting is None or not os.path.exists(marker):
                    raise RuntimeError(f"start-up {label}: socket or component not ready in 60 s")
                times[label]["socket_ms"].append(round((accepting - started) * 1000, 1))
                times[label]["component_ms"].append(round((running - started) * 1000, 1))
                self.stop_nucleus()
        figures = {"spooled_messages": spooled}
        for label, measured in times.items():
            for key, values in measured.items():
                figures[f"{label}_{key}"] = {"best": min(values), "median": round(statistics.median(values), 1), "all": values}
        log(f"startup: {figures}")
        return figures

    def memory_run(self):
        sizes = {"empty": 0, "full_2.5MiB": 2_621_440, "full_100MiB": 100 * 1024 * 1024}
        figures = {}
        for label, size in sizes.items():
            name = f"rss-{label}"
            capacity = max(size, 2_621_440)
            self.start_spool_nucleus(name, "Disk", free_port(), capacity)
            root = self.root
            self.stop_nucleus()
            rows = self.fill_spool(root, size) if size else 0
            self.start_spool_nucleus(name, "Disk", free_port(), capacity, root=root)
            time.sleep(3)
            figures[label] = {"messages": rows, "rss_kb": rss_kb(self.nucleus.pid)}
            self.stop_nucleus()
            if label == "full_100MiB":
                collector = self.start_collector("spool/fill", rows)
                # Sampled from a thread: the backlog can drain before start_spool_nucleus returns.
                peak = [0]
                sampling = threading.Event()

                def sample():
                    while not sampling.is_set():
                        if self.nucleus is not None:
                            try:
                                peak[0] = max(peak[0], rss_kb(self.nucleus.pid))
                            except (FileNotFoundError, ProcessLookupError):
                                pass
                        time.sleep(0.01)

                sampler = threading.Thread(target=sample)
                sampler.start()
                self.start_spool_nucleus(name, "Disk", self.port, capacity, root=root)
                drained = self.finish_collector(collector, rows)
                sampling.set()
                sampler.join()
                figures[label]["peak_rss_kb_while_draining"] = peak[0]
                figures[label]["drain"] = drained
                self.stop_nucleus()
            log(f"memory {label}: {figures[label]}")
        return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="directory with greengrass-nucleus and greengrass-cli (release)")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--startups", type=int, default=5, help="starts of each kind in the startup run")
    parser.add_argument("--only", help="comma-separated subset: accept,drain,startup,memory")
    options = parser.parse_args()
    only = set(options.only.split(",")) if options.only else {"accept", "drain", "startup", "memory"}
    work = tempfile.mkdtemp(prefix="spool-bench-")
    port = free_port()
    broker_conf = f"{work}/mosquitto.conf"
    with open(broker_conf, "w") as conf:
        conf.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", broker_conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"count": options.count, "window": options.window}
    bench = None
    try:
        # Inside the try, so a failure here still stops the broker below.
        bench = SpoolBench(work, port, f"{options.bin}/greengrass-cli", broker.pid, options.bin)
        time.sleep(0.5)
        if "accept" in only or "drain" in only:
            results["memory_spool_accept_msgs_per_s"], _ = bench.accept_run("Memory", options.count, options.window, 100 * 1024 * 1024)
            results["disk_spool_accept_msgs_per_s"], disk_root = bench.accept_run("Disk", options.count, options.window, 100 * 1024 * 1024)
            results["disk_vs_memory"] = round(results["disk_spool_accept_msgs_per_s"] / results["memory_spool_accept_msgs_per_s"], 3)
            direct = f"{work}/direct.json"
            subprocess.run([BENCH, "publish-direct", str(port), "spool/direct", str(options.count), "1", str(options.window), "0", direct],
                           check=True, timeout=900)
            published = read_json(direct, 5)
            results["mqttclient_direct_qos1_msgs_per_s"] = round(published["count"] / published["seconds"], 1)
            if "drain" in only:
                results["disk_spool_drain"] = bench.drain_run(disk_root, options.count)
        if "startup" in only:
            results["startup"] = bench.startup_run(options.startups)
        if "memory" in only:
            results["memory"] = bench.memory_run()
    finally:
        if bench is not None:
            bench.stop_nucleus()
        broker.send_signal(signal.SIGTERM)
        broker.wait(10)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
