#!/usr/bin/env python3
"""Neo4j's official drivers against `sprig serve --bolt`: the Python driver (PyPI
`neo4j`) and the JavaScript driver (npm `neo4j-driver`), installed here into
target/interop/ at the versions pinned below, each running its checks against
one server with a token. Prints every check and `N passed, N failed`; exits 1 on
any failure.

    python3 tests/interop/run_bolt.py [--sprig target/debug/sprig]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PYTHON_DRIVER = "neo4j==6.4.1"
JS_DRIVER = "neo4j-driver@6.3.0"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = ROOT / "target" / "interop"


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def python_driver():
    venv = WORK / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", PYTHON_DRIVER])
    return python


def js_driver():
    node_dir = WORK / "node"
    node_dir.mkdir(parents=True, exist_ok=True)
    if not (node_dir / "package.json").exists():
        (node_dir / "package.json").write_text('{"name": "sprig-interop", "private": true}\n')
    run(["npm", "install", "--silent", "--no-audit", "--no-fund", JS_DRIVER], cwd=node_dir)
    return node_dir / "node_modules"


def start(sprig, db, token):
    env = dict(os.environ, SPRIG_INTEROP_TOKEN=token)
    server = subprocess.Popen(
        [str(sprig), "--db", str(db), "serve", "--listen", "127.0.0.1:0", "--bolt", "127.0.0.1:0",
         "--token-env", "SPRIG_INTEROP_TOKEN"],
        stderr=subprocess.PIPE, text=True, env=env)
    bolt = None
    for line in server.stderr:
        found = re.match(r"listening on bolt://(\S+)", line)
        if found:
            bolt = found.group(1)
        if line.startswith("listening on http"):
            break
    if bolt is None:
        server.kill()
        raise SystemExit("the server did not say where Bolt listens")
    # Keep reading its log, so that a full pipe never blocks it.
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    return server, bolt


def tally(output):
    passed = len(re.findall(r"^PASS ", output, re.M))
    failed = len(re.findall(r"^FAIL ", output, re.M))
    return passed, failed


def main():
    parser = argparse.ArgumentParser()
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--sprig", default=str(target / "debug" / "sprig"))
    args = parser.parse_args()
    sprig = Path(args.sprig)
    if not sprig.exists():
        run(["cargo", "build", "--locked"], cwd=ROOT)
    WORK.mkdir(parents=True, exist_ok=True)
    python = python_driver()
    node_modules = js_driver() if shutil.which("npm") else None
    token = "interop-token"
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        server, bolt = start(sprig, Path(tmp) / "db", token)
        try:
            suites = [("python", [str(python), str(HERE / "bolt_python.py"), bolt, token], {})]
            if node_modules is not None:
                env = dict(os.environ, NODE_PATH=str(node_modules))
                suites.append(("js", ["node", str(HERE / "bolt_js.mjs"), bolt, token], env))
            else:
                print("FAIL js: npm is not installed")
                failed += 1
            for name, cmd, env in suites:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env or None)
                print(done.stdout, end="")
                if done.returncode != 0 and done.stderr:
                    print(done.stderr, end="")
                p, f = tally(done.stdout)
                if done.returncode != 0 and f == 0:
                    f = 1
                    print(f"FAIL {name}: the driver's script exited {done.returncode}")
                passed, failed = passed + p, failed + f
        finally:
            server.terminate()
            code = server.wait(timeout=60)
            if code != 0:
                print(f"FAIL server: exited {code} on SIGTERM")
                failed += 1
    print(f"bolt interop: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
