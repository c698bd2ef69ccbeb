#!/usr/bin/env python3
"""Writes tests/malformed/cases.jsonl: bad inputs for every way data and queries get
into sprig, each with the error kind sprig must answer (SPEC section 3 kinds).

    python3 tests/malformed/generate.py

Each line: {"id", "target", "expect", ...input fields}. Targets:
  xml        "input" (text) or "input_hex" (bytes): a document for Database::load_xml
  csv        "nodes", "edges": files for Database::load_graph_csv
  xpath      "input": an expression over collection "books" (or "collection")
  cypher     "input": a statement on graph "default"; optional "timeout_ms",
             "memory_limit" (bytes)
  registry   "input", "format" (json|xml): a registry import file
tests/malformed_inputs.rs runs them all and checks that each fails with its kind,
nothing panics and the database is unchanged.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
cases = []


def add(target, expect, id_, **fields):
    cases.append({"id": id_, "target": target, "expect": expect, **fields})


def xml(id_, text, expect="xml"):
    add("xml", expect, id_, input=text)


def xml_bytes(id_, data, expect="xml"):
    add("xml", expect, id_, input_hex=data.hex())


# --- XML: structure --------------------------------------------------------------
xml("unclosed-root", "<a>")
xml("unclosed-child", "<a><b></a>")
xml("unclosed-deep", "<a><b><c><d>text</d></c>")
xml("mismatched-end", "<a></b>")
xml("mismatched-nested", "<a><b></a></b>")
xml("stray-end", "<a/></a>")
xml("end-only", "</a>")
xml("two-roots", "<a/><b/>")
xml("two-roots-text", "<a>x</a><a>y</a>")
xml("text-before-root", "hello<a/>")
xml("text-after-root", "<a/>hello")
xml("empty-document", "")
xml("whitespace-only", "   \n\t ")
xml("prolog-only", '<?xml version="1.0"?>')
xml("comment-only", "<!-- just a comment -->")
xml("pi-only", "<?target data?>")
xml("doctype-only", "<!DOCTYPE a>")
xml("lt-in-text", "<a>1 < 2</a>")
xml("bare-lt", "<a><</a>")
xml("open-angle-eof", "<a><")
xml("tag-eof", "<a")
xml("end-tag-eof", "<a></a")
xml("empty-tag-name", "<></>")
xml("space-before-name", "< a></a>")
xml("name-starts-digit", "<1a/>")
xml("name-starts-hyphen", "<-a/>")
xml("name-with-bang", "<a!b/>")
xml("end-tag-attr", "<a></a x='1'>")
xml("cdata-outside-root", "<![CDATA[x]]><a/>")
xml("cdata-unterminated", "<a><![CDATA[never ends</a>")
xml("comment-unterminated", "<a><!-- never ends</a>")
xml("comment-double-hyphen", "<a><!-- a -- b --></a>")
xml("comment-triple-hyphen-end", "<a><!-- a ---></a>")
xml("pi-unterminated", "<a><?pi never ends</a>")
xml("xml-decl-not-first", '<a/><?xml version="1.0"?>')
xml("xml-decl-after-space", ' <?xml version="1.0"?><a/>')
xml("xml-decl-twice", '<?xml version="1.0"?><?xml version="1.0"?><a/>')
xml("xml-decl-bad-version", '<?xml version="abc"?><a/>')
xml("xml-decl-no-version", '<?xml encoding="UTF-8"?><a/>')
xml("pi-target-xml-inside", "<a><?xml version='1.0'?></a>")
# --- XML: attributes -------------------------------------------------------------
xml("attr-no-value", "<a b></a>")
xml("attr-no-quotes", "<a b=1></a>")
xml("attr-unclosed-quote", "<a b='1></a>")
xml("attr-mixed-quotes", "<a b='1\"></a>")
xml("attr-duplicate", "<a b='1' b='2'/>")
xml("attr-duplicate-far", "<a b='1' c='2' d='3' b='4'/>")
xml("attr-lt-in-value", "<a b='<'/>")
xml("attr-no-space", "<a b='1'c='2'/>")
xml("attr-equals-only", "<a =''/>")
xml("attr-bad-entity", "<a b='&nope;'/>")
xml("attr-bare-amp", "<a b='&'/>")
xml("attr-duplicate-namespaced", "<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>")
xml("attr-huge-unterminated", "<a b='" + "x" * 1_000_000 + "></a>")
xml("attr-huge-then-broken", "<a b='" + "y" * 200_000 + "'><b></a>")
xml("attrs-many-duplicate", "<a " + " ".join(f"k{i}='{i}'" for i in range(5000)) + " k7='again'/>")
# --- XML: entities and character references ---------------------------------------
xml("entity-undefined", "<a>&nope;</a>")
xml("entity-no-semicolon", "<a>&amp</a>")
xml("entity-bare-amp", "<a>a & b</a>")
xml("entity-empty", "<a>&;</a>")
xml("charref-zero", "<a>&#0;</a>")
xml("charref-surrogate", "<a>&#xD800;</a>")
xml("charref-too-big", "<a>&#x110000;</a>")
xml("charref-huge", "<a>&#99999999999999999999;</a>")
xml("charref-not-number", "<a>&#abc;</a>")
xml("charref-hex-empty", "<a>&#x;</a>")
xml("charref-control", "<a>&#1;</a>")
xml("charref-fffe", "<a>&#xFFFE;</a>")
xml("entity-recursive", '<!DOCTYPE a [<!ENTITY e "&e;">]><a>&e;</a>')
xml("entity-mutual-recursion", '<!DOCTYPE a [<!ENTITY x "&y;"><!ENTITY y "&x;">]><a>&x;</a>')
lol = '<!DOCTYPE a [<!ENTITY l0 "lol">' + "".join(
    f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10)) + "]><a>&l9;</a>"
xml("billion-laughs", lol)
xml("entity-external", '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>')
xml("entity-markup-unbalanced", '<!DOCTYPE a [<!ENTITY e "<b>">]><a>&e;</a>')
xml("doctype-unterminated", "<!DOCTYPE a [<!ENTITY e 'x'>")
xml("doctype-after-root", "<a/><!DOCTYPE a>")
xml("doctype-twice", "<!DOCTYPE a><!DOCTYPE a><a/>")
xml("doctype-bad-entity-decl", '<!DOCTYPE a [<!ENTITY >]><a/>')
# --- XML: characters and encodings ------------------------------------------------
xml("control-char-text", "<a>\x01</a>")
xml("control-char-attr", "<a b='\x02'/>")
xml("vertical-tab", "<a>\x0b</a>")
xml("nul-in-text", "<a>\x00</a>")
xml("escape-char-in-name", "<a\x1b/>")
xml_bytes("latin1-undeclared", b"<a>caf\xe9</a>")
xml_bytes("truncated-utf8", b"<a>\xe2\x82</a>")
xml_bytes("overlong-utf8", b"<a>\xc0\xaf</a>")
xml_bytes("lone-continuation", b"<a>\x80</a>")
xml_bytes("utf8-surrogate", b"<a>\xed\xa0\x80</a>")
xml_bytes("invalid-utf8-in-name", b"<a\xff/>")
xml_bytes("invalid-utf8-in-attr", b"<a b='\xfe'/>")
xml_bytes("utf16-declared-utf8-body", b'<?xml version="1.0" encoding="UTF-16"?><a/>')
xml_bytes("unknown-encoding", b'<?xml version="1.0" encoding="X-NOPE-42"?><a/>')
xml_bytes("utf16le-bom-odd-length", b"\xff\xfe<\x00a\x00/\x00>")
xml_bytes("utf16be-bom-truncated", b"\xfe\xff\x00<\x00a\x00")
xml_bytes("utf8-bom-then-latin1", b"\xef\xbb\xbf<a>\xe9</a>")
xml_bytes("utf32-bom", b"\x00\x00\xfe\xff\x00\x00\x00<")
xml_bytes("binary-garbage", bytes(range(256)))
# --- XML: namespaces -------------------------------------------------------------
xml("ns-unbound-element", "<p:a/>")
xml("ns-unbound-attr", "<a p:b='1'/>")
xml("ns-unbound-end", "<a xmlns:p='u'><b></p:b></a>")
xml("ns-empty-prefixed", "<a xmlns:p=''/>")
xml("ns-rebind-xml", "<a xmlns:xml='urn:other'/>")
xml("ns-bind-xmlns", "<a xmlns:xmlns='urn:x'/>")
xml("ns-prefix-colon-only", "<:a/>")
xml("ns-double-colon", "<a:b:c xmlns:a='u'/>")
# --- XML: nesting past the limit ---------------------------------------------------
xml("deep-70000", "<a>" * 70000 + "</a>" * 70000)
xml("deep-65534", "<d>" * 65534 + "</d>" * 65534)
xml("deep-unclosed-200000", "<a>" * 200000)
xml("deep-with-attrs", "<a x='1'>" * 66000 + "</a>" * 66000)
xml("deep-mixed", "<a>t" * 66000 + "</a>" * 66000)
# --- XML: truncations of a real document --------------------------------------------
books = open(os.path.join(ROOT, "fixtures/xml/books.xml"), encoding="utf-8").read()
start = books.index("<catalog")
end = books.rindex("</catalog>")
for k in range(1, 31):
    cut = start + 1 + (end - start - 1) * k // 31
    xml(f"books-truncated-{k:02}", books[:cut])
# --- XML: one byte changed ---------------------------------------------------------
for k, (old, new) in enumerate([("<book", "<bo ok"), ("</title>", "</titel>"), ("=\"", "="), (">", ">&"),
                                ("</catalog>", "</catalog><x/>"), ("<title>", "<title><")]):
    pos = books.index(old, start + 10)
    xml(f"books-edit-{k}", books[:pos] + new + books[pos + len(old):])


# --- CSV ---------------------------------------------------------------------------
NODES = "id,label,name\na,Person,Ann\nb,Person,Bob\n"
EDGES = "src,dst,type\na,b,KNOWS\n"


def csv(id_, nodes=NODES, edges=EDGES, expect="csv"):
    add("csv", expect, id_, nodes=nodes, edges=edges)


csv("nodes-empty-file", nodes="")
csv("edges-empty-file", edges="")
csv("nodes-no-id-column", nodes="label,name\nPerson,Ann\n")
csv("nodes-no-label-column", nodes="id,name\na,Ann\n")
csv("nodes-columns-swapped", nodes="label,id\nPerson,a\n")
csv("edges-no-src", edges="dst,type\nb,KNOWS\n")
csv("edges-no-type", edges="src,dst\na,b\n")
csv("edges-columns-swapped", edges="type,src,dst\nKNOWS,a,b\n")
csv("edges-unknown-src", edges="src,dst,type\nzz,b,KNOWS\n")
csv("edges-unknown-dst", edges="src,dst,type\na,zz,KNOWS\n")
csv("edges-unknown-late", edges="src,dst,type\na,b,KNOWS\nb,a,KNOWS\na,ghost,KNOWS\n")
csv("nodes-duplicate-id", nodes="id,label\na,Person\na,Person\n")
csv("nodes-duplicate-id-late", nodes="id,label\n" + "".join(f"n{i},P\n" for i in range(2000)) + "n17,P\n",
    edges="src,dst,type\n")
csv("nodes-empty-id", nodes="id,label\n,Person\n")
csv("nodes-too-few-fields", nodes="id,label,name\na,Person\n")
csv("nodes-too-many-fields", nodes="id,label,name\na,Person,Ann,extra\n")
csv("edges-too-few-fields", edges="src,dst,type\na,b\n")
csv("edges-too-many-fields", edges="src,dst,type\na,b,KNOWS,x\n")
csv("edges-empty-type", edges="src,dst,type\na,b,\n")
csv("edges-empty-src", edges="src,dst,type\n,b,KNOWS\n")
csv("nodes-unterminated-quote", nodes='id,label,name\na,Person,"Ann\n')
csv("edges-unterminated-quote", edges='src,dst,type\na,b,"KNOWS\n')
csv("nodes-quote-in-field", nodes='id,label,name\na,Person,An"n\n')
csv("nodes-duplicate-header", nodes="id,label,name,name\na,Person,Ann,Anne\n")
csv("edges-duplicate-header", edges="src,dst,type,w,w\na,b,KNOWS,1,2\n")
csv("nodes-empty-header-name", nodes="id,label,,x\na,Person,1,2\n")
csv("nodes-header-only-id", nodes="id\na\n")
csv("nodes-label-empty-part", nodes="id,label\na,Person;;Dev\n")
csv("nodes-header-whitespace", nodes=" id,label\na,P\n")
csv("edges-src-of-other-load", edges="src,dst,type\nada,b,KNOWS\n")
for k in range(1, 11):
    body = "".join(f"n{i},P,name {i}\n" for i in range(50))
    broken = body + f"n{50 + k},P" + ",x" * (k % 3 + 2) + "\n"
    csv(f"nodes-bad-row-after-{50 + k}", nodes="id,label,name\n" + broken, edges="src,dst,type\n")
for k in range(1, 6):
    edges = "src,dst,type\n" + "a,b,KNOWS\n" * (10 * k) + "a\n"
    csv(f"edges-short-row-after-{10 * k}", edges=edges)
add("csv", "csv", "nodes-invalid-utf8", nodes_hex=b"id,label,name\na,Person,caf\xe9\n".hex(), edges=EDGES)
add("csv", "csv", "edges-invalid-utf8", nodes=NODES, edges_hex=b"src,dst,type\na,b,KN\xffOWS\n".hex())
add("csv", "csv", "nodes-nul-bytes", nodes_hex=b"id,label\x00,name\na,P,A\n".hex(), edges=EDGES)


# --- XPath -------------------------------------------------------------------------
def xp(id_, expr, expect="syntax", collection=None):
    fields = {"input": expr}
    if collection:
        fields["collection"] = collection
    add("xpath", expect, id_, **fields)


for k, e in enumerate(["", "   ", "//", "/a/", "a[", "a]", "a[]", "(", ")", "(1", "1)", "'unterminated",
                       '"unterminated', "@@a", "a/@", "child::", "nope::a", "a::b::c", "..a", "...", "$",
                       "$1", "1 +", "+ 1", "1 * * 2", "and and", "or 1", "1 = = 2", "1 != ", "a | ", "| a",
                       "a[1]]", "f(", "f(1,", "f(,1)", "count(1,)", "1.2.3", "1e5", "a b", "a 'x'",
                       "/child::a[position() = ]", "node(", "text(1)", "processing-instruction(1)",
                       "comment('x')", "a//", "a///b", "@", "::", "a[@]", "-", "a/-b", "!a", "a != ",
                       "a <> b", "a == b", "a && b", "{a}", "a;b", "#", "a\\b", "ancestor::", "a/..b"]):
    xp(f"syntax-{k:02}", e)
xp("unknown-function", "nope(1)", "xpath")
xp("unknown-function-prefixed", "fn:count(//a)", "xpath")
xp("arity-too-few", "substring('a')", "xpath")
xp("arity-too-many", "count(//a, //b)", "xpath")
xp("arity-none-for-one", "not()", "xpath")
xp("unbound-prefix", "//p:book", "xpath")
xp("unbound-variable", "$nope", "xpath")
xp("count-of-number", "count(1)", "type")
xp("sum-of-string", "sum('a')", "type")
xp("union-of-numbers", "1 | 2", "type")
xp("path-from-number", "(1)/a", "type")
xp("predicate-on-string", "'a'[1]", "type")
xp("id-of-boolean", "name(true())", "type")
xp("deep-parens", "(" * 5000 + "1" + ")" * 5000)
xp("deep-negation", "-" * 5000 + "1")
xp("deep-predicates", "a[" * 2000 + "1" + "]" * 2000)
xp("deep-functions", "concat(" * 1000 + "'a','b'" + ")" * 1000)
xp("too-many-operators", "+".join(["1"] * 5000))
xp("unknown-collection", "//a", "collection", collection="nope")


# --- Cypher ------------------------------------------------------------------------
def cy(id_, q, expect="syntax", **extra):
    add("cypher", expect, id_, input=q, **extra)


for k, q in enumerate(["", ";", "MATCH", "MATCH (n", "MATCH n RETURN n", "RETURN", "RETURN 1 +", "RETURN (1",
                       "RETURN [1, 2", "RETURN {a: 1", "RETURN 'unterminated", "MATCH (n)-[r->(m) RETURN n",
                       "MATCH (n)-[*..x]->(m) RETURN n", "RETURN 1 AS", "WITH RETURN 1",
                       "MATCH (n) WHERE RETURN n", "RETURN 1 ORDER", "RETURN 1 SKIP", "UNWIND [1] RETURN 1",
                       "RETURN 0x", "RETURN 1.2.3", "RETURN 1e", "RETURN $", "RETURN a.", "RETURN CASE END",
                       "RETURN CASE WHEN true THEN 1", "MATCH (n:) RETURN n", "MATCH (n {a:}) RETURN n",
                       "RETURN `unterminated", "RETURN 9223372036854775808", "RETURN -9223372036854775809",
                       "RETURN --9223372036854775808 AS literal", "CALL { RETURN 1", "RETURN [x IN [1] | ]",
                       "MATCH (a) RETURN a LIMIT", "DELETE", "RETURN 1 2", "RETURN 'a' 'b'",
                       "MERGE", "REMOVE n", "MATCH ()-->() RETURN *,", "RETURN 1 UNION", "FOREACH"]):
    cy(f"syntax-{k:02}", q)
cy("undefined-variable", "RETURN nope", "semantic")
cy("undefined-in-where", "MATCH (n) WHERE m.x = 1 RETURN n", "semantic")
cy("rebound-variable", "MATCH (n) CREATE (n)", "semantic")
cy("kind-conflict", "MATCH (n)-[n]->() RETURN n", "semantic")
cy("aggregate-in-where", "MATCH (n) WHERE count(n) > 1 RETURN n", "semantic")
cy("nested-aggregate", "MATCH (n) RETURN count(count(n))", "semantic")
cy("create-without-type", "CREATE (a)-[:]->(b)", "syntax")
cy("create-undirected", "CREATE (a)-[:R]-(b)", "semantic")
cy("create-varlength", "CREATE (a)-[:R*2]->(b)", "semantic")
cy("limit-negative", "RETURN 1 LIMIT -1", "semantic")
cy("limit-not-integer", "RETURN 1 LIMIT 1.5", "semantic")
cy("skip-variable", "MATCH (n) RETURN n SKIP n.x", "semantic")
cy("union-column-mismatch", "RETURN 1 AS a UNION RETURN 2 AS b", "semantic")
cy("return-star-empty", "RETURN *", "semantic")
cy("delete-non-entity", "WITH 1 AS x DELETE x", "type")
cy("minus-string", "RETURN 1 - 'a'", "type")
cy("multiply-list", "RETURN [1] * 2", "type")
cy("not-of-int", "RETURN NOT 1", "semantic")
cy("and-of-string", "RETURN 'a' AND true", "semantic")
cy("property-of-int", "WITH 1 AS x RETURN x.name", "type")
cy("index-string-by-string", "RETURN 'abc'['x']", "type")
cy("unwind-then-type", "UNWIND [1, 'a'] AS x RETURN x - 1", "type")
cy("tointeger-of-list", "RETURN toInteger([1])", "semantic")
cy("not-of-int-at-runtime", "WITH 1 AS x RETURN NOT x", "type")
cy("tointeger-of-list-at-runtime", "WITH [1] AS x RETURN toInteger(x)", "type")
cy("create-without-type-pattern", "CREATE (a)-[]->(b)", "semantic")
cy("set-undefined", "SET n.x = 1", "semantic")
cy("integer-divide-zero", "RETURN 1 / 0", "arithmetic")
cy("integer-modulo-zero", "RETURN 1 % 0", "arithmetic")
cy("integer-overflow-add", "RETURN 9223372036854775807 + 1", "arithmetic")
cy("integer-overflow-mul", "RETURN 4611686018427387904 * 4", "arithmetic")
cy("range-step-zero", "RETURN range(1, 10, 0)", "argument")
cy("range-of-string", "RETURN range('a', 2)", "argument")
cy("unknown-function", "RETURN nope(1)", "semantic")
cy("wrong-arity", "RETURN abs(1, 2)", "semantic")
cy("delete-connected", "MATCH (p:Person {name: 'Ada'}) DELETE p", "constraint")
cy("write-then-error", "CREATE (:Tmp {x: 1}) WITH 1 AS one RETURN 1 / 0", "arithmetic")
cy("write-many-then-error", "UNWIND range(1, 100) AS i CREATE (:Tmp {i: i}) WITH i WHERE i = 100 RETURN i / 0",
   "arithmetic")
cy("set-then-type-error", "MATCH (p:Person) SET p.age = p.age + 1 WITH p RETURN p.name - 1", "type")
cy("deep-parens", "RETURN " + "(" * 5000 + "1" + ")" * 5000)
cy("deep-lists", "RETURN " + "[" * 5000 + "1" + "]" * 5000)
cy("deep-maps", "RETURN " + "{a: " * 3000 + "1" + "}" * 3000)
cy("deep-not", "RETURN " + "NOT " * 5000 + "true")
cy("deep-negation", "RETURN " + "-" * 5000 + "1")
cy("deep-functions", "RETURN " + "abs(" * 3000 + "1" + ")" * 3000)
cy("deep-subqueries", "MATCH (a) WHERE " + "EXISTS { MATCH (b) WHERE " * 300 + "true" + " }" * 300 + " RETURN a")
cy("too-many-operators", "RETURN " + "+".join(["1"] * 5000))
cy("long-property-chain", "WITH {a: 1} AS x RETURN x" + ".a" * 5000)
cy("timeout-cartesian", "MATCH (a), (b), (c), (d), (e), (f), (g) RETURN count(*)", "timeout", timeout_ms=100)
cy("timeout-varlength", "MATCH (a)-[*]-(b), (c)-[*]-(d) RETURN count(*)", "timeout", timeout_ms=100)
cy("timeout-reduce", "RETURN reduce(s = 0, x IN range(1, 100000000) | s + x)", "timeout", timeout_ms=100)
cy("timeout-unwind", "UNWIND range(1, 100000000) AS x RETURN count(x)", "timeout", timeout_ms=100)
cy("memory-range", "RETURN size(range(1, 10000000000))", "memory")
cy("memory-collect", "UNWIND range(1, 2000000) AS x RETURN size(collect(x))", "memory",
   memory_limit=16 << 20)
cy("memory-sort", "UNWIND range(1, 2000000) AS x WITH x ORDER BY x DESC RETURN count(x)", "memory",
   memory_limit=16 << 20)
cy("memory-distinct", "UNWIND range(1, 2000000) AS x RETURN count(DISTINCT x)", "memory",
   memory_limit=16 << 20)
cy("memory-comprehension", "RETURN size([x IN range(1, 100000) | range(1, 1000)])", "memory",
   memory_limit=64 << 20)
cy("memory-cartesian-sort", "MATCH (a), (b), (c), (d) RETURN a, b, c, d ORDER BY a.name", "memory",
   memory_limit=1 << 20)
cy("use-bad-graph-name", "USE `a\u0000b` MATCH (n) RETURN n", "argument")


# --- Registry ----------------------------------------------------------------------
def reg(id_, text, fmt="json", expect="registry"):
    add("registry", expect, id_, input=text, format=fmt)


reg("json-not-json", "{models: [")
reg("json-wrong-top", "[1, 2]")
reg("json-unknown-field", '{"models": [{"name": "m", "colour": "red"}]}')
reg("json-unknown-section", '{"cars": []}')
reg("json-sparsity-range", '{"models": [{"name": "m", "sparsity": 1.5}]}')
reg("json-negative-speedup", '{"hardware": [{"name": "h", "kind": "GPU"}], "models": [{"name": "m", '
    '"deployed_on": [{"hardware": "h", "speedup": -2}]}]}')
reg("json-missing-base", '{"models": [{"name": "m", "derived_from": [{"model": "ghost", "relation": "pruned"}]}]}')
reg("json-bad-relation", '{"models": [{"name": "b"}, {"name": "m", "derived_from": [{"model": "b", '
    '"relation": "painted"}]}]}')
reg("json-self-derived", '{"models": [{"name": "m", "derived_from": [{"model": "m", "relation": "pruned"}]}]}')
reg("json-empty-name", '{"models": [{"name": ""}]}')
reg("json-duplicate-name", '{"models": [{"name": "m"}, {"name": "m"}]}')
reg("json-wrong-type", '{"models": [{"name": "m", "sparsity": "high"}]}')
reg("json-existing-conflict", '{"models": [{"name": "ResNet-18", "sparsity": 0.5}]}')
reg("json-deep-nesting", "[" * 10000 + "]" * 10000)
reg("xml-malformed", "<registry><model name='m'></registry>", "xml")
reg("xml-unknown-element", "<registry><car name='c'/></registry>", "xml")
reg("xml-unknown-attribute", "<registry><model name='m' colour='red'/></registry>", "xml")
reg("xml-bad-number", "<registry><model name='m' sparsity='lots'/></registry>", "xml")
reg("xml-range", "<registry><model name='m' sparsity='2'/></registry>", "xml")
reg("xml-wrong-root", "<models/>", "xml")

with open(os.path.join(HERE, "cases.jsonl"), "w", encoding="utf-8") as out:
    for c in cases:
        out.write(json.dumps(c, ensure_ascii=True) + "\n")
print(f"{len(cases)} cases")
