//! Structural joins, measured two ways on a deterministic highly recursive document:
//! end to end (`Database::xpath_with` with each `--join`), and the bare operators on
//! region lists. Run: `cargo bench --bench structural_join`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sprig::{Database, JoinAlgorithm, XPathOptions};
use sprig_query::xpath::exec::joins::{disjoint_semijoin, stack_tree_desc, twig_stack_path, Edge, Region, TwigStats};

/// A small xorshift generator, so the document is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sections in sections and a in a, with b, c, title and p leaves (as
/// `shared/data/xml/gen_recursive.py` makes them), about `elements` elements.
fn recursive_document(elements: usize, seed: u64) -> String {
    fn node(rng: &mut Rng, depth: u32, out: &mut String, left: &mut usize) {
        *left = left.saturating_sub(1);
        let r = rng.below(100);
        if depth > 24 || r < 30 || *left == 0 {
            let leaf = ["b", "c", "title", "p"][rng.below(4) as usize];
            out.push_str(&format!("<{leaf}>w{}</{leaf}>", rng.below(10)));
            return;
        }
        let tag = if r < 62 { "section" } else { "a" };
        let ty = ["x", "y", "z"][rng.below(3) as usize];
        out.push_str(&format!("<{tag} level=\"{depth}\" type=\"{ty}\">"));
        if tag == "section" {
            out.push_str("<title>t</title>");
        }
        let children = if depth < 6 { 1 + rng.below(4) } else { rng.below(3) };
        for _ in 0..children {
            node(rng, depth + 1, out, left);
        }
        out.push_str(&format!("</{tag}>"));
    }
    let mut rng = Rng(seed);
    let mut out = String::from("<doc>");
    let mut left = elements;
    while left > 0 {
        node(&mut rng, 0, &mut out, &mut left);
    }
    out.push_str("</doc>");
    out
}

/// Node-set queries: every algorithm materializes the same nodes in document order.
const QUERIES: [&str; 5] = [
    "//a//a//b",
    "//section//section//title",
    "//section[@type='x']//section//title",
    "//a[b]//c",
    "//section[title]//a[c]//b",
];

fn end_to_end(c: &mut Criterion) {
    let db = Database::in_memory().expect("database");
    db.load_xml("rec", recursive_document(60_000, 7).as_bytes()).expect("load");
    for query in QUERIES {
        let mut group = c.benchmark_group(query);
        for join in [JoinAlgorithm::Sisj, JoinAlgorithm::TwigStack, JoinAlgorithm::StackTree, JoinAlgorithm::Navigate] {
            let options = XPathOptions { join, ..Default::default() };
            group.bench_function(BenchmarkId::from_parameter(join.name()), |b| {
                b.iter(|| db.xpath_with("rec", query, &options).expect("query"))
            });
        }
        group.finish();
    }
}

/// Nested ancestors (a chain per block) and descendants spread over them.
fn region_lists(blocks: u32) -> (Vec<Region>, Vec<Region>, Vec<Region>) {
    let mut nested = Vec::new();
    let mut flat = Vec::new();
    let mut leaves = Vec::new();
    for i in 0..blocks {
        let base = i * 100;
        for depth in 0..5u32 {
            nested.push(Region { pre: base + depth, end: base + 99 - depth, level: (depth + 1) as u16 });
        }
        flat.push(Region { pre: base, end: base + 99, level: 1 });
        for k in 0..10u32 {
            leaves.push(Region { pre: base + 10 + k * 8, end: base + 10 + k * 8, level: 7 });
        }
    }
    (nested, flat, leaves)
}

fn operators(c: &mut Criterion) {
    let (nested, flat, leaves) = region_lists(10_000);
    let mut group = c.benchmark_group("join operators, 50k ancestors x 100k descendants");
    group.bench_function("stack_tree_desc", |b| b.iter(|| stack_tree_desc(&nested, &leaves, Edge::Descendant)));
    group.bench_function("twig_stack_path", |b| {
        b.iter(|| {
            let mut stats = TwigStats::default();
            let mut all = |_: usize, _: &Region| Ok(true);
            let root = vec![Region { pre: 0, end: u32::MAX, level: 0 }];
            twig_stack_path(
                &[root, nested.clone(), leaves.clone()],
                &[Edge::Descendant, Edge::Descendant],
                &mut all,
                &mut stats,
            )
        })
    });
    group.bench_function("disjoint_semijoin (one partition)", |b| b.iter(|| disjoint_semijoin(&flat, &leaves)));
    group.finish();
}

criterion_group!(benches, end_to_end, operators);
criterion_main!(benches);
