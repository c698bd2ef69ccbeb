"""sprig's Bolt server against Neo4j's official Python driver.

Run by tests/interop/run_bolt.py with the server's Bolt address and token; prints
one `PASS name` or `FAIL name: why` line per check.
"""
import math
import sys

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, CypherSyntaxError, TransientError

address, token = sys.argv[1], sys.argv[2]
checks = []


def check(name):
    def wrap(fn):
        checks.append((name, fn))
        return fn
    return wrap


def driver(scheme="bolt", password=None):
    return GraphDatabase.driver(f"{scheme}://{address}", auth=("neo4j", password or token))


def expect(got, want, what=""):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


@check("connects over bolt:// and neo4j:// and reports a Neo4j agent")
def _():
    for scheme in ("bolt", "neo4j"):
        with driver(scheme) as d:
            d.verify_connectivity()
            info = d.get_server_info()
            if not info.agent.startswith("Neo4j/"):
                raise AssertionError(info.agent)
            with d.session() as s:
                expect(s.run("RETURN 1 AS one").single()["one"], 1, scheme)


@check("the token as a bearer credential is accepted")
def _():
    with GraphDatabase.driver(f"bolt://{address}", auth=neo4j.bearer_auth(token)) as d:
        with d.session() as s:
            expect(s.run("RETURN 'bearer' AS via").single()["via"], "bearer", "bearer")


@check("a wrong token is refused")
def _():
    with driver(password="wrong") as d:
        try:
            d.verify_connectivity()
        except AuthError as e:
            expect(e.code, "Neo.ClientError.Security.Unauthorized", "code")
            return
    raise AssertionError("accepted")


@check("parameters of every type come back as they went")
def _():
    values = {
        "null": None, "t": True, "f": False, "small": -16, "int": 1234567890123, "neg": -(2**63),
        "float": 3.25, "inf": math.inf, "text": "héllo \U0001F600", "empty": "",
        "list": [1, "two", 3.0, None, [True]], "map": {"a": 1, "b": {"c": ["d"]}},
    }
    with driver() as d, d.session() as s:
        record = s.run("RETURN $v AS v", v=values).single()
        expect(record["v"], values, "round trip")


@check("temporal values go both ways and are computed on")
def _():
    import datetime
    from neo4j.time import Duration
    zone = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    moment = datetime.datetime(2024, 1, 2, 10, 30, 0, 500000, tzinfo=zone)
    span = Duration(months=14, days=3, seconds=7200, nanoseconds=5)
    with driver() as d, d.session() as s:
        r = s.run("RETURN $d AS d, $m AS m, $s AS s, $t AS t, $d + duration('P1D') AS next, toString($m) AS text, "
                  "datetime('2024-06-01T12:00[Europe/Stockholm]') AS named",
                  d=datetime.date(2024, 1, 2), m=moment, s=span, t=datetime.time(23, 59, 1)).single()
        expect(r["d"].to_native(), datetime.date(2024, 1, 2), "date")
        expect(r["m"].to_native(), moment, "date-time")
        expect(r["s"], span, "duration")
        expect(r["t"].to_native(), datetime.time(23, 59, 1), "local time")
        expect(r["next"].to_native(), datetime.date(2024, 1, 3), "date plus a day")
        expect(r["text"], "2024-01-02T10:30:00.500+05:30", "string form")
        expect(r["named"].utcoffset(), datetime.timedelta(hours=2), "a named zone's offset")


@check("a parameter sprig has no type for gets a FAILURE")
def _():
    from neo4j.spatial import CartesianPoint
    with driver() as d, d.session() as s:
        try:
            s.run("RETURN $p AS p", p=CartesianPoint((1.0, 2.0))).consume()
        except ClientError as e:
            if "point" not in e.message:
                raise AssertionError(e.message)
            expect(e.code, "Neo.ClientError.Statement.TypeError", "code")
            return
    raise AssertionError("a point was accepted")


@check("nodes, relationships and paths read back")
def _():
    with driver() as d, d.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
        summary = s.run(
            "CREATE (a:Person {name: 'Ann', age: 41})-[:KNOWS {since: 2020}]->(b:Person:Admin {name: 'Bo'}) "
            "CREATE (b)-[:KNOWS {since: 2021}]->(:Person {name: 'Cy'})").consume()
        expect(summary.counters.nodes_created, 3, "nodes created")
        expect(summary.counters.relationships_created, 2, "relationships created")
        record = s.run("MATCH (a {name: 'Ann'})-[r]->(b) RETURN a, r, b").single()
        a, r, b = record["a"], record["r"], record["b"]
        expect(set(a.labels), {"Person"}, "labels")
        expect(dict(a), {"name": "Ann", "age": 41}, "properties")
        expect(set(b.labels), {"Person", "Admin"}, "labels")
        expect((r.type, r["since"], r.start_node.element_id, r.end_node.element_id),
               ("KNOWS", 2020, a.element_id, b.element_id), "relationship")
        path = s.run("MATCH p = (:Person {name: 'Ann'})-[:KNOWS*2]->(c) RETURN p").single()["p"]
        expect([n["name"] for n in path.nodes], ["Ann", "Bo", "Cy"], "path nodes")
        expect([rel["since"] for rel in path.relationships], [2020, 2021], "path relationships")
        back = s.run("MATCH p = (c {name: 'Cy'})<-[:KNOWS]-(b) RETURN p").single()["p"]
        expect((back.start_node["name"], back.end_node["name"]), ("Cy", "Bo"), "a path against the direction")


@check("a managed write transaction is retried after a transient error")
def _():
    attempts = []

    def work(tx):
        tx.run("CREATE (:Retry {n: $n})", n=len(attempts)).consume()
        attempts.append(1)
        if len(attempts) == 1:
            raise TransientError("try again")
        return tx.run("MATCH (r:Retry) RETURN collect(r.n) AS ns").single()["ns"]

    with driver() as d, d.session() as s:
        ns = s.execute_write(work)
        expect(len(attempts), 2, "attempts")
        expect(ns, [1], "only the second attempt's write")
        expect(s.run("MATCH (r:Retry) RETURN count(r) AS c").single()["c"], 1, "committed once")


@check("a rolled-back transaction leaves nothing")
def _():
    with driver() as d, d.session() as s:
        tx = s.begin_transaction()
        tx.run("CREATE (:Gone)").consume()
        expect(tx.run("MATCH (g:Gone) RETURN count(g) AS c").single()["c"], 1, "inside")
        tx.rollback()
        expect(s.run("MATCH (g:Gone) RETURN count(g) AS c").single()["c"], 0, "after")


@check("10,000 rows with a fetch size of 100")
def _():
    with driver() as d, d.session(fetch_size=100) as s:
        result = s.run("UNWIND range(1, 10000) AS i RETURN i")
        total = sum(record["i"] for record in result)
        expect(total, 10000 * 10001 // 2, "sum")
        with s.begin_transaction() as tx:
            rows = list(tx.run("UNWIND range(1, 10000) AS i RETURN i"))
            expect(len(rows), 10000, "in a transaction")


@check("a syntax error carries its code and position")
def _():
    with driver() as d, d.session() as s:
        try:
            s.run("MATCH (n RETURN n").consume()
        except CypherSyntaxError as e:
            expect(e.code, "Neo.ClientError.Statement.SyntaxError", "code")
            if "line 1, column 10" not in e.message:
                raise AssertionError(e.message)
            expect(s.run("RETURN 2 AS two").single()["two"], 2, "the session goes on")
            return
    raise AssertionError("no error")


@check("bookmarks chain sessions")
def _():
    with driver() as d:
        with d.session() as s:
            s.run("CREATE (:Mark)").consume()
            bookmarks = s.last_bookmarks()
        with d.session(bookmarks=bookmarks) as s:
            expect(s.run("MATCH (m:Mark) RETURN count(m) AS c").single()["c"], 1, "seen")


@check("dbms.components() names the server")
def _():
    with driver() as d, d.session() as s:
        record = s.run("CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition").single()
        if not record["name"].startswith("Neo4j"):
            raise AssertionError(record["name"])


passed = failed = 0
for name, fn in checks:
    try:
        fn()
        print(f"PASS python: {name}")
        passed += 1
    except Exception as e:  # every failure is reported, not raised
        print(f"FAIL python: {name}: {type(e).__name__}: {e}")
        failed += 1
print(f"python driver {neo4j.__version__}: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
