#!/usr/bin/env python3
"""Before/after: two sprig binaries on the same data, in the same run.

For a change that must not make sprig slower (a refactor), this runs the graph
workload of ../shared/data/graph and XPath queries on XMark with both binaries,
query by query and alternating which binary goes first, and prints each query's
best in-engine time (`profile --runs N`, the median of N runs, best over the
rounds) under each binary with the ratio new / base. It also checks that both
binaries return the same rows.

usage: compare_builds.py --base /tmp/sprig-base [--new target/release/sprig]
                         [--nodes 100000,1000000] [--xml xmark-f0.1,xmark-f1]
                         [--runs 5] [--rounds 3] [--out FILE]
"""
import argparse, gzip, json, math, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))

sys.path.insert(0, os.path.join(HERE, "peers"))
from run import XMARK_QUERIES  # noqa: E402  (the peer harness's structural queries)

# The peer harness's queries, and value and point queries of the scale issue.
XPATH_QUERIES = XMARK_QUERIES + [
    "count(//item[contains(description, 'gold')]/name)",
    "count(//person[profile/@income > 50000]/name)",
    '/site/people/person[@id="person0"]/name/text()',
    "count(//keyword)",
    "sum(//closed_auction/price)",
]

def sprig(binary, db, *args):
    res = subprocess.run([binary, "--db", db, *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{binary} {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def workload():
    """[(name, text)] from the graph workload."""
    out, name = [], None
    for line in open(os.path.join(SHARED, "graph", "workload.cypher")):
        line = line.rstrip("\n")
        m = re.match(r"// name: (Q\d+)", line)
        if m:
            name = m.group(1)
        elif line.strip() and not line.startswith("//"):
            out.append((name, line.strip()))
    return out


def timed_load(binary, db, args):
    shutil.rmtree(db, ignore_errors=True)
    start = time.perf_counter()
    sprig(binary, db, *args)
    return time.perf_counter() - start


def compare(bins, dbs, label, queries, profile_args, answer_args, runs, rounds):
    """Per query: best time under each binary, and whether the answers agree."""
    rows = []
    for name, q in queries:
        best = {}
        answers = {}
        for r in range(rounds):
            order = ["base", "new"] if r % 2 == 0 else ["new", "base"]
            for which in order:
                out = json.loads(sprig(bins[which], dbs[which], *profile_args(q), "--runs", str(runs), "--format", "json"))
                best[which] = min(best.get(which, math.inf), out["elapsed_ms"])
        for which in ("base", "new"):
            answers[which] = sprig(bins[which], dbs[which], *answer_args(q), "--format", "json")
        same = normalise(answers["base"]) == normalise(answers["new"])
        rows.append((label, name, best["base"], best["new"], same))
        print(f"{label} {name}: base {best['base']:.2f} ms, new {best['new']:.2f} ms, "
              f"ratio {best['new'] / max(best['base'], 1e-6):.2f}{'' if same else '  ANSWERS DIFFER'}", flush=True)
    return rows


def normalise(text):
    """The answer without timings (JSON output carries an elapsed time)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, dict):
        value.pop("elapsed_ms", None)
        value.pop("stats", None)
    return json.dumps(value, sort_keys=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", default=os.path.join(ROOT, "target", "release", "sprig"))
    ap.add_argument("--nodes", default="100000")
    ap.add_argument("--xml", default="xmark-f0.1,xmark-f1")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    bins = {"base": os.path.abspath(args.base), "new": os.path.abspath(args.new)}
    work = tempfile.mkdtemp(prefix="sprig-compare-")
    rows, loads = [], []
    try:
        for n in [int(x) for x in args.nodes.split(",") if x]:
            data = os.path.join(work, f"g{n}")
            subprocess.run([sys.executable, os.path.join(SHARED, "graph", "gen_graph.py"), str(n), "9", "1", data],
                           check=True, capture_output=True)
            dbs = {w: os.path.join(work, f"{w}-g{n}.db") for w in bins}
            load = ["load", "graph", "--nodes", os.path.join(data, "nodes.csv"), "--edges",
                    os.path.join(data, "edges.csv")]
            for w in bins:
                loads.append((f"graph {n}", w, timed_load(bins[w], dbs[w], load)))
            rows += compare(bins, dbs, f"graph-{n}", workload(), lambda q: ["profile", "cypher", q],
                            lambda q: ["cypher", q], args.runs, args.rounds)
            for d in dbs.values():
                shutil.rmtree(d, ignore_errors=True)
            shutil.rmtree(data, ignore_errors=True)
        for name in [x for x in args.xml.split(",") if x]:
            path = os.path.join(work, name + ".xml")
            with gzip.open(os.path.join(SHARED, "xml", name + ".xml.gz"), "rb") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
            dbs = {w: os.path.join(work, f"{w}-{name}.db") for w in bins}
            for w in bins:
                loads.append((name, w, timed_load(bins[w], dbs[w], ["load", "xml", path, "--collection", "doc"])))
            queries = [(q, q) for q in XPATH_QUERIES]
            rows += compare(bins, dbs, name, queries, lambda q: ["profile", "xpath", "--collection", "doc", q],
                            lambda q: ["xpath", "--collection", "doc", q], args.runs, args.rounds)
            for d in dbs.values():
                shutil.rmtree(d, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = ["| workload | query | base ms | new ms | new / base | same answer |", "|---|---|---:|---:|---:|---|"]
    for label, name, b, n, same in rows:
        lines.append(f"| {label} | `{name}` | {b:.2f} | {n:.2f} | {n / max(b, 1e-6):.2f} | {'yes' if same else 'NO'} |")
    lines.append("")
    by_label = {}
    for label, _, b, n, _ in rows:
        by_label.setdefault(label, []).append(n / max(b, 1e-6))
    for label, ratios in by_label.items():
        geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        lines.append(f"- {label}: geometric mean new / base {geo:.3f} over {len(ratios)} queries, "
                     f"min {min(ratios):.2f}, max {max(ratios):.2f}")
    for what, w, secs in loads:
        lines.append(f"- load {what} with {w}: {secs:.2f} s")
    text = "\n".join(lines)
    print(text)
    if args.out:
        open(args.out, "w").write(text + "\n")
    if not all(r[4] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
