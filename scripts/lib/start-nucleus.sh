# Sourced by the benchmark scripts.
# start_nucleus BINARY ROOT [ARGS...]: starts the nucleus from Python, which is already polling when the process is
# spawned, so interpreter start-up is not counted; prints "<ms to socket accepting> <pid>". The nucleus keeps
# running (its output goes to <root>.out). Fails after 30 s without an accepting socket. GG_NUCLEUS_WRAPPER (words)
# runs the nucleus under a tool, e.g. valgrind, and waits 300 s instead.
start_nucleus() {
    python3 - "$@" <<'PY'
import os, socket, subprocess, sys, time
binary, root, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(root, exist_ok=True)
path = root + "/ipc.socket"
output = open(root + ".out", "w")
start = time.monotonic_ns()
wrapper = os.environ.get("GG_NUCLEUS_WRAPPER", "").split()
process = subprocess.Popen(wrapper + [binary, "--root", root] + extra, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
deadline = time.monotonic() + (300 if wrapper else 30)
while time.monotonic() < deadline:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path); s.close()
        print((time.monotonic_ns() - start) / 1e6, process.pid); sys.exit(0)
    except OSError:
        time.sleep(0.0005)
sys.exit(1)
PY
}
