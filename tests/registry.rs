//! The model registry: the seed, its two views kept in agreement, rejected records
//! that change neither view, atomic imports, Cypher writes checked by the same rules,
//! the XML format against its schema, and the command line.

use assert_cmd::Command;
use predicates::prelude::*;
use sprig::registry::{Format, Records};
use sprig::{Database, XPathValue};

const SEED_XML: &str = include_str!("../fixtures/registry/seed.xml");
const SEED_JSON: &str = sprig::fixtures::REGISTRY_SEED;
const XSD: &str = include_str!("../fixtures/registry/registry.xsd");

fn seeded() -> Database {
    let db = Database::in_memory().unwrap();
    db.registry_import_text(SEED_JSON, Format::Json).unwrap();
    db
}

/// Both views, as text: the records read from the graph, and the XML documents.
fn views(db: &Database) -> (Records, Vec<(String, String)>) {
    let records = db.registry().unwrap();
    let docs = match db.xpath("registry", "/model") {
        Ok(XPathValue::NodeSet(nodes)) => nodes.iter().map(|n| n.map(|n| (n.doc, n.string)).unwrap()).collect(),
        Ok(other) => panic!("{other:?}"),
        Err(e) if e.kind() == "collection" => Vec::new(),
        Err(e) => panic!("{e}"),
    };
    (records, docs)
}

fn xpath_strings(db: &Database, expr: &str) -> Vec<String> {
    match db.xpath("registry", expr).unwrap() {
        XPathValue::NodeSet(nodes) => nodes.iter().map(|n| n.unwrap().string).collect(),
        other => panic!("{other:?}"),
    }
}

/// The two views agree: every model of the graph has its document with the same
/// relationships.
fn assert_views_agree(db: &Database) {
    let records = db.registry().unwrap();
    let names: Vec<String> = records.models.iter().map(|m| m.name.clone()).collect();
    assert_eq!(xpath_strings(db, "/model/@name"), names);
    for m in &records.models {
        let q = |step: &str, attr: &str| xpath_strings(db, &format!("/model[@name=\"{}\"]/{step}/@{attr}", m.name));
        assert_eq!(q("derived-from", "model"), m.derived_from.iter().map(|d| d.model.clone()).collect::<Vec<_>>());
        assert_eq!(q("pruning", "method"), m.pruned_with.iter().map(|p| p.method.clone()).collect::<Vec<_>>());
        assert_eq!(q("evaluation", "dataset"), m.evaluated_on.iter().map(|e| e.dataset.clone()).collect::<Vec<_>>());
        assert_eq!(q("deployment", "hardware"), m.deployed_on.iter().map(|d| d.hardware.clone()).collect::<Vec<_>>());
        assert_eq!(q("paper", "title"), m.reported_in);
    }
}

#[test]
fn the_seed_lists_every_result_and_both_views_agree() {
    let db = seeded();
    let records = db.registry().unwrap();
    assert_eq!(records.models.len(), 39);
    assert_eq!(records.papers.len(), 12);
    let listed: Vec<String> = db.registry_list().unwrap().into_iter().map(|e| e.model).collect();
    assert_eq!(listed.len(), 23, "{listed:?}");
    for name in [
        "GPT-2 structured-pruned 80%",
        "BERT structured-pruned 80%",
        "ResNet-18 PE-wise pruned + ternarized",
        "Transformer TPrune",
        "R(2+1)D ADMM-pruned",
        "ViT SiDT 20%",
        "ViT SiDT 40%",
        "FCR-pruned CNN",
        "Polyglot-Ko Wanda 50%",
        "Polyglot-Ko Wanda 4:8",
        "Polyglot-Ko Wanda 2:4",
        "DenseNet201 compressed",
        "MobileNet maritime lightweight",
        "MobileNet-V3 double-pruned",
        "GRU structured sparse (FPGA)",
        "MeDNN distributed DNN",
        "Memristor DNN (ADMM pruning + 8-bit)",
        "GMM speaker identification with speaker pruning",
        "Korean address recognizer (adaptive threshold)",
    ] {
        assert!(listed.contains(&name.to_string()), "{name} is not listed");
    }
    let resnet = db.registry_list().unwrap().into_iter().find(|e| e.model.starts_with("ResNet-18 PE")).unwrap();
    assert_eq!(resnet.base, "ResNet-18");
    assert_eq!(resnet.delta, "top-1 accuracy (%) -1.74 on ImageNet; top-5 accuracy (%) -0.94 on ImageNet");
    assert_eq!(resnet.hardware, "FPGA");
    let tprune = db.registry_list().unwrap().into_iter().find(|e| e.model == "Transformer TPrune").unwrap();
    assert_eq!(tprune.speedup, "1.16-1.92x");
    assert_views_agree(&db);
}

#[test]
fn json_and_xml_imports_give_the_same_registry_and_export_round_trips() {
    let from_json = seeded();
    let from_xml = Database::in_memory().unwrap();
    from_xml.registry_import_text(SEED_XML, Format::Xml).unwrap();
    assert_eq!(from_json.registry().unwrap(), from_xml.registry().unwrap());
    // The bundled XML is what export prints (it cannot drift from the JSON seed).
    assert_eq!(sprig::registry::to_xml(&from_json.registry().unwrap()), SEED_XML);
    let again = Database::in_memory().unwrap();
    again.registry_import_text(&sprig::registry::to_json(&from_xml.registry().unwrap()), Format::Json).unwrap();
    assert_eq!(again.registry().unwrap(), from_json.registry().unwrap());
    // Values with newlines, quotes and markup read back exactly.
    let odd = r#"{"models": [{"name": "a <b> & \"c\"", "notes": "line 1\nline 2\ttab"}]}"#;
    let db = Database::in_memory().unwrap();
    db.registry_import_text(odd, Format::Json).unwrap();
    let xml = sprig::registry::to_xml(&db.registry().unwrap());
    let back = Database::in_memory().unwrap();
    back.registry_import_text(&xml, Format::Xml).unwrap();
    assert_eq!(back.registry().unwrap(), db.registry().unwrap());
    assert_eq!(xpath_strings(&db, "/model/@notes"), vec!["line 1\nline 2\ttab".to_string()]);
}

fn rejected(db: &Database, text: &str, format: Format, message: &str) {
    let before = views(db);
    let err = db.registry_import_text(text, format).expect_err("the import must fail");
    assert_eq!(err.kind(), "registry", "{err}");
    assert!(err.to_string().contains(message), "{err} does not say '{message}'");
    assert_eq!(views(db), before, "a rejected import changed the registry");
}

#[test]
fn wrong_records_are_rejected_with_clear_errors_and_change_neither_view() {
    let db = seeded();
    rejected(&db, r#"{"models": [{"name": "x", "colour": "red"}]}"#, Format::Json, "unknown field `colour`");
    rejected(&db, r#"{"models": [{"name": "x", "sparsity": 1.5}]}"#, Format::Json, "outside [0, 1]");
    rejected(
        &db,
        r#"{"models": [{"name": "x", "pruned_with": [{"method": "Wanda", "ratio": -0.1}]}]}"#,
        Format::Json,
        "outside [0, 1]",
    );
    rejected(
        &db,
        r#"{"models": [{"name": "x", "derived_from": [{"model": "ResNet-999", "relation": "pruned"}]}]}"#,
        Format::Json,
        "base model 'ResNet-999' is not in the registry",
    );
    rejected(&db, r#"{"models": [{"name": "GPT-2"}]}"#, Format::Json, "duplicate model name 'GPT-2'");
    rejected(&db, r#"{"models": [{"name": "y"}, {"name": "y"}]}"#, Format::Json, "duplicate model name 'y'");
    rejected(&db, r#"{"methods": [{"name": "Wanda", "kind": "structured"}]}"#, Format::Json, "other fields");
    rejected(
        &db,
        r#"{"models": [{"name": "x", "derived_from": [{"model": "GPT-2", "relation": "copied"}]}]}"#,
        Format::Json,
        "relation 'copied'",
    );
    rejected(
        &db,
        r#"{"models": [{"name": "a", "derived_from": [{"model": "b", "relation": "pruned"}]},
                       {"name": "b", "derived_from": [{"model": "a", "relation": "pruned"}]}]}"#,
        Format::Json,
        "derived from itself",
    );
    rejected(&db, r#"{"models": [{"name": "x", "params": 1.5}]}"#, Format::Json, "invalid type");
    rejected(&db, "<registry><model name='x' colour='red'/></registry>", Format::Xml, "unknown field 'colour'");
    rejected(&db, "<registry><model name='x'><gpu/></model></registry>", Format::Xml, "unknown element <gpu>");
    rejected(&db, "<model name='x' sparsity='lots'/>", Format::Xml, "not a number");
    rejected(
        &db,
        "<registry><model name='x'><pruning method='Wanda' kind='a'/><pruning method='Wanda' kind='b'/></model></registry>",
        Format::Xml,
        "given twice with different fields",
    );
    // Positions point into the file.
    let err =
        db.registry_import_text("{\n  \"models\": [\n    {\"name\": \"x\", \"oops\": 1}]}", Format::Json).unwrap_err();
    assert_eq!(err.position().map(|p| p.0), Some(3), "{err}");
    let err = db
        .registry_import_text("<registry>\n  <model name='x'>\n    <bad/>\n  </model>\n</registry>", Format::Xml)
        .unwrap_err();
    assert_eq!(err.position(), Some((3, 5)), "{err}");
    let err = db.registry_import_text("<registry>\n<model name='x'>\n</registry>", Format::Xml).unwrap_err();
    assert_eq!(err.kind(), "registry");
    assert!(err.position().is_some(), "{err}");
}

#[test]
fn an_import_of_many_records_is_one_transaction() {
    let db = seeded();
    let model = |i: usize| {
        format!(
            r#"{{"name": "bulk {i}", "sparsity": 0.{}, "derived_from": [{{"model": "ResNet-18", "relation": "pruned"}}],
               "pruned_with": [{{"method": "Wanda", "ratio": 0.5}}],
               "evaluated_on": [{{"dataset": "ImageNet", "metric": "top-1 accuracy (%)", "delta": -{i}.5}}]}}"#,
            i % 10
        )
    };
    let good: Vec<String> = (0..60).map(model).collect();
    let mut bad = good.clone();
    bad.push(r#"{"name": "broken", "derived_from": [{"model": "nowhere", "relation": "pruned"}]}"#.into());
    rejected(&db, &format!(r#"{{"models": [{}]}}"#, bad.join(",")), Format::Json, "'nowhere'");
    let stats = db.registry_import_text(&format!(r#"{{"models": [{}]}}"#, good.join(",")), Format::Json).unwrap();
    assert_eq!(stats.models, 60);
    assert_eq!(db.registry().unwrap().models.len(), 99);
    assert_eq!(db.xpath("registry", "count(/model)").unwrap(), XPathValue::Number(99.0));
    let under_two = db
        .cypher(
            "USE registry MATCH (m:Model)-[:DERIVED_FROM]->(:Model {name: 'ResNet-18'}), (m)-[e:EVALUATED_ON]->() \
             WHERE e.metric = 'top-1 accuracy (%)' AND e.delta > -2 RETURN count(DISTINCT m) AS n",
            (),
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .get::<i64>("n")
        .unwrap();
    assert_eq!(under_two, 3, "the seed model, bulk 0 (-0.5) and bulk 1 (-1.5)");
    assert_views_agree(&db);
}

#[test]
fn cypher_writes_on_the_registry_graph_are_checked_and_update_the_xml_view() {
    let db = seeded();
    db.cypher("USE registry MATCH (m:Model {name: 'ViT SiDT 40%'}) SET m.size_mb = 12.5", ()).unwrap();
    assert_eq!(xpath_strings(&db, "/model[@name='ViT SiDT 40%']/@size_mb"), vec!["12.5".to_string()]);
    db.cypher(
        "USE registry MATCH (b:Model {name: 'ViT'}), (d:Dataset {name: 'COCO'}) \
         CREATE (m:Model {name: 'ViT SiDT 60%', sparsity: 0.6})-[:DERIVED_FROM {relation: 'pruned'}]->(b), \
         (m)-[:EVALUATED_ON {metric: 'AP', delta: -1.0}]->(d)",
        (),
    )
    .unwrap();
    assert_eq!(xpath_strings(&db, "/model[@name='ViT SiDT 60%']/evaluation/@domain"), vec!["vision".to_string()]);
    assert_views_agree(&db);
    for (query, message) in [
        ("USE registry MATCH (m:Model {name: 'ViT'}) SET m.sparsity = 2", "outside [0, 1]"),
        ("USE registry CREATE (:Gadget {name: 'x'})", "unknown label 'Gadget'"),
        ("USE registry CREATE (:Model {name: 'x', colour: 'red'})", "unknown field `colour`"),
        ("USE registry CREATE (:Model {name: 'GPT-2'})", "duplicate model name 'GPT-2'"),
        ("USE registry MATCH (m:Model {name: 'GPT-2'}) DETACH DELETE m CREATE (:Method {name: 'Wanda'})", "duplicate"),
        ("USE registry MATCH (a:Model {name: 'GPT-2'}), (b:Model {name: 'BERT'}) CREATE (a)-[:LIKES]->(b)", "LIKES"),
        (
            "USE registry MATCH (a:Method {name: 'Wanda'}), (b:Model {name: 'BERT'}) CREATE (a)-[:PRUNED_WITH]->(b)",
            "start at a Model",
        ),
    ] {
        let before = views(&db);
        let err = db.cypher(query, ()).expect_err(query);
        assert_eq!(err.kind(), "registry", "{query}: {err}");
        assert!(err.to_string().contains(message), "{query}: {err}");
        assert_eq!(views(&db), before, "{query} changed the registry");
    }
    // In a transaction the check runs at commit.
    let before = views(&db);
    let mut tx = db.begin_write().unwrap();
    tx.cypher("USE registry MATCH (m:Model {name: 'BERT'}) SET m.params = 'many'", ()).unwrap();
    assert_eq!(tx.commit().unwrap_err().kind(), "registry");
    assert_eq!(views(&db), before);
    // Deleting a derived model removes its document.
    db.cypher("USE registry MATCH (m:Model {name: 'ViT SiDT 60%'}) DETACH DELETE m", ()).unwrap();
    assert!(xpath_strings(&db, "/model[@name='ViT SiDT 60%']").is_empty());
    assert_views_agree(&db);
}

#[test]
fn the_xml_view_is_written_only_by_the_registry() {
    let db = seeded();
    assert_eq!(db.load_xml("registry", "<model name='x'/>".as_bytes()).unwrap_err().kind(), "usage");
    assert_eq!(db.drop_collection("registry").unwrap_err().kind(), "usage");
    let err = db
        .load_graph_csv(
            "registry",
            ("n", Box::new("id,label\n1,Model\n".as_bytes())),
            ("e", Box::new("src,dst,type\n".as_bytes())),
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(err.kind(), "usage");
    assert_eq!(db.xpath("registry", "count(/model)").unwrap(), XPathValue::Number(39.0));
}

#[test]
fn lineage_follows_derived_from_chains_both_ways() {
    let db = seeded();
    db.registry_import_text(
        r#"{"models": [
            {"name": "ResNet-18 PE-wise pruned + ternarized, distilled", "derived_from": [{"model": "ResNet-18 PE-wise pruned + ternarized", "relation": "distilled"}]},
            {"name": "tiny", "derived_from": [{"model": "ResNet-18 PE-wise pruned + ternarized, distilled", "relation": "quantized"}, {"model": "BERT", "relation": "distilled"}]}
        ]}"#,
        Format::Json,
    )
    .unwrap();
    let lineage = db.registry_lineage("tiny").unwrap();
    assert_eq!(
        lineage.ancestors,
        vec![
            vec!["tiny".to_string(), "distilled".into(), "BERT".into()],
            vec![
                "tiny".to_string(),
                "quantized".into(),
                "ResNet-18 PE-wise pruned + ternarized, distilled".into(),
                "distilled".into(),
                "ResNet-18 PE-wise pruned + ternarized".into(),
                "pruned".into(),
                "ResNet-18".into(),
            ],
        ]
    );
    assert!(lineage.descendants.is_empty());
    let base = db.registry_lineage("ResNet-18").unwrap();
    assert!(base.ancestors.is_empty());
    assert_eq!(
        base.descendants,
        vec!["ResNet-18 PE-wise pruned + ternarized", "ResNet-18 PE-wise pruned + ternarized, distilled", "tiny"]
    );
    let shown = db.registry_show("tiny").unwrap().unwrap();
    assert_eq!(shown["lineage"]["ancestors"].as_array().map(Vec::len), Some(2));
    assert!(db.registry_show("nothing").unwrap().is_none());
}

#[test]
fn the_schema_declares_exactly_the_attributes_the_importer_reads() {
    // The schema is read with sprig's own XPath.
    let db = seeded();
    db.load_xml("xsd", XSD.as_bytes()).unwrap();
    let strings = |expr: &str| match db.xpath("xsd", expr).unwrap() {
        XPathValue::NodeSet(nodes) => nodes.iter().map(|n| n.unwrap().string).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let declared =
        |ty: &str| strings(&format!("//*[local-name()='complexType'][@name='{ty}']/*[local-name()='attribute']/@name"));
    // Every attribute the export writes is declared for its element.
    for element in
        ["model", "derived-from", "pruning", "evaluation", "deployment", "paper", "method", "dataset", "hardware"]
    {
        let allowed = declared(element);
        assert!(!allowed.is_empty(), "{element} is not in the schema");
        let pattern = format!("<{element} ");
        for line in SEED_XML.lines().filter(|l| l.trim_start().starts_with(&pattern)) {
            for attr in line.split('"').step_by(2).filter_map(|part| part.trim().rsplit(' ').next()?.strip_suffix('='))
            {
                assert!(allowed.iter().any(|a| a == attr), "{element}/@{attr} is written but not declared");
            }
        }
        // And every declared attribute is read: a model that uses all of them imports.
        let value = |ty: &str| match ty {
            "fraction" | "nonNegative" | "xs:double" => "1",
            "xs:integer" => "2000",
            "relation" => "pruned",
            _ => "v",
        };
        let types =
            strings(&format!("//*[local-name()='complexType'][@name='{element}']/*[local-name()='attribute']/@type"));
        let attrs: String = allowed.iter().zip(&types).map(|(a, t)| format!(" {a}=\"{}\"", value(t))).collect();
        let (file, key) = match element {
            "model" => (format!("<model{attrs}/>"), "name"),
            "derived-from" => (format!("<model name='m'><derived-from{attrs}/></model>"), "model"),
            "pruning" => (format!("<model name='m'><pruning{attrs}/></model>"), "method"),
            "evaluation" => (format!("<model name='m'><evaluation{attrs}/></model>"), "dataset"),
            "deployment" => (format!("<model name='m'><deployment{attrs}/></model>"), "hardware"),
            "paper" => (format!("<model name='m'><paper{attrs}/></model>"), "title"),
            other => (format!("<registry><{other}{attrs}/></registry>"), "name"),
        };
        match sprig::registry::parse(&file, Format::Xml) {
            Ok(_) => {}
            Err(e) => panic!("{element} with every declared attribute ({key}): {e}"),
        }
    }
}

fn sprig_cmd(db: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("sprig").expect("the sprig binary");
    cmd.arg("--db").arg(db).env_remove("SPRIG_DB");
    cmd
}

#[test]
fn the_command_line_imports_lists_and_shows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/registry/seed.json");
    sprig_cmd(&db)
        .args(["registry", "import", seed])
        .assert()
        .success()
        .stdout(predicate::str::contains("39 models, 12 papers, 25 methods, 10 datasets, 7 hardware added"));
    let out = sprig_cmd(&db).args(["registry", "list", "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json.as_array().expect("one object per model");
    assert_eq!(rows.len(), 23);
    assert_eq!(rows[0]["model"], "BERT structured-pruned 80%");
    assert_eq!(rows[0]["sparsity"], 0.8);
    assert_eq!(rows[0]["metric delta"], "accuracy (%) -0.003 on Unnamed language task");
    sprig_cmd(&db)
        .args(["registry", "show", "VGG-8 student (IEKD)"])
        .assert()
        .success()
        .stdout(predicate::str::contains("VGG-8 student (IEKD) -[distilled]-> ResNet-32x4"))
        .stdout(predicate::str::contains(
            "title: Knowledge Distillation based-on Internal/External Correlation Learning",
        ));
    sprig_cmd(&db)
        .args(["registry", "show", "nothing"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no model named"));
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<registry>\n  <model name='z' sparsity='7'/>\n</registry>\n").unwrap();
    sprig_cmd(&db)
        .args(["registry", "import"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[registry]").and(predicate::str::contains("outside [0, 1]")));
    std::fs::write(&bad, "<registry>\n  <model name='z' colour='7'/>\n</registry>\n").unwrap();
    sprig_cmd(&db)
        .args(["registry", "import", "--format", "json"])
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"line\":2"));
    let out = sprig_cmd(&db).args(["registry", "export", "--format", "xml"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), SEED_XML);
}
