#!/usr/bin/env python3
"""Graph peer harness: sprig against Kuzu on the workload of ../shared/data/graph.

Generates the graph with gen_graph.py (default 100,000 nodes, ~1M relationships),
loads it into both engines in the same run, runs the 30 workload queries, checks
sprig's rows against Kuzu's expected answers (expected/Qxx.json, made on the
100k graph) and prints per-query times and ratios (sprig / Kuzu; below 1 means
sprig is faster).

Installs Kuzu itself (pip, in a venv beside this script). sprig is the release
binary of this checkout (built if missing). Times:
- load: wall time of `sprig load graph` (parse, check, build, write) vs Kuzu's
  CREATE TABLE + COPY FROM of the same data split into one file per label/type
  (the split, which Kuzu's typed tables need, is not timed);
- queries: sprig `profile cypher --runs N` median (in-engine, parse to last row)
  vs the median of N runs of Kuzu's `conn.execute` + fetching all rows, after one
  warm-up run in each engine.

usage: graph.py [--nodes 100000] [--runs 5] [--queries Q01,Q07] [--json out.json]
"""
import argparse, csv, json, os, re, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerenv import ensure_packages  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "graph"))


def ensure_kuzu():
    """Re-executes this script inside a venv that has kuzu."""
    ensure_packages(["kuzu"], ["kuzu==0.11.3"])


def workload():
    """[(name, openCypher text, kuzu text)] from workload.cypher."""
    out = []
    name = None
    for line in open(os.path.join(SHARED, "workload.cypher")):
        line = line.rstrip("\n")
        m = re.match(r"// name: (Q\d+)", line)
        if m:
            name = m.group(1)
        elif line.startswith("// kuzu: "):
            out[-1] = (out[-1][0], out[-1][1], line[len("// kuzu: "):])
        elif line.strip() and not line.startswith("//"):
            out.append((name, line.strip(), line.strip()))
    return out


def sprig_bin():
    exe = os.path.join(ROOT, "target", "release", "sprig")
    if not os.path.exists(exe):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return exe


def sprig(db, *args):
    res = subprocess.run([sprig_bin(), "--db", db, "--format", "json", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"sprig {' '.join(args)}: {res.stderr.strip()}")
    return json.loads(res.stdout)


def split_for_kuzu(data, out):
    """One CSV per node label and per relationship type (Kuzu's tables are typed)."""
    os.makedirs(out, exist_ok=True)
    label_of = {}
    writers, files = {}, []
    with open(os.path.join(data, "nodes.csv")) as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            label = row[1]
            label_of[row[0]] = label
            if label not in writers:
                fh = open(os.path.join(out, f"{label}.csv"), "w", newline="")
                files.append(fh)
                writers[label] = csv.writer(fh)
            if label == "Person":
                writers[label].writerow([row[0], row[2], row[3], row[4]])
            else:
                writers[label].writerow([row[0], row[2]])
    rel_tables = {}
    with open(os.path.join(data, "edges.csv")) as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            key = (row[2], label_of[row[0]], label_of[row[1]])
            if key not in writers:
                fh = open(os.path.join(out, "%s_%s_%s.csv" % key), "w", newline="")
                files.append(fh)
                writers[key] = csv.writer(fh)
                rel_tables[key] = fh.name
            writers[key].writerow([row[0], row[1], row[3], row[4]])
    for fh in files:
        fh.close()
    return rel_tables


def kuzu_load(split, rel_tables, dbdir):
    import kuzu
    db = kuzu.Database(dbdir)
    conn = kuzu.Connection(db)
    start = time.perf_counter()
    conn.execute("CREATE NODE TABLE Person(id INT64, name STRING, age INT64, bio STRING, PRIMARY KEY(id))")
    conn.execute("CREATE NODE TABLE Company(id INT64, name STRING, PRIMARY KEY(id))")
    conn.execute("CREATE NODE TABLE City(id INT64, name STRING, PRIMARY KEY(id))")
    for label in ["Person", "Company", "City"]:
        conn.execute(f"COPY {label} FROM '{os.path.join(split, label + '.csv')}'")
    by_type = {}
    for (t, a, b), path in rel_tables.items():
        by_type.setdefault(t, []).append((a, b, path))
    for t, pairs in by_type.items():
        froms = ", ".join(f"FROM {a} TO {b}" for a, b, _ in pairs)
        conn.execute(f"CREATE REL TABLE {t}({froms}, weight DOUBLE, since INT64)")
        for a, b, path in pairs:
            opt = f"(from='{a}', to='{b}')" if len(pairs) > 1 else ""
            conn.execute(f"COPY {t} FROM '{path}' {opt}")
    return conn, time.perf_counter() - start


def kuzu_time(conn, q, runs):
    def once():
        start = time.perf_counter()
        res = conn.execute(q)
        rows = []
        while res.has_next():
            rows.append(res.get_next())
        return time.perf_counter() - start, rows
    once()
    times = [once()[0] for _ in range(runs)]
    return statistics.median(times) * 1000


def norm(v):
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def same_rows(mine, expected, ordered):
    a = [norm(r) for r in mine]
    b = [norm(r) for r in expected]
    if not ordered:
        a, b = sorted(a, key=json.dumps), sorted(b, key=json.dumps)
    return a == b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queries", default="")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "sprig-graph-bench"))
    ap.add_argument("--no-kuzu", action="store_true")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    if not args.no_kuzu:
        ensure_kuzu()
    os.makedirs(args.workdir, exist_ok=True)
    data = os.path.join(args.workdir, f"g{args.nodes}")
    if not os.path.exists(os.path.join(data, "edges.csv")):
        subprocess.run([sys.executable, os.path.join(SHARED, "gen_graph.py"), str(args.nodes), "9", "1", data], check=True)

    db = os.path.join(args.workdir, "sprig.db")
    shutil.rmtree(db, ignore_errors=True)
    start = time.perf_counter()
    sprig(db, "load", "graph", "--nodes", os.path.join(data, "nodes.csv"), "--edges", os.path.join(data, "edges.csv"))
    sprig_load = time.perf_counter() - start

    conn, kuzu_load_s = None, None
    if not args.no_kuzu:
        split = os.path.join(args.workdir, f"kuzu-split-{args.nodes}")
        rel_tables = split_for_kuzu(data, split)
        kdb = os.path.join(args.workdir, "kuzu.db")
        shutil.rmtree(kdb, ignore_errors=True)
        if os.path.exists(kdb):
            os.remove(kdb)
        conn, kuzu_load_s = kuzu_load(split, rel_tables, kdb)

    print(f"graph: {args.nodes} nodes; load: sprig {sprig_load:.2f} s" +
          (f", kuzu {kuzu_load_s:.2f} s, ratio {sprig_load / kuzu_load_s:.2f}" if kuzu_load_s else ""))
    wanted = set(filter(None, args.queries.split(",")))
    results = []
    print(f"{'query':6} {'sprig ms':>10} {'kuzu ms':>10} {'ratio':>7}  rows")
    for name, q, kq in workload():
        if wanted and name not in wanted:
            continue
        out = sprig(db, "cypher", q)
        expected_file = os.path.join(SHARED, "expected", f"{name}.json")
        check = "-"
        if args.nodes == 100000 and os.path.exists(expected_file):
            exp = json.load(open(expected_file))
            check = "ok" if same_rows(out["rows"], exp["rows"], "ORDER BY" in q.upper()) else "DIFF"
        prof = sprig(db, "profile", "cypher", q, "--runs", str(args.runs))
        mine = prof["elapsed_ms"]
        theirs = kuzu_time(conn, kq, args.runs) if conn else None
        ratio = mine / theirs if theirs else None
        results.append({"query": name, "sprig_ms": mine, "kuzu_ms": theirs, "ratio": ratio, "rows": check})
        print(f"{name:6} {mine:10.2f} {theirs if theirs is not None else float('nan'):10.2f} "
              f"{ratio if ratio is not None else float('nan'):7.2f}  {check}")
    if args.json:
        json.dump({"load": {"sprig_s": sprig_load, "kuzu_s": kuzu_load_s}, "queries": results},
                  open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
