//! Procedures declared by an embedding program run through the same registry as the
//! built-in ones: arguments are checked against the signature, failures surface as
//! the statement's error, and built-in procedures cannot be replaced.

use sprig::{CypherValue, Database, ResultValue};

fn rows(db: &Database, query: &str) -> sprig::Result<Vec<Vec<ResultValue>>> {
    db.cypher(query, ())?.map(|r| r.map(|r| r.values().to_vec())).collect()
}

#[test]
fn declared_procedures_run_checked_and_beside_the_built_in_ones() {
    let db = Database::in_memory().expect("db");
    db.register_procedure("math.split(n :: INTEGER?, parts :: INTEGER?) :: (part :: INTEGER?)", |args| {
        match (&args[0], &args[1]) {
            (CypherValue::Int(n), CypherValue::Int(p)) if *p > 0 => {
                Ok((0..*p).map(|i| vec![CypherValue::Int(n / p + i64::from(i < n % p))]).collect())
            }
            _ => Err("parts must be positive".into()),
        }
    })
    .expect("declared");
    assert_eq!(
        rows(&db, "CALL math.split(10, 3) YIELD part RETURN part").expect("ran"),
        vec![vec![ResultValue::Int(4)], vec![ResultValue::Int(3)], vec![ResultValue::Int(3)]]
    );
    // Per input row, beside a MATCH, with WHERE on the yielded column.
    db.cypher("CREATE (:N {v: 5}), (:N {v: 7})", ()).expect("create");
    assert_eq!(
        rows(&db, "MATCH (n:N) CALL math.split(n.v, 2) YIELD part WHERE part > 2 RETURN n.v, part ORDER BY n.v, part")
            .expect("ran"),
        vec![
            vec![ResultValue::Int(5), ResultValue::Int(3)],
            vec![ResultValue::Int(7), ResultValue::Int(3)],
            vec![ResultValue::Int(7), ResultValue::Int(4)],
        ]
    );
    let err = rows(&db, "CALL math.split(10, 0)").expect_err("the body refuses");
    assert!(err.to_string().contains("parts must be positive"), "{err}");
    let err = rows(&db, "WITH 'x' AS s CALL math.split(s, 2) YIELD part RETURN part").expect_err("a string");
    assert_eq!(err.kind(), "type", "{err}");
    let err = rows(&db, "CALL math.split(1)").expect_err("one argument");
    assert!(err.to_string().contains("takes 2 argument"), "{err}");
    // The built-in procedures are in the same registry and stay as they are.
    assert!(db.register_procedure("db.labels() :: (label :: STRING?)", |_| Ok(vec![])).is_err());
    assert_eq!(rows(&db, "CALL db.labels()").expect("ran"), vec![vec![ResultValue::String("N".into())]]);
    assert!(db.register_procedure("bad signature", |_| Ok(vec![])).is_err());
}
