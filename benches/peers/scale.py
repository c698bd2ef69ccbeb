#!/usr/bin/env python3
"""Scale benchmark: how sprig's load and query costs grow from a small to a ten times
larger input, beside its peers at both sizes, in one run.

usage: benches/peers/scale.py [--xml f1,f1x10] [--graph 100000,1000000] [--runs 3]
                              [--cache-mb N] [--no-basex] [--no-kuzu] [--out FILE]

XML: XMark f1 (116 MB) and f1xK (repeat.py, K copies of f1's content under one root;
f1x10 is 1.1 GB). Per dataset: sprig's load time, MB/s, peak RSS and database size,
BaseX's CREATE DB time, and per query sprig's `profile --runs N` median beside BaseX's
"Total Time" (the same count(Q) in both; the answers must agree).
Graph: gen_graph.py at each node count (seed as in the issue: 10 KNOWS on average,
seed 3), loaded into sprig (time, peak RSS, disk) and Kuzu (time, disk), then the
30-query workload, sprig's rows checked against Kuzu's rows of the same run.
Each query's growth factor is its time at the larger size over the smaller.

Peers are installed by the helpers of run.py and graph.py (BaseX from Debian,
Kuzu from PyPI in a venv). --cache-mb passes sprig's cache budget.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graph as graphbench  # noqa: E402
import run as xmlbench  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED_XML = os.path.join(os.path.dirname(ROOT), "shared", "data", "xml")
SHARED_GRAPH = os.path.join(os.path.dirname(ROOT), "shared", "data", "graph")
SPRIG = os.path.join(ROOT, "target", "release", "sprig")

# The XPath set of run.py, and the value queries the issue measured.
XML_QUERIES = xmlbench.XMARK_QUERIES + [
    "//item[contains(description, 'gold')]/name",
    "//person[profile/@income > 50000]/name",
    "/site/people/person[@id='person0']/name/text()",
]


def measured_rss(cmd):
    """Runs cmd under /usr/bin/time; returns (seconds, peak RSS MB, stdout)."""
    start = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "RSS_KB %M", *cmd], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.strip()}")
    rss = re.search(r"RSS_KB (\d+)", res.stderr)
    return seconds, (int(rss.group(1)) / 1024 if rss else None), res.stdout


def du_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total / 1e6


def sprig_args(args):
    return ["--cache-mb", str(args.cache_mb)] if args.cache_mb else []


def xml_dataset(name, workdir):
    """f1 from the shared gzip; f1xK with repeat.py."""
    out = os.path.join(workdir, f"xmark-{name}.xml")
    if os.path.exists(out):
        return out
    m = re.fullmatch(r"f1(?:x(\d+))?", name)
    if not m:
        raise SystemExit(f"unknown XML dataset {name} (f1 or f1xK)")
    src = os.path.join(SHARED_XML, "xmark-f1.xml.gz")
    with open(out, "wb") as f:
        subprocess.run([sys.executable, os.path.join(SHARED_XML, "repeat.py"), src, m.group(1) or "1"],
                       stdout=f, check=True)
    return out


def run_xml(name, args, workdir, have_basex):
    path = xml_dataset(name, workdir)
    size_mb = os.path.getsize(path) / 1e6
    db = os.path.join(workdir, f"sprig-{name}.db")
    shutil.rmtree(db, ignore_errors=True)
    secs, rss, _ = measured_rss([SPRIG, "--db", db, *sprig_args(args), "load", "xml", path,
                                 "--collection", "doc", "--format", "json"])
    res = {"input_mb": size_mb, "load_s": secs, "mb_per_s": size_mb / secs, "rss_mb": rss,
           "disk_mb": du_mb(db), "queries": {}}
    # The load leaves up to a gigabyte of dirty pages: written back now, not while
    # the first queries are timed.
    os.sync()
    for q in XML_QUERIES:
        cq = f"count({q})"
        prof = json.loads(subprocess.run([SPRIG, "--db", db, *sprig_args(args), "profile", "xpath", "--collection",
                                          "doc", cq, "--runs", str(args.runs), "--format", "json"],
                                         capture_output=True, text=True, check=True).stdout)
        value = json.loads(subprocess.run([SPRIG, "--db", db, "xpath", "--collection", "doc", cq, "--format", "json"],
                                          capture_output=True, text=True, check=True).stdout)["value"]
        res["queries"][q] = {"sprig_ms": prof["elapsed_ms"], "value": value}
    shutil.rmtree(db, ignore_errors=True)
    if have_basex:
        b_load, b = xmlbench.run_basex(path, XML_QUERIES, args.runs, workdir)
        res["basex_load_s"] = b_load
        for q in XML_QUERIES:
            t, v = b.get(q, (None, None))
            res["queries"][q].update({"basex_ms": t, "basex_value": v})
    return res


def run_graph(nodes, args, workdir):
    data = os.path.join(workdir, f"g{nodes}")
    if not os.path.exists(os.path.join(data, "edges.csv")):
        subprocess.run([sys.executable, os.path.join(SHARED_GRAPH, "gen_graph.py"), str(nodes), "10", "3", data],
                       check=True)
    db = os.path.join(workdir, f"sprig-g{nodes}.db")
    shutil.rmtree(db, ignore_errors=True)
    secs, rss, _ = measured_rss([SPRIG, "--db", db, *sprig_args(args), "load", "graph", "--nodes",
                                 os.path.join(data, "nodes.csv"), "--edges", os.path.join(data, "edges.csv")])
    res = {"load_s": secs, "rss_mb": rss, "disk_mb": du_mb(db), "queries": {}}
    os.sync()
    conn = None
    if not args.no_kuzu:
        split = os.path.join(workdir, f"kuzu-split-{nodes}")
        rel_tables = graphbench.split_for_kuzu(data, split)
        kdb = os.path.join(workdir, f"kuzu-{nodes}.db")
        shutil.rmtree(kdb, ignore_errors=True)
        if os.path.exists(kdb):
            os.remove(kdb)
        conn, res["kuzu_load_s"] = graphbench.kuzu_load(split, rel_tables, kdb)
        res["kuzu_disk_mb"] = du_mb(kdb) if os.path.isdir(kdb) else os.path.getsize(kdb) / 1e6
    for name, q, kq in graphbench.workload():
        out = json.loads(subprocess.run([SPRIG, "--db", db, *sprig_args(args), "--format", "json", "cypher", q],
                                        capture_output=True, text=True, check=True).stdout)
        prof = json.loads(subprocess.run([SPRIG, "--db", db, *sprig_args(args), "--format", "json", "profile",
                                          "cypher", q, "--runs", str(args.runs)],
                                         capture_output=True, text=True, check=True).stdout)
        entry = {"sprig_ms": prof["elapsed_ms"]}
        if conn is not None:
            rows = []
            r = conn.execute(kq)
            while r.has_next():
                rows.append(r.get_next())
            entry["kuzu_ms"] = graphbench.kuzu_time(conn, kq, args.runs)
            entry["same_rows"] = graphbench.same_rows(out["rows"], rows, "ORDER BY" in q.upper())
        res["queries"][name] = entry
    shutil.rmtree(db, ignore_errors=True)
    return res


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


def query_table_head(scales, per_scale, peer):
    """The header and rule of a per-query table: per scale `per_scale` columns, then
    the growth of sprig and the peer from the first scale to the second."""
    growth = len(scales) == 2
    head = "| query | " + " | ".join(f"{n}: sprig ms | {peer} ms | ratio" + (" | rows" if per_scale == 4 else "")
                                     for n in scales)
    head += f" | growth sprig | growth {peer} |" if growth else " |"
    return [head, "|" + "---|" * (1 + per_scale * len(scales) + (2 if growth else 0))]


def growth_cells(results, scales, q, peer_key):
    if len(scales) != 2:
        return ""
    a, b = (results[n]["queries"][q] for n in scales)
    return f" | {ratio(b['sprig_ms'], a['sprig_ms'])} | {ratio(b.get(peer_key), a.get(peer_key))}"


def report_xml(results, names):
    lines = ["## XML: sprig vs BaseX", ""]
    lines.append("| dataset | input MB | sprig load s | MB/s | peak RSS MB | disk MB | BaseX load s |")
    lines.append("|---|---|---|---|---|---|---|")
    for n in names:
        r = results[n]
        lines.append(f"| {n} | {r['input_mb']:.0f} | {r['load_s']:.1f} | {r['mb_per_s']:.1f} | {fmt(r['rss_mb'], 0)} "
                     f"| {r['disk_mb']:.0f} | {fmt(r.get('basex_load_s'))} |")
    lines.append("")
    lines += query_table_head(names, 3, "BaseX")
    for q in XML_QUERIES:
        cells = []
        for n in names:
            e = results[n]["queries"][q]
            agree = e.get("basex_value") is None or float(e["basex_value"]) == float(e["value"])
            cells.append(f"{fmt(e['sprig_ms'], 2)}{'' if agree else ' MISMATCH'} | {fmt(e.get('basex_ms'), 2)} "
                         f"| {ratio(e['sprig_ms'], e.get('basex_ms'))}")
        lines.append(f"| `{q}` | " + " | ".join(cells) + growth_cells(results, names, q, "basex_ms") + " |")
    return lines


def report_graph(results, sizes):
    lines = ["## Graph: sprig vs Kuzu", ""]
    lines.append("| nodes | sprig load s | Kuzu load s | load ratio | sprig peak RSS MB | sprig disk MB | Kuzu disk MB |")
    lines.append("|---|---|---|---|---|---|---|")
    for n in sizes:
        r = results[n]
        lines.append(f"| {n} | {r['load_s']:.1f} | {fmt(r.get('kuzu_load_s'))} | {ratio(r['load_s'], r.get('kuzu_load_s'))} "
                     f"| {fmt(r['rss_mb'], 0)} | {r['disk_mb']:.0f} | {fmt(r.get('kuzu_disk_mb'), 0)} |")
    lines.append("")
    lines += query_table_head(sizes, 4, "Kuzu")
    names = list(results[sizes[0]]["queries"])
    within = {n: 0 for n in sizes}
    for q in names:
        cells = []
        for n in sizes:
            e = results[n]["queries"][q]
            same = e.get("same_rows")
            if e.get("kuzu_ms") and e["sprig_ms"] <= e["kuzu_ms"]:
                within[n] += 1
            cells.append(f"{fmt(e['sprig_ms'], 2)} | {fmt(e.get('kuzu_ms'), 2)} | {ratio(e['sprig_ms'], e.get('kuzu_ms'))} "
                         f"| {'-' if same is None else ('ok' if same else 'DIFF')}")
        lines.append(f"| {q} | " + " | ".join(cells) + growth_cells(results, sizes, q, "kuzu_ms") + " |")
    lines.append("")
    for n in sizes:
        lines.append(f"{n} nodes: {within[n]} of {len(names)} queries within Kuzu's time.")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xml", default="f1,f1x10")
    ap.add_argument("--graph", default="100000,1000000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cache-mb", type=int, default=0)
    ap.add_argument("--no-basex", action="store_true")
    ap.add_argument("--no-kuzu", action="store_true")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "sprig-scale"))
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.graph and not args.no_kuzu:
        graphbench.ensure_kuzu()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    os.makedirs(args.workdir, exist_ok=True)
    lines = [f"machine: {os.cpu_count()} cores; runs per query: {args.runs} (median)"
             + (f"; --cache-mb {args.cache_mb}" if args.cache_mb else ""), ""]
    xml_names = [x for x in args.xml.split(",") if x]
    if xml_names:
        have_basex = not args.no_basex and xmlbench.ensure_basex()
        results = {n: run_xml(n, args, args.workdir, have_basex) for n in xml_names}
        lines += report_xml(results, xml_names) + [""]
        print("\n".join(lines), flush=True)
    sizes = [int(x) for x in args.graph.split(",") if x]
    if sizes:
        results = {n: run_graph(n, args, args.workdir) for n in sizes}
        lines += report_graph(results, sizes)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
