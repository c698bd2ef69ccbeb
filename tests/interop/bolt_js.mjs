// sprig's Bolt server against Neo4j's official JavaScript driver.
//
// Run by tests/interop/run_bolt.py with the server's Bolt address and token (and
// NODE_PATH naming where neo4j-driver is installed); prints one `PASS name` or
// `FAIL name: why` line per check.
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), 'x.js'))
const neo4j = require('neo4j-driver')
const [address, token] = process.argv.slice(2)
const checks = []
const check = (name, fn) => checks.push([name, fn])
const driver = (scheme = 'bolt', password = token) =>
  neo4j.driver(`${scheme}://${address}`, neo4j.auth.basic('neo4j', password), { disableLosslessIntegers: true })

// Maps compare without their key order, which Bolt does not keep.
const canonical = (v) => JSON.stringify(v, (_, x) =>
  x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x)

function expect (got, want, what) {
  const g = canonical(got)
  const w = canonical(want)
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`)
}

async function withSession (fn, config = {}) {
  const d = driver()
  const s = d.session(config)
  try {
    return await fn(s)
  } finally {
    await s.close()
    await d.close()
  }
}

check('connects over bolt:// and neo4j:// and reports a Neo4j agent', async () => {
  for (const scheme of ['bolt', 'neo4j']) {
    const d = driver(scheme)
    try {
      const info = await d.getServerInfo()
      if (!info.agent.startsWith('Neo4j/')) throw new Error(info.agent)
      const s = d.session()
      const r = await s.run('RETURN 1 AS one')
      expect(r.records[0].get('one'), 1, scheme)
      await s.close()
    } finally {
      await d.close()
    }
  }
})

check('a wrong token is refused', async () => {
  const d = driver('bolt', 'wrong')
  try {
    await d.verifyConnectivity()
    throw new Error('accepted')
  } catch (e) {
    expect(e.code, 'Neo.ClientError.Security.Unauthorized', 'code')
  } finally {
    await d.close()
  }
})

check('parameters of every type come back as they went', async () => {
  const values = {
    nothing: null, t: true, f: false, small: -16, int: 1234567890123, float: 3.25, text: 'héllo 😀', empty: '',
    list: [1, 'two', 3.5, null, [true]], map: { a: 1, b: { c: ['d'] } }
  }
  await withSession(async (s) => {
    const r = await s.run('RETURN $v AS v', { v: values })
    expect(r.records[0].get('v'), values, 'round trip')
  })
  // Integers beyond 2^53, with the driver's lossless integers.
  const d = neo4j.driver(`bolt://${address}`, neo4j.auth.basic('neo4j', token))
  try {
    const s = d.session()
    const big = await s.run('RETURN $i AS i, $i + 1 AS next', { i: neo4j.int('-9223372036854775808') })
    expect([big.records[0].get('i').toString(), big.records[0].get('next').toString()],
      ['-9223372036854775808', '-9223372036854775807'], 'a 64-bit integer')
    await s.close()
  } finally {
    await d.close()
  }
})

check('temporal values go both ways and are computed on', async () => {
  await withSession(async (s) => {
    const d = new neo4j.types.Date(2024, 1, 2)
    const m = new neo4j.types.DateTime(2024, 1, 2, 10, 30, 0, 500000000, 19800)
    const span = new neo4j.types.Duration(14, 3, 7200, 5)
    const r = await s.run("RETURN $d AS d, $m AS m, $s AS s, $d + duration('P1D') AS next, toString($m) AS text",
      { d, m, s: span })
    const rec = r.records[0]
    expect([rec.get('d').year, rec.get('d').month, rec.get('d').day], [2024, 1, 2], 'date')
    const got = rec.get('m')
    expect([got.hour, got.minute, got.nanosecond, got.timeZoneOffsetSeconds], [10, 30, 500000000, 19800], 'date-time')
    const sd = rec.get('s')
    expect([sd.months, sd.days, sd.seconds, sd.nanoseconds], [14, 3, 7200, 5], 'duration')
    expect(rec.get('next').toString(), '2024-01-03', 'date plus a day')
    expect(rec.get('text'), '2024-01-02T10:30:00.500+05:30', 'string form')
  })
})

check('a parameter sprig has no type for gets a FAILURE', async () => {
  await withSession(async (s) => {
    try {
      await s.run('RETURN $p AS p', { p: new neo4j.types.Point(7203, 1.0, 2.0) })
      throw new Error('a point was accepted')
    } catch (e) {
      expect(e.code, 'Neo.ClientError.Statement.TypeError', 'code')
    }
  })
})

check('nodes, relationships and paths read back', async () => {
  await withSession(async (s) => {
    await s.run('MATCH (n) DETACH DELETE n')
    const created = await s.run(
      "CREATE (a:Person {name: 'Ann', age: 41})-[:KNOWS {since: 2020}]->(b:Person:Admin {name: 'Bo'}) " +
      "CREATE (b)-[:KNOWS {since: 2021}]->(:Person {name: 'Cy'})")
    expect(created.summary.counters.updates().nodesCreated, 3, 'nodes created')
    const r = await s.run("MATCH (a {name: 'Ann'})-[r]->(b) RETURN a, r, b")
    const [a, rel, b] = ['a', 'r', 'b'].map((k) => r.records[0].get(k))
    expect(a.labels, ['Person'], 'labels')
    expect(a.properties, { age: 41, name: 'Ann' }, 'properties')
    expect(b.labels.slice().sort(), ['Admin', 'Person'], 'labels')
    expect([rel.type, rel.properties.since, rel.startNodeElementId, rel.endNodeElementId],
      ['KNOWS', 2020, a.elementId, b.elementId], 'relationship')
    const p = (await s.run("MATCH p = (:Person {name: 'Ann'})-[:KNOWS*2]->(c) RETURN p")).records[0].get('p')
    expect(p.segments.map((seg) => [seg.start.properties.name, seg.relationship.properties.since, seg.end.properties.name]),
      [['Ann', 2020, 'Bo'], ['Bo', 2021, 'Cy']], 'path segments')
  })
})

check('a managed write transaction is retried after a transient error', async () => {
  let attempts = 0
  await withSession(async (s) => {
    const ns = await s.executeWrite(async (tx) => {
      await tx.run('CREATE (:Retry {n: $n})', { n: attempts })
      attempts += 1
      if (attempts === 1) throw new neo4j.Neo4jError('try again', 'Neo.TransientError.Transaction.DeadlockDetected')
      return (await tx.run('MATCH (r:Retry) RETURN collect(r.n) AS ns')).records[0].get('ns')
    })
    expect(attempts, 2, 'attempts')
    expect(ns, [1], "only the second attempt's write")
  })
})

check('a rolled-back transaction leaves nothing', async () => {
  await withSession(async (s) => {
    const tx = s.beginTransaction()
    await tx.run('CREATE (:Gone)')
    expect((await tx.run('MATCH (g:Gone) RETURN count(g) AS c')).records[0].get('c'), 1, 'inside')
    await tx.rollback()
    expect((await s.run('MATCH (g:Gone) RETURN count(g) AS c')).records[0].get('c'), 0, 'after')
  })
})

check('10,000 rows with a fetch size of 100', async () => {
  await withSession(async (s) => {
    let total = 0
    for await (const record of s.run('UNWIND range(1, 10000) AS i RETURN i')) total += record.get('i')
    expect(total, 10000 * 10001 / 2, 'sum')
  }, { fetchSize: 100 })
})

check('a syntax error carries its code and position', async () => {
  await withSession(async (s) => {
    try {
      await s.run('MATCH (n RETURN n')
      throw new Error('no error')
    } catch (e) {
      expect(e.code, 'Neo.ClientError.Statement.SyntaxError', 'code')
      if (!e.message.includes('line 1, column 10')) throw new Error(e.message)
    }
    expect((await s.run('RETURN 2 AS two')).records[0].get('two'), 2, 'the session goes on')
  })
})

let passed = 0
let failed = 0
for (const [name, fn] of checks) {
  try {
    await fn()
    console.log(`PASS js: ${name}`)
    passed++
  } catch (e) {
    console.log(`FAIL js: ${name}: ${e.message}`)
    failed++
  }
}
console.log(`js driver ${require('neo4j-driver/package.json').version}: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
