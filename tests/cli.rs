//! The command line against SPEC section 3: loads, queries, formats, errors and exit
//! codes, and that a failed load leaves the database as it was.

use assert_cmd::Command;
use predicates::prelude::*;

const BOOKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/xml/books.xml");

fn sprig(db: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("sprig").expect("the sprig binary");
    cmd.arg("--db").arg(db).env_remove("SPRIG_DB");
    cmd
}

#[test]
fn load_then_query_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db).args(["load", "xml", BOOKS]).assert().success();
    sprig(&db)
        .args(["xpath", "--collection", "books", "//book[@id='b2']/title", "--format", "json"])
        .assert()
        .success()
        .stdout("{\"kind\":\"nodeset\",\"count\":1,\"nodes\":[{\"doc\":\"books\",\"name\":\"title\",\"path\":\"/catalog[1]/book[2]/title[1]\",\"string\":\"Harry Potter\",\"type\":\"element\"}]}\n");
    // Global options after the subcommand, and the only collection as the default.
    sprig(&db)
        .args(["xpath", "count(//author)"])
        .arg("--format")
        .arg("json")
        .assert()
        .success()
        .stdout("{\"kind\":\"number\",\"value\":8}\n");
    sprig(&db)
        .args(["xpath", "//book[@category=$c]/@id", "--var", "c=web", "--format", "jsonl"])
        .assert()
        .success()
        .stdout(
            "{\"doc\":\"books\",\"name\":\"id\",\"path\":\"/catalog[1]/book[3]/@id\",\"string\":\"b3\",\"type\":\"attribute\"}\n\
             {\"doc\":\"books\",\"name\":\"id\",\"path\":\"/catalog[1]/book[4]/@id\",\"string\":\"b4\",\"type\":\"attribute\"}\n",
        );
    sprig(&db)
        .args(["xpath", "string(1 div 3)", "--format", "csv"])
        .assert()
        .success()
        .stdout("value\n0.3333333333333333\n");
    // An expression that starts with `-` follows `--`, and a decimal may end one (issue 18).
    sprig(&db)
        .args(["xpath", "--format", "json", "--", "-//book[2]/price * 2"])
        .assert()
        .success()
        .stdout("{\"kind\":\"number\",\"value\":-59.98}\n");
    sprig(&db).args(["xpath", "//price = 29.99"]).assert().success().stdout("true\n");
}

#[test]
fn errors_have_kinds_positions_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db).args(["load", "xml", BOOKS]).assert().success();
    sprig(&db)
        .args(["xpath", "--collection", "books", "//book[", "--format", "json"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("error[syntax]: expected an expression in the predicate")
                .and(predicate::str::contains("at line 1, column 8")),
        )
        .stdout(predicate::str::contains("\"kind\":\"syntax\"").and(predicate::str::contains("\"column\":8")));
    sprig(&db)
        .args(["xpath", "--collection", "nope", "1"])
        .assert()
        .code(1)
        .stderr("error[collection]: unknown collection 'nope'\n");
    sprig(&db)
        .args(["xpath", "--collection", "books", "foo()"])
        .assert()
        .code(1)
        .stderr("error[xpath]: unknown function foo()\n");
    sprig(&db).args(["xpath", "--bogus"]).assert().code(2);
    sprig(&db)
        .args(["--timeout", "0", "xpath", "count(//book)"])
        .assert()
        .code(3)
        .stderr("error[timeout]: the query was stopped after its time limit\n");
    sprig(&db).args(["xpath", "count(//book)", "--timeout", "60000"]).assert().success().stdout("4\n");
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    sprig(&file).args(["collections"]).assert().code(2).stderr(predicate::str::contains("error[usage]"));
}

#[test]
fn malformed_xml_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db).args(["load", "xml", BOOKS]).assert().success();
    let bad = dir.path().join("books.xml");
    std::fs::write(&bad, "<catalog>\n  <book>\n  </wrong>\n</catalog>\n").unwrap();
    sprig(&db)
        .args(["load", "xml"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error[xml]: books: ").and(predicate::str::contains("at line 3, column")));
    // The old collection of that name is still there, unchanged.
    sprig(&db).args(["xpath", "--collection", "books", "count(//book)"]).assert().success().stdout("4\n");
    let unclosed = dir.path().join("other.xml");
    std::fs::write(&unclosed, "<a><b>").unwrap();
    sprig(&db)
        .args(["load", "xml"])
        .arg(&unclosed)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("element <b> is not closed"));
    sprig(&db)
        .args(["collections", "--format", "csv"])
        .assert()
        .success()
        .stdout("collection,documents,nodes,bytes\nbooks,1,110,1158\n");
}

#[test]
fn a_directory_loads_as_one_collection_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let docs = dir.path().join("models");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("a.xml"), "<model name='a'/>").unwrap();
    std::fs::write(docs.join("b.xml"), "<model name='b'><model name='c'/></model>").unwrap();
    sprig(&db).args(["load", "xml"]).arg(&docs).assert().success();
    sprig(&db).args(["xpath", "--collection", "models", "count(//model)"]).assert().success().stdout("3\n");
    sprig(&db)
        .args(["xpath", "--collection", "models", "//model/@name", "--format", "csv"])
        .assert()
        .success()
        .stdout("doc,type,path,name,string\na,attribute,/model[1]/@name,name,a\nb,attribute,/model[1]/@name,name,b\nb,attribute,/model[1]/model[1]/@name,name,c\n");
}

#[test]
fn statement_loop_seeds_a_new_database_and_runs_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db)
        .args(["-c", "xpath auction count(//item); xpath books string(//book[1]/title);"])
        .assert()
        .success()
        .stdout("217\nEveryday Italian\n");
    sprig(&db)
        .write_stdin(":mode xpath;\n:use books;\ncount(//book[price > 35]);\nxpath books //book[;\n")
        .assert()
        .code(1)
        .stdout("2\n")
        .stderr(predicate::str::contains("error[syntax]"));
    let empty = dir.path().join("empty");
    sprig(&empty)
        .args(["--empty", "-c", ":collections;"])
        .assert()
        .success()
        .stdout(predicate::str::contains("auction").not());
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    //! Regression: printing to a pipe whose reader had quit panicked in print_error.
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db).args(["load", "xml", BOOKS]).assert().success();
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("sprig"))
        .arg("--db")
        .arg(&db)
        .args(["xpath", "--collection", "books", "//node()", "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const AUCTION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/xml/auction.xml");

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("JSON output")
}

#[test]
fn explain_and_profile_show_the_join_and_the_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db).args(["load", "xml", AUCTION]).assert().success();
    let query = ["--collection", "auction", "//open_auction//keyword", "--format", "json"];

    // No predicates: the path summary answers; 9 of the 69 keyword partitions lie under open_auction.
    let out = sprig(&db).args(["explain", "xpath"]).args(query).assert().success().get_output().stdout.clone();
    let plan = &json(&out)["plan"];
    assert_eq!(plan["operator"], "PathSummaryScan");
    assert_eq!(plan["details"]["partitions_read"], 9);
    assert_eq!(plan["details"]["partitions_total"], 69);
    assert_eq!(plan["details"]["labels_skipped"], 562);
    assert_eq!(plan["estimated_rows"], 114);
    assert!(plan.get("rows").is_none(), "explain does not run the query");

    let out = sprig(&db).args(["profile", "xpath"]).args(query).assert().success().get_output().stdout.clone();
    let profiled = json(&out);
    assert_eq!(profiled["plan"]["rows"], 114);
    assert!(profiled["elapsed_ms"].as_f64().is_some() && profiled["first_ms"].as_f64().is_some());

    // A forced baseline runs its join: TwigStack reads every keyword partition.
    let out = sprig(&db)
        .args(["explain", "xpath", "--join", "twigstack"])
        .args(query)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan = &json(&out)["plan"];
    assert_eq!(plan["operator"], "TwigStack");
    assert_eq!(plan["details"]["reason"], "forced by --join twigstack");
    assert_eq!(plan["children"][1]["details"]["partitions"], 69);

    // A branch predicate is joined structurally; profile counts the rows per operator.
    let twig = ["--collection", "auction", "//open_auction[bidder]//keyword", "--format", "json", "--join", "sisj"];
    let out = sprig(&db).args(["profile", "xpath"]).args(twig).assert().success().get_output().stdout.clone();
    let plan = &json(&out)["plan"];
    assert_eq!(plan["operator"], "SISJ");
    assert_eq!(plan["rows"], 108);
    assert_eq!(plan["children"][0]["details"]["branches"], "child::bidder");
    assert_eq!(plan["children"][0]["rows"], 106);

    // The text form names the operator and the pruning.
    sprig(&db)
        .args(["explain", "xpath", "--collection", "auction", "//open_auction//keyword"])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("PathSummaryScan")
                .and(predicate::str::contains("partitions_read=9 partitions_total=69")),
        );
}

#[test]
fn every_join_gives_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db).args(["load", "xml", AUCTION]).assert().success();
    let names = "//item[payment='Creditcard'][.//keyword]/name";
    let expected = sprig(&db)
        .args(["xpath", "--collection", "auction", names, "--join", "navigate", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8_lossy(&expected).lines().count(), 12, "a header and 11 names");
    for join in ["auto", "sisj", "twigstack", "stacktree", "navigate"] {
        sprig(&db)
            .args(["xpath", "--collection", "auction", "count(//open_auction[bidder]//keyword)", "--join", join])
            .assert()
            .success()
            .stdout("108\n");
        sprig(&db)
            .args(["xpath", "--collection", "auction", names, "--join", join, "--format", "csv"])
            .assert()
            .success()
            .stdout(expected.clone());
    }
    sprig(&db).args(["xpath", "--collection", "auction", "1", "--join", "fastest"]).assert().code(2);
}

#[test]
fn a_new_default_database_is_seeded_and_each_banner_example_answers() {
    let dir = tempfile::tempdir().unwrap();
    // The default database is ./sprig.db: run where it does not exist yet.
    for example in sprig::fixtures::EXAMPLES {
        let out = Command::cargo_bin("sprig")
            .unwrap()
            .current_dir(dir.path())
            .env_remove("SPRIG_DB")
            .args(["--format", "json", "-c", example])
            .output()
            .unwrap();
        assert!(out.status.success(), "{example}: {}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let answered =
            json["rows"].as_array().is_some_and(|r| !r.is_empty()) || json["value"].as_f64().is_some_and(|v| v > 0.0);
        assert!(answered, "{example} gave {json}");
    }
    assert!(dir.path().join("sprig.db").is_dir());
    // Piped statements run as a script with the same formats and exit codes.
    Command::cargo_bin("sprig")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("SPRIG_DB")
        .args(["--format", "csv"])
        .write_stdin(":mode xpath;\n:use books;\ncount(//book);\nRETURN 1 +;\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("value\n4"))
        .stderr(predicate::str::contains("error[syntax]"));
}

#[test]
fn every_query_subcommand_answers_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // A new database seeded like the first run (the fixtures), then queried.
    sprig(&db).args(["-c", "RETURN 1;"]).assert().success();
    let commands: Vec<Vec<&str>> = vec![
        vec!["xpath", "--collection", "books", "//book/title"],
        vec!["xpath", "--collection", "books", "count(//book)"],
        vec!["cypher", "MATCH (p:Person)-[k:KNOWS]->(f) RETURN p, k, f.name LIMIT 2"],
        vec!["explain", "xpath", "--collection", "auction", "//item//keyword"],
        vec!["explain", "cypher", "MATCH (p:Person) RETURN p.name"],
        vec!["profile", "xpath", "--collection", "auction", "count(//item)"],
        vec!["profile", "cypher", "MATCH (p:Person) RETURN count(p)"],
        vec!["collections"],
        vec!["graphs"],
        vec!["stats"],
        vec!["registry", "list"],
    ];
    for command in &commands {
        for format in ["table", "json", "jsonl", "csv", "markdown", "xml"] {
            let out = sprig(&db).args(command).args(["--format", format]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let what = format!("{command:?} --format {format}");
            assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(!text.trim().is_empty(), "{what}: no output");
            match format {
                "json" => {
                    serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
                }
                "jsonl" => {
                    for line in text.lines() {
                        serde_json::from_str::<serde_json::Value>(line)
                            .unwrap_or_else(|e| panic!("{what}: {e}\n{line}"));
                    }
                }
                "xml" if !command.contains(&"explain") && !command.contains(&"profile") => {
                    assert!(text.trim_start().starts_with('<'), "{what}: {text}")
                }
                "markdown" if !command.contains(&"explain") && !command.contains(&"profile") => {
                    assert!(text.contains('|'), "{what}: {text}")
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_second_process_on_an_open_database_is_told_it_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let held = sprig::Database::open(&db).unwrap();
    sprig(&db).args(["collections"]).assert().code(2).stderr(predicate::str::contains("is locked by another process"));
    drop(held);
    // Closed in this process, it opens again at once.
    let again = sprig::Database::open(&db).unwrap();
    drop(again);
    sprig::Database::open(&db).unwrap();
}

#[test]
fn check_reports_every_collection_and_graph() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    sprig(&db).args(["load", "xml", BOOKS]).assert().success();
    sprig(&db).args(["cypher", "CREATE (:A {n: 1})-[:R]->(:B)", "--graph", "g"]).assert().success();
    let out = sprig(&db).args(["check", "--format", "json"]).assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["problems"], serde_json::json!([]));
    let checked: Vec<&str> = v["checked"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(checked.len(), 2, "{checked:?}");
    assert!(checked[0].starts_with("collection books: 1 documents, "), "{checked:?}");
    assert_eq!(checked[1], "graph g: 2 nodes, 1 relationships, 0 property indexes, 0 text indexes");
}
