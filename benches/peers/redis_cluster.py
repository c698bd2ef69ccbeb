#!/usr/bin/env python3
"""sprig on a Redis Cluster against sprig on sled, in one run.

Starts a 9-node cluster on loopback with scripts/redis-cluster.sh (3 masters with 2
replicas each, AOF with fsync on every write, every commit waits for a replica)
and measures, for the same data on both backends:
- load: XMark (sprig load xml) in MB/s, and a graph (sprig load graph) in seconds;
- queries: XPath and Cypher in-engine times from `profile --runs N`: the first run
  of a fresh process (cold: nothing cached in sprig) and the median of the runs (warm);
- commits: small write transactions per second (a script of N single-row CREATEs,
  each its own transaction);
- query processes (cluster only; sled opens in one process): a script of --reads
  statements (point lookups through the property index and two-hop counts, each its
  own statement) run by one sprig process, then split over two processes running
  at once on the same database; statements per second of each, and how many cores
  the sprig processes and the redis servers kept busy meanwhile.

usage: benches/peers/redis_cluster.py [--xml xmark-f0.1] [--nodes 100000] [--runs 5]
                                      [--commits 300] [--reads 4000] [--port 7700]
"""
import argparse, gzip, json, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
SPRIG = os.path.join(ROOT, "target", "release", "sprig")
SCRIPT = os.path.join(ROOT, "scripts", "redis-cluster.sh")

sys.path.insert(0, HERE)
from run import XMARK_QUERIES  # noqa: E402

XPATH = XMARK_QUERIES + [
    "count(//item[contains(description, 'gold')]/name)",
    "/site/people/person[@id='person0']/name/text()",
]
CYPHER = {
    "Q01 point lookup": "MATCH (p:Person {name: 'p4242'}) RETURN p.name, p.age",
    "Q03 two hops": "MATCH (p:Person {name: 'p17'})-[:KNOWS]->(:Person)-[:KNOWS]->(f:Person) RETURN count(DISTINCT f)",
    "Q07 top out-degree": "MATCH (p:Person)-[:KNOWS]->(:Person) RETURN p.name, count(*) AS d ORDER BY d DESC, p.name LIMIT 10",
    "Q27 cities of the young": "MATCH (p:Person)-[:LIVES_IN]->(c:City) WHERE p.age < 20 RETURN DISTINCT c.name ORDER BY c.name",
}


def sprig(db, *args):
    res = subprocess.run([SPRIG, "--db", db, *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"sprig {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def timed(db, *args):
    start = time.perf_counter()
    out = sprig(db, *args)
    return time.perf_counter() - start, out


def profile(db, lang, query, runs, extra=()):
    out = json.loads(sprig(db, "--format", "json", "profile", lang, *extra, query, "--runs", str(runs)))
    return out["first_ms"], out["elapsed_ms"]


def cluster(cmd, port, home):
    env = dict(os.environ, REDIS_CLUSTER_PORT=str(port))
    res = subprocess.run(["bash", SCRIPT, cmd, home], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"redis-cluster.sh {cmd}: {res.stderr.strip()}")
    return res.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xml", default="xmark-f0.1")
    ap.add_argument("--nodes", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--commits", type=int, default=300)
    ap.add_argument("--reads", type=int, default=4000)
    ap.add_argument("--port", type=int, default=7700)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="sprig-redis-bench-")
    home = os.path.join(work, "cluster")
    seeds = cluster("start", args.port, home)
    try:
        xml = os.path.join(work, f"{args.xml}.xml")
        with gzip.open(os.path.join(SHARED, "xml", f"{args.xml}.xml.gz")) as src, open(xml, "wb") as dst:
            shutil.copyfileobj(src, dst)
        mb = os.path.getsize(xml) / 1e6
        graph = os.path.join(work, "graph")
        subprocess.run([sys.executable, os.path.join(SHARED, "graph", "gen_graph.py"), str(args.nodes), "10", "3", graph],
                       check=True, capture_output=True)
        commits = os.path.join(work, "commits.cypher")
        with open(commits, "w") as f:
            for i in range(args.commits):
                f.write(f"CREATE (:Commit {{i: {i}}});\n")
        backends = {"sled": os.path.join(work, "sled.db"), "cluster": f"redis://{seeds}/bench"}
        res = {}
        for name, db in backends.items():
            r = res[name] = {}
            secs, _ = timed(db, "--empty", "load", "xml", xml, "--collection", "x")
            r["xml_load_s"], r["xml_mb_s"] = secs, mb / secs
            secs, _ = timed(db, "load", "graph", "--nodes", os.path.join(graph, "nodes.csv"),
                            "--edges", os.path.join(graph, "edges.csv"))
            r["graph_load_s"] = secs
            # Queries are timed on a quiet machine: sled's dirty pages written back,
            # the cluster's other replicas caught up (a load returns once one has it).
            os.sync()
            if name == "cluster":
                cluster("settle", args.port, home)
            r["xpath"] = {q: profile(db, "xpath", q, args.runs, ("--collection", "x")) for q in XPATH}
            r["cypher"] = {q: profile(db, "cypher", c, args.runs) for q, c in CYPHER.items()}
            secs, _ = timed(db, "-f", commits)
            r["commits_s"] = args.commits / secs
        res["processes"] = query_processes(backends["cluster"], work, args.reads, args.nodes)
        print(report(res, args, mb))
    finally:
        cluster("stop", args.port, home)
        shutil.rmtree(work, ignore_errors=True)


def query_processes(db, work, reads, nodes):
    """Statements per second of `reads` read statements in one process, and split
    over two processes at once (each opens the database, so its cold start counts)."""
    def script(name, count, offset):
        path = os.path.join(work, name)
        with open(path, "w") as f:
            for i in range(offset, offset + count):
                person = (i * 7919) % nodes
                if i % 4 == 3:
                    f.write(f"MATCH (p:Person {{name: 'p{person}'}})-[:KNOWS]->(f) RETURN count(f);\n")
                else:
                    f.write(f"MATCH (p:Person {{name: 'p{person}'}}) RETURN p.age;\n")
        return path
    whole = script("reads-all.cypher", reads, 0)
    halves = [script("reads-1.cypher", reads // 2, 0), script("reads-2.cypher", reads - reads // 2, reads // 2)]
    out = {}
    for label, scripts in (("one process", [whole]), ("two processes", halves), ("one process again", [whole])):
        before_sprig, before_redis = children_cpu(), redis_cpu()
        start = time.perf_counter()
        procs = [subprocess.Popen([SPRIG, "--db", db, "-f", s], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for s in scripts]
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"a reader failed: {err.decode().strip()}")
        wall = time.perf_counter() - start
        sprig_cpu, redis_cpu_s = children_cpu() - before_sprig, redis_cpu() - before_redis
        out[label] = (reads / wall, sprig_cpu / wall, redis_cpu_s / wall)
    return out


def children_cpu():
    """CPU seconds (user + system) of the finished child processes so far."""
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def redis_cpu():
    """CPU seconds of every redis-server process so far (from /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)
            if not open(f"/proc/{pid}/comm").read().startswith("redis-server"):
                continue
            rest = fields[1].split()
            total += (int(rest[11]) + int(rest[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def report(res, args, mb):
    s, c = res["sled"], res["cluster"]
    lines = [
        f"2 cores; {args.xml} ({mb:.1f} MB); graph of {args.nodes} nodes; profile --runs {args.runs}",
        "",
        "| measure | sled | cluster | cluster / sled |",
        "|---|---|---|---|",
        f"| XML load MB/s | {s['xml_mb_s']:.1f} | {c['xml_mb_s']:.1f} | {c['xml_mb_s'] / s['xml_mb_s']:.2f} |",
        f"| graph load s | {s['graph_load_s']:.2f} | {c['graph_load_s']:.2f} | {c['graph_load_s'] / s['graph_load_s']:.2f} |",
        f"| commits/s (one CREATE each) | {s['commits_s']:.0f} | {c['commits_s']:.0f} | {c['commits_s'] / s['commits_s']:.2f} |",
        "",
        "| query | sled cold ms | cluster cold ms | ratio | sled warm ms | cluster warm ms | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("xpath", "cypher"):
        for q, (s_cold, s_warm) in s[kind].items():
            c_cold, c_warm = c[kind][q]
            lines.append(f"| `{q}` | {s_cold:.2f} | {c_cold:.2f} | {c_cold / max(s_cold, 1e-3):.1f} | "
                         f"{s_warm:.2f} | {c_warm:.2f} | {c_warm / max(s_warm, 1e-3):.2f} |")
    p = res["processes"]
    base = (p["one process"][0] + p["one process again"][0]) / 2
    lines += [
        "",
        f"Query processes on the cluster database ({args.reads} read statements: 3 point lookups to 1 two-hop count):",
        "",
        "| processes | statements/s | / one process | cores busy: sprig | cores busy: redis |",
        "|---|---|---|---|---|",
    ]
    for label, (rate, sprig_cores, redis_cores) in p.items():
        lines.append(f"| {label} | {rate:.0f} | {rate / base:.2f} | {sprig_cores:.2f} | {redis_cores:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
