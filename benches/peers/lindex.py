#!/usr/bin/env python3
"""LIndex peer harness: text-seeded traversals on the generated graph of
../shared/data/graph, sprig with its LIndex against sprig without it (--no-lindex,
the same build and database) and against Kuzu, all in one run.

Queries: the workload's text-seeded Q15-Q21 (CONTAINS on Person.bio, terms of several
selectivities), the same traversals seeded by full-text search (F16-F18:
db.index.fulltext.queryNodes; Kuzu runs the CONTAINS form, since its full-text
extension needs a download), and traversals seeded elsewhere whose far end has the
text (P1-P3: a city, then residents who are known by someone with the term), which
the LIndex prunes along the path. Every engine's rows must agree.

Also reports the build time (CREATE LINDEX / CREATE FULLTEXT INDEX, wall time of the
statement) and the size of each index (SHOW INDEXES).

usage: lindex.py [--nodes 100000] [--runs 7] [--hops 1] [--no-kuzu]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graph as g  # noqa: E402

CITY = "MATCH (c:City {name: 'city001'})<-[:LIVES_IN]-(f:Person)<-[:KNOWS]-(p:Person) WHERE p.bio CONTAINS '%s' RETURN count(DISTINCT f)"
TWO_HOPS = "MATCH (p:Person)-[:KNOWS]->(f:Person)-[:LIVES_IN]->(c:City)%s RETURN c.name, count(DISTINCT f) AS n ORDER BY n DESC, c.name LIMIT 5"
FULLTEXT = "CALL db.index.fulltext.queryNodes('bio_words', '%s') YIELD node AS p MATCH (p:Person)-[:KNOWS]->(f:Person)-[:LIVES_IN]->(c:City) RETURN c.name, count(DISTINCT f) AS n ORDER BY n DESC, c.name LIMIT 5"


def queries():
    """[(name, sprig query, sprig query without the LIndex, kuzu query)]."""
    out = [(n, q, q, k) for n, q, k in g.workload() if n in {"Q15", "Q16", "Q17", "Q18", "Q19", "Q20", "Q21"}]
    for name, term in [("F16", "duvepa"), ("F17", "sofove"), ("F18", "hisuga")]:
        contains = TWO_HOPS % f" WHERE p.bio CONTAINS '{term}'"
        out.append((name, FULLTEXT % term, contains, contains))
    for name, term in [("P1", "duvepa"), ("P2", "sofove"), ("P3", "hisuga")]:
        out.append((name, CITY % term, CITY % term, CITY % term))
    return out


def kuzu_rows_and_time(conn, q, runs):
    res = conn.execute(q)
    rows = []
    while res.has_next():
        rows.append(res.get_next())
    return rows, g.kuzu_time(conn, q, runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--hops", type=int, default=1)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "sprig-lindex-bench"))
    ap.add_argument("--no-kuzu", action="store_true")
    args = ap.parse_args()
    if not args.no_kuzu:
        g.ensure_kuzu()
    os.makedirs(args.workdir, exist_ok=True)
    data = os.path.join(args.workdir, f"g{args.nodes}")
    if not os.path.exists(os.path.join(data, "edges.csv")):
        subprocess.run([sys.executable, os.path.join(g.SHARED, "gen_graph.py"), str(args.nodes), "9", "1", data], check=True)
    db = os.path.join(args.workdir, "sprig.db")
    shutil.rmtree(db, ignore_errors=True)
    g.sprig(db, "load", "graph", "--nodes", os.path.join(data, "nodes.csv"), "--edges", os.path.join(data, "edges.csv"))
    builds = {}
    for name, stmt in [
        ("bio_paths", f"CREATE LINDEX bio_paths FOR (p:Person) ON EACH [p.bio] OPTIONS {{hops: {args.hops}}}"),
        ("bio_words", "CREATE FULLTEXT INDEX bio_words FOR (p:Person) ON EACH [p.bio]"),
    ]:
        start = time.perf_counter()
        g.sprig(db, "cypher", stmt)
        builds[name] = time.perf_counter() - start
    shown = g.sprig(db, "cypher", "SHOW INDEXES YIELD name, documents, sizeBytes RETURN name, documents, sizeBytes")
    print(f"graph: {args.nodes} nodes; LIndex hops {args.hops}")
    for name, docs, size in shown["rows"]:
        print(f"index {name}: built in {builds[name]:.2f} s (wall, incl. process start), "
              f"{docs} documents, {size / 1e6:.1f} MB")

    conn = None
    if not args.no_kuzu:
        split = os.path.join(args.workdir, f"kuzu-split-{args.nodes}")
        rel_tables = g.split_for_kuzu(data, split)
        kdb = os.path.join(args.workdir, "kuzu.db")
        shutil.rmtree(kdb, ignore_errors=True)
        if os.path.exists(kdb):
            os.remove(kdb)
        conn, _ = g.kuzu_load(split, rel_tables, kdb)

    print(f"{'query':6} {'lindex ms':>10} {'plain ms':>10} {'kuzu ms':>10} {'vs plain':>9} {'vs kuzu':>8}  rows")
    for name, q, plain_q, kq in queries():
        mine = g.sprig(db, "profile", "cypher", q, "--runs", str(args.runs))["elapsed_ms"]
        plain = g.sprig(db, "profile", "cypher", plain_q, "--no-lindex", "--runs", str(args.runs))["elapsed_ms"]
        rows = g.sprig(db, "cypher", q)["rows"]
        plain_rows = g.sprig(db, "cypher", plain_q, "--no-lindex")["rows"]
        ordered = "ORDER BY" in q.upper()
        check = "ok" if g.same_rows(rows, plain_rows, ordered) else "DIFF(plain)"
        theirs = None
        if conn:
            krows, theirs = kuzu_rows_and_time(conn, kq, args.runs)
            if check == "ok" and not g.same_rows(rows, krows, ordered):
                check = "DIFF(kuzu)"
        print(f"{name:6} {mine:10.3f} {plain:10.3f} {theirs if theirs else float('nan'):10.2f} "
              f"{plain / mine:9.1f} {(theirs / mine) if theirs else float('nan'):8.1f}  {check}")


if __name__ == "__main__":
    main()
