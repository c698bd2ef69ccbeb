"""Where the time of Bolt reads goes: Neo4j's Python driver with N threads doing a
point read against `sprig serve --bolt` for S seconds, and the CPU each process
used meanwhile (from /proc), so a figure bounded by the client says so.

    python3 benches/peers/bolt_clients.py [--threads 8] [--seconds 4] [--sprig target/release/sprig]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerenv import ensure_packages  # noqa: E402

ensure_packages(["neo4j"], ["neo4j==6.4.1"])
from neo4j import GraphDatabase  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_seconds(pid):
    """User plus system CPU seconds of a process and its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--sprig", default=os.path.join(ROOT, "target", "release", "sprig"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [args.sprig, "--db", os.path.join(tmp, "db"), "serve", "--listen", "127.0.0.1:0", "--bolt", "127.0.0.1:0"],
            stderr=subprocess.PIPE, text=True)
        bolt = None
        for line in server.stderr:
            found = re.match(r"listening on bolt://(\S+)", line)
            bolt = found.group(1) if found else bolt
            if line.startswith("listening on http"):
                break
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        driver = GraphDatabase.driver(f"bolt://{bolt}", auth=None, max_connection_pool_size=64)
        driver.execute_query("UNWIND range(0, 999) AS i CREATE (:P {id: i})")
        count = [0] * args.threads

        def work(t):
            with driver.session() as s:
                end = time.time() + args.seconds
                while time.time() < end:
                    s.run("MATCH (p:P {id: $id}) RETURN p.id", id=(t * 7919 + count[t]) % 1000).consume()
                    count[t] += 1

        threads = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
        server_before, client_before, started = cpu_seconds(server.pid), cpu_seconds(os.getpid()), time.time()
        [t.start() for t in threads]
        [t.join() for t in threads]
        wall = time.time() - started
        server_cpu = cpu_seconds(server.pid) - server_before
        client_cpu = cpu_seconds(os.getpid()) - client_before
        driver.close()
        server.terminate()
        server.wait()
    reads = sum(count)
    print(f"{args.threads} threads, {wall:.1f} s: {reads / wall:.0f} reads/s; "
          f"CPU per read: sprig {server_cpu / reads * 1e3:.3f} ms, the Python client {client_cpu / reads * 1e3:.3f} ms; "
          f"busy: sprig {server_cpu / wall:.0%}, client {client_cpu / wall:.0%} of one core")


if __name__ == "__main__":
    main()
