//! A throwaway PostgreSQL server for the Rust tests: `tests/scripts/pg_server.sh` started once per test
//! process (initdb on a temporary directory, a free port), a fresh database per test. The server
//! stops and its files go when this process ends, however it ends (the script waits for its
//! standard input to close). No server (no PostgreSQL installed, initdb failing): the test fails.
//! Shared by tests/journal_backends.rs and, through tests/both/, the client-with-journal tests.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

struct Server {
    // Kept for the life of the process: dropping stdin would stop the server.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn server() -> &'static Mutex<Server> {
    static SERVER: OnceLock<Mutex<Server>> = OnceLock::new();
    SERVER.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts/pg_server.sh");
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut child = Command::new("bash")
                .arg(script)
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("could not run tests/scripts/pg_server.sh");
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            if line.starts_with("ready ") {
                let stdin = child.stdin.take().unwrap();
                return Mutex::new(Server { _child: child, stdin, stdout });
            }
            // Most likely the port was taken meanwhile: another try on another port.
            let _ = child.wait();
        }
        panic!("could not start a PostgreSQL server for the tests (see tests/scripts/pg_server.sh's message above)");
    })
}

/// The URL of a new, empty database on the test server.
pub fn database(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let db = format!("t{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), clean);
    let db: String = db.chars().take(60).collect();
    let mut s = server().lock().unwrap_or_else(|p| p.into_inner());
    writeln!(s.stdin, "createdb {db}").unwrap();
    s.stdin.flush().unwrap();
    let mut line = String::new();
    s.stdout.read_line(&mut line).unwrap();
    let line = line.trim().to_string();
    assert!(line.starts_with("postgresql://"), "could not create test database {db}: {line}");
    line
}
