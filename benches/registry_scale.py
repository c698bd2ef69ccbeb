#!/usr/bin/env python3
"""How the registry's one write path scales: an import of N generated models into a
fresh database, then one Cypher write on graph `registry` (which re-checks the whole
registry and rebuilds collection `registry` in the same commit), then an XPath and a
Cypher query over the result.

    python3 benches/registry_scale.py [--sprig target/release/sprig] [--sizes 100,1000,5000]
"""
import argparse, json, os, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def records(n):
    models = [{"name": "base", "family": "ResNet"}]
    for i in range(n):
        models.append({
            "name": f"m{i}", "sparsity": (i % 100) / 100,
            "derived_from": [{"model": "base" if i < 10 else f"m{i // 10}", "relation": "pruned"}],
            "pruned_with": [{"method": "magnitude", "ratio": (i % 100) / 100}],
            "evaluated_on": [{"dataset": "ImageNet", "metric": "top-1 accuracy (%)", "delta": -(i % 50) / 10}],
            "deployed_on": [{"hardware": "FPGA", "speedup": 1 + (i % 30) / 10}],
        })
    return {"methods": [{"name": "magnitude", "kind": "unstructured"}],
            "datasets": [{"name": "ImageNet", "domain": "vision"}],
            "hardware": [{"name": "FPGA", "kind": "FPGA"}], "models": models}


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sprig", default=os.path.join(ROOT, "target", "release", "sprig"))
    ap.add_argument("--sizes", default="100,1000,5000")
    args = ap.parse_args()
    print("| models | import (s) | one Cypher write (s) | XPath count (ms) | Cypher query (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            db, path = os.path.join(tmp, "db"), os.path.join(tmp, "records.json")
            with open(path, "w") as f:
                json.dump(records(n), f)
            base = [args.sprig, "--db", db, "--format", "json"]
            t_import, _ = timed(base + ["registry", "import", path])
            t_write, _ = timed(base + ["cypher", "USE registry MATCH (m:Model {name: 'm1'}) SET m.size_mb = 1.5"])
            _, x = timed(base + ["profile", "xpath", "--collection", "registry", "count(//model[pruning/@ratio > 0.5])", "--runs", "5"])
            _, c = timed(base + ["profile", "cypher", "USE registry MATCH (m:Model)-[:PRUNED_WITH]->(x:Method) "
                                 "WHERE m.sparsity > 0.5 RETURN x.name, count(m)", "--runs", "5"])
            print(f"| {n} | {t_import:.2f} | {t_write:.2f} | {json.loads(x)['elapsed_ms']:.2f} | "
                  f"{json.loads(c)['elapsed_ms']:.2f} |")


if __name__ == "__main__":
    main()
