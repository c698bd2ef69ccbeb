//! The interactive shell driven through a pseudo-terminal, as a person would use it:
//! the banner's examples, a Cypher and an XPath statement, a multi-line statement,
//! history, completion, Ctrl-C on a running query and at the prompt, and Ctrl-D.

use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::reader::Options;
use rexpect::session::spawn_with_options;

/// Types `keys` (the session buffers what it sends until flushed).
fn send(sh: &mut rexpect::session::PtySession, keys: &str) {
    sh.send(keys).unwrap();
    sh.flush().unwrap();
}

#[test]
fn the_shell_answers_remembers_completes_and_interrupts() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sprig"));
    cmd.arg("--db")
        .arg(dir.path().join("sprig.db"))
        .env_remove("SPRIG_DB")
        .env("SPRIG_HISTORY", &history)
        .env("TERM", "xterm");
    let options = Options::new().timeout_ms(Some(30_000)).strip_ansi_escape_codes(true);
    let mut sh = spawn_with_options(cmd, options).unwrap();
    sh.exp_string("Try:").unwrap();
    sh.exp_string("sprig[cypher:default]> ").unwrap();

    // The banner's examples answer.
    sh.send_line("xpath auction count(//item[payment = 'Cash']);").unwrap();
    sh.exp_regex(r"\n\d+\r?\n").unwrap();
    sh.exp_string("sprig[cypher:default]> ").unwrap();
    sh.send_line("USE registry MATCH (m:Model)-[d:DEPLOYED_ON]->(h:Hardware {kind: 'FPGA'}) RETURN m.name, d.speedup ORDER BY m.name;").unwrap();
    sh.exp_string("R(2+1)D ADMM-pruned").unwrap();
    sh.exp_string("rows").unwrap();

    // A statement over two lines.
    sh.exp_string("sprig[cypher:default]> ").unwrap();
    sh.send_line("RETURN 40 +").unwrap();
    sh.exp_string("RETURN 40 +").unwrap();
    sh.send_line("2 AS answer;").unwrap();
    sh.exp_string("42").unwrap();
    sh.exp_string("1 row").unwrap();

    // XPath mode and the prompt that shows it.
    sh.exp_string("sprig[cypher:default]> ").unwrap();
    sh.send_line(":mode xpath").unwrap();
    // The editor drops what was typed before its prompt: wait for each one.
    sh.exp_string("sprig[xpath:-]> ").unwrap();
    sh.send_line(":use books").unwrap();
    sh.exp_string("sprig[xpath:books]> ").unwrap();
    sh.send_line("count(//book);").unwrap();
    sh.exp_string("\n4").unwrap();
    sh.exp_string("sprig[xpath:books]> ").unwrap();

    // History: the up arrow brings the last statement back.
    send(&mut sh, "\x1b[A");
    send(&mut sh, "\r");
    sh.exp_string("\n4").unwrap();
    sh.exp_string("sprig[xpath:books]> ").unwrap();
    // A path that starts with `//` is XPath here, not a Cypher comment.
    sh.send_line("//book[@id = 'b2']/title;").unwrap();
    sh.exp_string("Harry Potter").unwrap();
    sh.exp_string("1 node").unwrap();
    sh.exp_string("sprig[xpath:books]> ").unwrap();
    sh.send_line("//nothing;").unwrap();
    sh.exp_string("0 nodes").unwrap();
    sh.exp_string("sprig[xpath:books]> ").unwrap();
    sh.send_line(":mode cypher").unwrap();
    sh.exp_string("sprig[cypher:default]> ").unwrap();

    // Completion: a function name and a label from the live graph.
    send(&mut sh, "RETURN toupp");
    send(&mut sh, "\t");
    send(&mut sh, "('done') AS shout;\r");
    sh.exp_string("DONE").unwrap();
    sh.exp_string("sprig[cypher:default]> ").unwrap();
    send(&mut sh, "MATCH (e:Engin");
    send(&mut sh, "\t");
    send(&mut sh, ") RETURN count(e) AS engineers;\r");
    sh.exp_regex(r"engineers[^\n]*\n[^\n]*\n[^\d]*\d+").unwrap();
    sh.exp_string("sprig[cypher:default]> ").unwrap();

    // Ctrl-C stops a running query and the shell stays up.
    sh.send_line("UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN count(*);").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    sh.send_control('c').unwrap();
    sh.exp_string("interrupted").unwrap();
    let took = sent.elapsed();
    eprintln!("Ctrl-C to the error message: {took:?}");
    assert!(took < Duration::from_secs(2), "the interrupt took {took:?}");
    sh.exp_string("sprig[cypher:default]> ").unwrap();
    // Ctrl-C at the prompt clears the line.
    send(&mut sh, "RETURN 'never'");
    sh.send_control('c').unwrap();
    sh.exp_string("sprig[cypher:default]> ").unwrap();
    sh.send_line("RETURN 7 AS seven;").unwrap();
    sh.exp_string("seven").unwrap();
    sh.exp_string("1 row").unwrap();
    sh.exp_string("sprig[cypher:default]> ").unwrap();

    // Ctrl-D quits with status 0, and the history was kept.
    sh.send_control('d').unwrap();
    sh.exp_eof().unwrap();
    let status = sh.process().wait().unwrap();
    assert!(format!("{status:?}").starts_with("Exited(") && format!("{status:?}").ends_with(", 0)"), "{status:?}");
    let kept = std::fs::read_to_string(&history).unwrap();
    assert!(kept.contains("RETURN 40 +"), "{kept}");
    assert!(kept.contains("count(//book);"), "{kept}");
    assert!(!kept.contains("never"), "{kept}");
}
