"""Where the time of Bolt reads goes: Neo4j's Python driver with N threads doing a
point read against `sprig serve --bolt` for S seconds, and the CPU each process
used meanwhile (from /proc), so a figure bounded by the client says so. Then the
server's CPU for a large result, read whole by a bare Bolt 4.4 connection that only
counts the messages (no driver decoding them).

    python3 benches/peers/bolt_clients.py [--threads 8] [--seconds 4] [--rows 100000] [--sprig target/release/sprig]
"""
import argparse
import os
import re
import socket
import struct
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


def raw_result_cpu(address, pid, rows, runs=10):
    """Server CPU and wall time per result of `rows` rows, PULLed whole (n = -1)."""
    host, port = address.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(bytes([0x60, 0x60, 0xB0, 0x17, 0, 0, 4, 4] + [0] * 12))
    s.recv(4)
    send = lambda msg: s.sendall(struct.pack(">H", len(msg)) + msg + b"\x00\x00")
    buf = bytearray()

    def until(replies):
        """Reads messages until `replies` SUCCESS or FAILURE ones have come."""
        nonlocal buf
        seen = 0
        while True:
            data = s.recv(1 << 20)
            if not data:
                raise SystemExit("the server closed the connection")
            buf += data
            at = 0
            while len(buf) - at >= 2:
                n = struct.unpack_from(">H", buf, at)[0]
                if len(buf) - at < 2 + n:
                    break
                head = bytes(buf[at + 2:at + 4])
                at += 2 + n
                if head in (b"\xb1\x70", b"\xb1\x7f"):
                    seen += 1
                    if seen == replies:
                        del buf[:at]
                        return
            del buf[:at]

    send(bytes([0xB1, 0x01, 0xA0]))  # HELLO {}
    until(1)
    query = f"UNWIND range(1, {rows}) AS i RETURN i".encode()
    run = bytes([0xB3, 0x10, 0xD0, len(query)]) + query + b"\xa0\xa0"
    pull_all = bytes([0xB1, 0x3F, 0xA1, 0x81, ord("n"), 0xFF])
    send(run), send(pull_all), until(2)  # warm
    before, started = cpu_seconds(pid), time.time()
    for _ in range(runs):
        send(run)
        send(pull_all)
        until(2)
    s.close()
    return (cpu_seconds(pid) - before) / runs, (time.time() - started) / runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rows", type=int, default=100_000)
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
        result_cpu, result_wall = raw_result_cpu(bolt, server.pid, args.rows)
        server.terminate()
        server.wait()
    reads = sum(count)
    print(f"{args.threads} threads, {wall:.1f} s: {reads / wall:.0f} reads/s; "
          f"CPU per read: sprig {server_cpu / reads * 1e3:.3f} ms, the Python client {client_cpu / reads * 1e3:.3f} ms; "
          f"busy: sprig {server_cpu / wall:.0%}, client {client_cpu / wall:.0%} of one core")
    print(f"a {args.rows}-row result PULLed whole: sprig CPU {result_cpu * 1e3:.1f} ms, "
          f"wall {result_wall * 1e3:.1f} ms with a client that only counts messages")


if __name__ == "__main__":
    main()
