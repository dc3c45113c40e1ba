/// The paho-mqtt side of the comparison: a subscriber and a publisher doing the same work as ours.
enum PahoScripts {
    static let subscriber = #"""
    import json, struct, sys, time
    import paho.mqtt.client as mqtt
    port, qos, n, version = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-sub", protocol=protocol)
    state = {"count": 0, "first": 0, "last": 0, "lat": []}
    def on_message(client, userdata, m):
        now = time.monotonic_ns()
        if state["count"] == 0: state["first"] = now
        state["count"] += 1
        state["last"] = now
        state["lat"].append(now - struct.unpack(">Q", m.payload[:8])[0])
    subscribed = []
    c.on_message = on_message
    c.on_subscribe = lambda *a: subscribed.append(1)
    c.connect("127.0.0.1", port, keepalive=60)
    c.subscribe("bench/paho", qos=qos)
    deadline = time.time() + 10
    while not subscribed and time.time() < deadline: c.loop(0.01)
    print("ready", flush=True)
    deadline = time.time() + 300
    while state["count"] < n and time.time() < deadline: c.loop(0.05)
    lat = sorted(state["lat"])
    pick = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] if lat else 0
    print(json.dumps({"count": state["count"], "first": state["first"], "last": state["last"], "p50": pick(0.5), "p99": pick(0.99)}), flush=True)
    c.disconnect()
    """#

    static let publisher = #"""
    import json, struct, sys, time, threading
    import paho.mqtt.client as mqtt
    port, qos, n, size, rate, version = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
    protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-pub", protocol=protocol)
    c.max_inflight_messages_set(100)
    done = threading.Event()
    acked = [0]
    def on_publish(client, userdata, mid, rc, props):
        acked[0] += 1
        if acked[0] >= n: done.set()
    c.on_publish = on_publish
    c.connect("127.0.0.1", port, keepalive=60)
    c.loop_start()
    pad = b"x" * max(0, size - 8)
    start = time.monotonic_ns()
    for i in range(n):
        c.publish("bench/paho", struct.pack(">Q", time.monotonic_ns()) + pad, qos=qos)
        if rate > 0: time.sleep(1.0 / rate)
    done.wait(300)
    print(json.dumps({"start": start, "end": time.monotonic_ns()}), flush=True)
    c.loop_stop()
    c.disconnect()
    """#
}
