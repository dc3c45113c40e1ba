"""The same request/response work as the Swift round-trip benchmark, done by the real Python SDK client
(awsiotsdk). Prints ops/s, p50/p99 latency and the client's own CPU time (all threads, incl. awscrt)."""
import json, resource, sys, time
from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
from awsiot.greengrasscoreipc import model
import awsiot.greengrasscoreipc

socket_path, count = sys.argv[1], int(sys.argv[2])
ipc = GreengrassCoreIPCClientV2(client=awsiot.greengrasscoreipc.connect(ipc_socket=socket_path, authtoken="BENCHTOKEN"))
message = model.PublishMessage(json_message=model.JsonMessage(message={"n": 1}))
for _ in range(200):  # warm-up
    ipc.publish_to_topic(topic="bench/topic", publish_message=message)
usage0 = resource.getrusage(resource.RUSAGE_SELF)
latencies = []
start = time.perf_counter()
for _ in range(count):
    t0 = time.perf_counter()
    ipc.publish_to_topic(topic="bench/topic", publish_message=message)
    latencies.append(time.perf_counter() - t0)
elapsed = time.perf_counter() - start
usage1 = resource.getrusage(resource.RUSAGE_SELF)
ipc.close()
latencies.sort()
cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
print(json.dumps({"requests": count, "ops_per_s": count / elapsed,
                  "p50_us": latencies[len(latencies) // 2] * 1e6,
                  "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
                  "client_cpu_s": cpu}))
