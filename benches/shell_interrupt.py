#!/usr/bin/env python3
"""Time from Ctrl-C to the shell's 'interrupted' message, for a query that would run
for minutes (a 10^10-row cartesian product), through a pseudo-terminal.

    python3 benches/shell_interrupt.py [--sprig target/release/sprig] [--runs 5]
"""
import argparse, os, pty, select, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sprig", default=os.path.join(ROOT, "target", "release", "sprig"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.environ["SPRIG_HISTORY"] = os.path.join(tmp, "history")
        os.execv(args.sprig, ["sprig", "--db", os.path.join(tmp, "db")])

    def read_until(needle, limit=30):
        out, end = b"", time.time() + limit
        while time.time() < end and needle not in out:
            if select.select([fd], [], [], 0.001)[0]:
                out += os.read(fd, 65536)
        return out

    read_until(b"default]> ")
    times = []
    for _ in range(args.runs):
        os.write(fd, b"UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN count(*);\r")
        time.sleep(0.4)
        start = time.perf_counter()
        os.write(fd, b"\x03")
        read_until(b"interrupted")
        times.append((time.perf_counter() - start) * 1000)
        read_until(b"default]> ")
    os.write(fd, b"\x04")
    print("Ctrl-C to 'interrupted' (ms):", ", ".join(f"{t:.1f}" for t in times), f"(max {max(times):.1f})")


if __name__ == "__main__":
    main()
