#!/usr/bin/env python3
"""Temporal values: sprig against Kuzu on N events with a date and a timestamp.

The events (`i`, a date `at` spread over 30 years, a timestamp `ts`) are written
as one CSV and loaded into both engines in the same run: Kuzu by COPY into a
table typed DATE and TIMESTAMP; sprig by `sprig load graph` (strings) and one
Cypher statement that turns them into `date` and `datetime` values. sprig then
gets a property index on `at`. Each query runs in both engines; answers are
compared, and sprig also runs each query with `CYPHER rules=off` (no index seek,
no index order) to show what the index gives. Times: sprig `profile --runs N`
median in-engine; Kuzu the median of N runs of `execute` plus fetching every row,
after a warm-up. Ratios are sprig / Kuzu (below 1: sprig faster).

usage: temporal.py [--events 100000] [--runs 5]
"""
import argparse, csv, datetime, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerenv import ensure_packages  # noqa: E402
from graph import kuzu_time, sprig  # noqa: E402

# (name, sprig Cypher, Kuzu Cypher)
QUERIES = [
    ("range count",
     "MATCH (e:Ev) WHERE e.at >= date('2010-01-01') AND e.at < date('2011-01-01') RETURN count(*) AS n",
     "MATCH (e:Ev) WHERE e.at >= date('2010-01-01') AND e.at < date('2011-01-01') RETURN count(*) AS n"),
    ("range ORDER BY LIMIT 10",
     "MATCH (e:Ev) WHERE e.at >= date('2020-01-01') RETURN e.i AS i ORDER BY e.at, e.i LIMIT 10",
     "MATCH (e:Ev) WHERE e.at >= date('2020-01-01') RETURN e.i AS i ORDER BY e.at, e.i LIMIT 10"),
    ("ORDER BY one key, LIMIT 10",
     "MATCH (e:Ev) WHERE e.at >= date('2020-01-01') RETURN e.at AS at ORDER BY e.at LIMIT 10",
     "MATCH (e:Ev) WHERE e.at >= date('2020-01-01') RETURN e.at AS at ORDER BY e.at LIMIT 10"),
    ("count per year",
     "MATCH (e:Ev) RETURN e.at.year AS y, count(*) AS n ORDER BY y",
     "MATCH (e:Ev) RETURN date_part('year', e.at) AS y, count(*) AS n ORDER BY y"),
    ("date + duration",
     "MATCH (e:Ev) WHERE e.at + duration('P30D') > date('2029-12-01') RETURN count(*) AS n",
     "MATCH (e:Ev) WHERE e.at + INTERVAL('30 days') > date('2029-12-01') RETURN count(*) AS n"),
    ("datetime range",
     "MATCH (e:Ev) WHERE e.ts >= datetime('2015-06-01T00:00Z') AND e.ts < datetime('2015-07-01T00:00Z') "
     "RETURN count(*) AS n",
     "MATCH (e:Ev) WHERE e.ts >= timestamp('2015-06-01 00:00:00') AND e.ts < timestamp('2015-07-01 00:00:00') "
     "RETURN count(*) AS n"),
]


def write_events(n, path):
    start = datetime.date(2000, 1, 1)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "i", "at", "ts"])
        for i in range(1, n + 1):
            day = start + datetime.timedelta(days=(i * 7919) % 10950)
            ts = datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=(i * 104729) % (30 * 365 * 86400))
            w.writerow([i, "Ev", i, day.isoformat(), ts.strftime("%Y-%m-%dT%H:%M:%SZ")])


def norm(rows):
    out = []
    for r in rows:
        out.append([v.isoformat() if isinstance(v, (datetime.date, datetime.datetime)) else v for v in r])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "sprig-temporal-bench"))
    args = ap.parse_args()
    ensure_packages(["kuzu"], ["kuzu==0.11.3"])
    import kuzu

    os.makedirs(args.workdir, exist_ok=True)
    events = os.path.join(args.workdir, f"events{args.events}.csv")
    write_events(args.events, events)
    edges = os.path.join(args.workdir, "no_edges.csv")
    with open(edges, "w") as f:
        f.write("src,dst,type\n")

    db = os.path.join(args.workdir, "sprig.db")
    shutil.rmtree(db, ignore_errors=True)
    t0 = time.perf_counter()
    sprig(db, "load", "graph", "--nodes", events, "--edges", edges)
    sprig(db, "cypher", "MATCH (e:Ev) SET e.at = date(e.at), e.ts = datetime(e.ts)")
    sprig(db, "cypher", "CREATE INDEX ev_at FOR (e:Ev) ON (e.at)")
    sprig(db, "cypher", "CREATE INDEX ev_ts FOR (e:Ev) ON (e.ts)")
    sprig_load = time.perf_counter() - t0

    kdb = os.path.join(args.workdir, "kuzu.db")
    shutil.rmtree(kdb, ignore_errors=True)
    if os.path.exists(kdb):
        os.remove(kdb)
    conn = kuzu.Connection(kuzu.Database(kdb))
    kcsv = os.path.join(args.workdir, f"kuzu{args.events}.csv")
    with open(events) as src, open(kcsv, "w", newline="") as dst:
        r, w = csv.reader(src), csv.writer(dst)
        next(r)
        for row in r:
            w.writerow([row[2], row[3], row[4].replace("T", " ").rstrip("Z")])
    t0 = time.perf_counter()
    conn.execute("CREATE NODE TABLE Ev(i INT64, at DATE, ts TIMESTAMP, PRIMARY KEY(i))")
    conn.execute(f"COPY Ev FROM '{kcsv}'")
    kuzu_load = time.perf_counter() - t0

    print(f"{args.events} events; load + convert + index: sprig {sprig_load:.2f} s, kuzu {kuzu_load:.2f} s")
    print(f"{'query':28} {'sprig ms':>9} {'no index':>9} {'kuzu ms':>9} {'ratio':>6}  answers")
    for name, q, kq in QUERIES:
        mine = sprig(db, "cypher", q)["rows"]
        res = conn.execute(kq)
        theirs = []
        while res.has_next():
            theirs.append(res.get_next())
        same = "same" if norm(mine) == norm(theirs) else f"DIFF {mine[:3]} vs {norm(theirs)[:3]}"
        t_sprig = sprig(db, "profile", "cypher", q, "--runs", str(args.runs))["elapsed_ms"]
        t_plain = sprig(db, "profile", "cypher", "CYPHER rules=off " + q, "--runs", str(args.runs))["elapsed_ms"]
        t_kuzu = kuzu_time(conn, kq, args.runs)
        print(f"{name:28} {t_sprig:9.2f} {t_plain:9.2f} {t_kuzu:9.2f} {t_sprig / t_kuzu:6.2f}  {same}")


if __name__ == "__main__":
    main()
