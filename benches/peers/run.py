#!/usr/bin/env python3
"""Peer comparison for XPath: sprig (every --join) vs lxml vs BaseX, same queries, one run.

usage: benches/peers/run.py [--datasets xmark-f0.1,xmark-f1,recursive-5,recursive-20:sprig] [--runs 5] [--out FILE]

A dataset name ending in ":sprig" is run on sprig's join algorithms only (for sizes
where lxml's evaluation of nested // paths would take many minutes).

Installs its peers itself: lxml in a venv beside this script, BaseX from Debian's
packages (apt-get, when run as root). Reads the XMark documents and the recursive
generator from ../shared/data/xml (the project's shared folder).

Each query Q is a location path, timed two ways:
- the joins: sprig evaluates the node-set Q with each --join (the result is the
  complete list of nodes in document order; nodes are not serialized);
- the peers: count(Q) in sprig (auto), lxml and BaseX, so that every engine returns one
  number and no engine pays for serializing nodes.
The answers are compared: every join's node count and every engine's count(Q) agree,
or the row says MISMATCH.

Times are medians of --runs warm runs inside each engine, excluding process start and
document load: sprig's `profile --runs N` elapsed_ms (parse to complete result),
lxml's tree.xpath() on a parsed tree, BaseX's "Total Time" for XQUERY on an opened
database. Loads are reported separately.
"""
import argparse, gzip, json, os, platform, re, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerenv import ensure_packages  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data", "xml")
SPRIG = os.path.join(ROOT, "target", "release", "sprig")
JOINS = ["auto", "sisj", "twigstack", "stacktree", "navigate"]

XMARK_QUERIES = [
    "//open_auction//keyword",
    "//closed_auction//keyword",
    "//item//keyword",
    "//category//description//text",
    "//parlist//parlist//text",
    "//site//people//person//interest",
    "//item[payment='Creditcard']//keyword",
    "//open_auction[bidder]//keyword",
]
RECURSIVE_QUERIES = [
    "//a//a//b",
    "//section//section//title",
    "//section//a//section//p",
    "//section[@type='x']//section//title",
    "//a[b]//c",
    "//section[title]//a[@type='y']//b",
]


def ensure_lxml():
    """Re-executes this script inside a venv that has lxml."""
    ensure_packages(["lxml.etree"], ["lxml"])


def ensure_basex():
    if shutil.which("basex"):
        return True
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "basex"], check=False)
    return shutil.which("basex") is not None


def dataset_file(name, workdir):
    out = os.path.join(workdir, name + ".xml")
    if os.path.exists(out):
        return out
    if name.startswith("xmark-"):
        with gzip.open(os.path.join(SHARED, name + ".xml.gz"), "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    elif name.startswith("recursive-"):
        size = name.split("-", 1)[1]
        subprocess.run([sys.executable, os.path.join(SHARED, "gen_recursive.py"), size, "7", out], check=True)
    else:
        raise SystemExit(f"unknown dataset {name}")
    return out


def sprig(db, *args):
    res = subprocess.run([SPRIG, "--db", db, *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"sprig {' '.join(args)}: {res.stderr}")
    return res.stdout


def profile(db, query, join, runs):
    out = json.loads(sprig(db, "profile", "xpath", "--collection", "doc", query, "--join", join,
                           "--runs", str(runs), "--format", "json"))
    return out["elapsed_ms"], out["plan"]


def run_sprig(path, queries, runs, workdir):
    """Per query: the node-set under every join (time, node count), and count(Q) under auto."""
    db = os.path.join(workdir, "sprig-" + os.path.basename(path) + ".db")
    shutil.rmtree(db, ignore_errors=True)
    load = json.loads(sprig(db, "load", "xml", path, "--collection", "doc", "--format", "json"))[0]
    res = {}
    for q in queries:
        for join in JOINS:
            elapsed, plan = profile(db, q, join, runs)
            res[(q, join)] = (elapsed, plan["rows"])
        elapsed, _ = profile(db, f"count({q})", "auto", runs)
        value = json.loads(sprig(db, "xpath", "--collection", "doc", f"count({q})", "--format", "json"))["value"]
        res[(q, "count")] = (elapsed, value)
    return load["seconds"], res


def run_lxml(path, queries, runs):
    from lxml import etree
    started = time.perf_counter()
    tree = etree.parse(path)
    load = time.perf_counter() - started
    res = {}
    for q in queries:
        times, value = [], None
        for _ in range(runs):
            t = time.perf_counter()
            value = tree.xpath(f"count({q})")
            times.append((time.perf_counter() - t) * 1000)
            if times[-1] > 2000:
                break  # libxml2 is super-linear on nested // paths; one slow run tells enough
        res[q] = (statistics.median(times), value)
    return load, res


def run_basex(path, queries, runs, workdir):
    """One BaseX session: create the database, run each query `runs` times, drop it."""
    script = [f"CREATE DB sprigpeer {path}"]
    for q in queries:
        script += [f"XQUERY count({q})"] * runs
    script.append("DROP DB sprigpeer")
    cmds = os.path.join(workdir, "basex.bxs")
    with open(cmds, "w") as f:
        f.write("\n".join(script) + "\n")
    out = subprocess.run(["basex", "-V", "-c", cmds], capture_output=True, text=True, cwd=workdir)
    text = out.stdout + out.stderr
    load_ms = re.search(r"Database 'sprigpeer' created in ([\d.]+) ms", text)
    totals = [float(x) for x in re.findall(r"Total Time: ([\d.]+) ms", text)]
    # The answer precedes each query's report (BaseX may repeat it as "Optimized Query").
    results = [float(x) for x in re.findall(r"^(\d+)\s*\nQuery:", out.stdout, re.M)]
    res = {}
    for i, q in enumerate(queries):
        chunk = totals[i * runs:(i + 1) * runs]
        value = results[i * runs] if len(results) > i * runs else None
        res[q] = (statistics.median(chunk) if chunk else None, value)
    return (float(load_ms.group(1)) / 1000 if load_ms else None), res


def fmt(x):
    return "-" if x is None else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def main():
    ensure_lxml()
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="xmark-f0.1,xmark-f1,recursive-5,recursive-20:sprig")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    have_basex = ensure_basex()
    workdir = tempfile.mkdtemp(prefix="sprig-peers-")
    lines = []
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    lines.append(f"machine: {os.cpu_count()} cores, {cpu}; runs per query: {args.runs} (median)")
    for spec in args.datasets.split(","):
        name, _, only = spec.partition(":")
        path = dataset_file(name, workdir)
        queries = RECURSIVE_QUERIES if name.startswith("recursive") else XMARK_QUERIES
        s_load, s = run_sprig(path, queries, args.runs, workdir)
        peers = only != "sprig"
        l_load, l = run_lxml(path, queries, args.runs) if peers else (None, {q: (None, None) for q in queries})
        b_load, b = run_basex(path, queries, args.runs, workdir) if peers and have_basex else (None, {})
        size = os.path.getsize(path) / 1e6
        lines.append("")
        lines.append(f"### {name} ({size:.1f} MB)")
        lines.append(f"load: sprig {fmt(s_load)} s, lxml parse {fmt(l_load)} s, BaseX create {fmt(b_load)} s")
        lines.append("")
        lines.append("Joins: the node-set Q under each --join, ms. Peers: count(Q), ms.")
        lines.append("")
        lines.append("| query | nodes | sisj | twigstack | stacktree | navigate | auto "
                     "| twigstack/sisj | stacktree/sisj | count: auto | lxml | BaseX | auto/lxml | auto/BaseX |")
        lines.append("|" + "---|" * 14)
        for q in queries:
            values = {float(s[(q, j)][1]) for j in JOINS + ["count"]}
            values |= {float(v) for v in (l[q][1], b.get(q, (None, None))[1]) if v is not None}
            answer = s[(q, "auto")][1] if len(values) == 1 else f"MISMATCH {sorted(values)}"
            t = {j: s[(q, j)][0] for j in JOINS + ["count"]}
            bt = b.get(q, (None, None))[0]
            lines.append(f"| `{q}` | {answer} | {fmt(t['sisj'])} | {fmt(t['twigstack'])} | {fmt(t['stacktree'])} "
                         f"| {fmt(t['navigate'])} | {fmt(t['auto'])} "
                         f"| {ratio(t['twigstack'], t['sisj'])} | {ratio(t['stacktree'], t['sisj'])} "
                         f"| {fmt(t['count'])} | {fmt(l[q][0])} | {fmt(bt)} "
                         f"| {ratio(t['count'], l[q][0])} | {ratio(t['count'], bt)} |")
        print("\n".join(lines[-(len(queries) + 7):]), flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
