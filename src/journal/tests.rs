//! The SQLite backend's own tests (its queries, plans, migrations, handles) and the journal's pure
//! helpers. The suite both backends pass is tests/journal_backends.rs.

use super::fixtures::{entry, ids, TempDir};
use super::sqlite::*;
use super::*;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use serde_json::json;
use std::sync::{Arc, Barrier};

/// The plan SQLite picks for `sql`, one line per step.
fn plan(j: &SqliteJournal, sql: &str, args: &[SqlValue]) -> String {
    j.with(|c| {
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let rows = st.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })
    .unwrap()
    .join("\n")
}

/// A prompt search by one key must not tell it what other keys' prompts hold, by how long it
/// takes: the work SQLite does for it (virtual machine steps, a count, not a clock) is the same
/// whether another key has no rows or thousands that contain the phrase.
#[test]
fn a_prompt_search_does_the_same_work_whatever_other_keys_hold() {
    let dir = TempDir::new("search-work");
    let j = SqliteJournal::open(dir.file()).unwrap();
    for i in 0..20 {
        let prompt = format!("my own prompt {i}");
        j.record(&Entry { prompt: Some(prompt), created_ms: 1 + i, ..entry("me", &format!("m{i}")) }).unwrap();
    }
    let steps = |text: &str| {
        let (sql, args) = list_query("me", &Filter { text: Some(text.into()), ..Default::default() });
        j.with(|c| {
            let mut st = c.prepare(&sql)?;
            let n = st.query(rusqlite::params_from_iter(&args))?.mapped(|_| Ok(())).count();
            Ok((n, st.get_status(rusqlite::StatementStatus::VmStep)))
        })
        .unwrap()
    };
    let before = [steps("secret phrase"), steps("own prompt 1")];
    for i in 0..2000 {
        let prompt = Some(format!("the secret phrase, take {i}"));
        j.record(&Entry { prompt, created_ms: 100 + i, ..entry("other", &format!("o{i}")) }).unwrap();
    }
    assert_eq!([steps("secret phrase"), steps("own prompt 1")], before);
    assert_eq!(before[0].0, 0);
    assert_eq!(before[1].0, 11, "'own prompt 1' is in prompts 1 and 10 to 19");
}

#[test]
fn journal_queries_use_their_indexes() {
    let dir = TempDir::new("plans");
    let j = SqliteJournal::open(dir.file()).unwrap();
    for i in 0..300 {
        let status = if i % 100 == 0 { "RUNNING" } else { "SUCCEEDED" };
        let files = if i % 100 == 1 { json!([]) } else { json!(["/f"]) };
        j.record(&Entry { status: Some(status.into()), files, ..entry("k", &format!("t{i}")) }).unwrap();
    }
    let key = || SqlValue::Text("k".into());
    let list = |f: Filter| {
        let (sql, args) = list_query("k", &f);
        plan(&j, &sql, &args)
    };
    // Without statistics (as the journal keeps it) and with them (should anyone run ANALYZE).
    for analyzed in [false, true] {
        if analyzed {
            j.with(|c| c.execute_batch("ANALYZE")).unwrap();
        }
        let cases = [
            (list(Filter::default()), "tasks_by_created"),
            (list(Filter { status: Some("running".into()), ..Default::default() }), "tasks_live"),
            (list(Filter { status: Some("FAILED".into()), ..Default::default() }), "tasks_by_status"),
            (list(Filter { text: Some("cat".into()), ..Default::default() }), "tasks_by_created"),
            (plan(&j, &FIND_IN_FLIGHT_SQL, &[key(), SqlValue::Text("r".into())]), "tasks_by_request"),
            (plan(&j, &UNFINISHED_SQL, &[key(), SqlValue::Integer(10)]), "tasks_live"),
            (plan(&j, &UNFINISHED_SQL, &[key(), SqlValue::Integer(10)]), "tasks_unsaved"),
        ];
        for (plan, index) in cases {
            assert!(plan.contains(index), "analyzed {analyzed}: expected {index} in:\n{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "sorts instead of reading in order:\n{plan}");
        }
    }
}

#[test]
fn journal_request_fingerprint_is_canonical() {
    let fp = |e: &str, b: Value, d: &[&str]| {
        request_fingerprint(e, &b, &d.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    };
    let a = fp("/v1/image_to_video", json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}), &["d1"]);
    assert_eq!(a.len(), 64);
    assert_eq!(a, fp("/v1/image_to_video", json!({"b": {"x": "s", "y": [1, 2]}, "a": 1}), &["d1"]));
    assert_ne!(a, fp("/v1/text_to_video", json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}), &["d1"]));
    assert_ne!(a, fp("/v1/image_to_video", json!({"a": 1, "b": {"y": [2, 1], "x": "s"}}), &["d1"]));
    assert_ne!(a, fp("/v1/image_to_video", json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}), &["d2"]));
    assert_ne!(fp("/e", json!({}), &["d1", "d2"]), fp("/e", json!({}), &["d2", "d1"]));
    assert_ne!(fp("/e", json!({}), &["d1d2"]), fp("/e", json!({}), &["d1", "d2"]));
}

#[test]
fn journal_refuses_a_newer_schema() {
    let dir = TempDir::new("schema");
    drop(SqliteJournal::open(dir.file()).unwrap());
    let raw = Connection::open(dir.file()).unwrap();
    assert_eq!(
        raw.query_row("SELECT version FROM schema_version", [], |r| r.get::<_, i64>(0)).unwrap(),
        SCHEMA_VERSION
    );
    raw.execute("UPDATE schema_version SET version = 99", []).unwrap();
    drop(raw);
    let err = SqliteJournal::open(dir.file()).err().unwrap().to_string();
    assert!(err.contains("schema version 99 is newer") && err.contains(PATH_ENV), "{err}");
    assert!(err.contains("journal.sqlite3"), "names the file: {err}");
}

#[test]
fn journal_default_path_follows_env_and_platform() {
    let env = |pairs: &'static [(&str, &str)]| move |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.into());
    assert_eq!(default_path_from(env(&[(PATH_ENV, "/x/j.db"), ("HOME", "/h")])), PathBuf::from("/x/j.db"));
    let tail = Path::new("runway-mcp-server").join("journal.sqlite3");
    if cfg!(windows) {
        let p = default_path_from(env(&[("LOCALAPPDATA", r"C:\Users\u\AppData\Local")]));
        assert_eq!(p, Path::new(r"C:\Users\u\AppData\Local").join(&tail));
    } else if cfg!(target_os = "macos") {
        assert_eq!(default_path_from(env(&[("HOME", "/h")])), Path::new("/h/Library/Application Support").join(&tail));
    } else {
        assert_eq!(default_path_from(env(&[("HOME", "/h"), (PATH_ENV, "")])), Path::new("/h/.local/share").join(&tail));
        let xdg = env(&[("HOME", "/h"), ("XDG_DATA_HOME", "/data")]);
        assert_eq!(default_path_from(xdg), Path::new("/data").join(&tail));
        let relative = env(&[("HOME", "/h"), ("XDG_DATA_HOME", "rel")]);
        assert_eq!(default_path_from(relative), Path::new("/h/.local/share").join(&tail));
    }
    assert!(default_path_from(env(&[])).ends_with(&tail));
}

#[test]
fn journal_a_panic_mid_write_commits_nothing() {
    let dir = TempDir::new("panic");
    let j = SqliteJournal::open(dir.file()).unwrap();
    let hit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = j.write(|tx| -> rusqlite::Result<()> {
            store(tx, &Entry { created_ms: 1, updated_ms: 1, ..entry("k", "half") }, None)?;
            panic!("mid-write")
        });
    }));
    assert!(hit.is_err());
    j.record(&entry("k", "next")).unwrap();
    assert!(j.get("k", "half").unwrap().is_none());
    assert_eq!(j.with(|c| c.query_row("SELECT COUNT(*) FROM tasks", [], |r| r.get::<_, i64>(0))).unwrap(), 1);
}

#[test]
fn one_handle_per_journal_while_it_is_used() {
    let dir = TempDir::new("shared");
    let path = dir.file();
    let a = open_shared(&path.display().to_string()).unwrap();
    let other = format!("{}/../sub/journal.sqlite3", path.parent().unwrap().display());
    let b = open_shared(&other).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "the same file, named two ways");
    let elsewhere = TempDir::new("shared-other");
    assert!(!Arc::ptr_eq(&a, &open_shared(&elsewhere.file().display().to_string()).unwrap()));
    let (weak, salt) = (Arc::downgrade(&a), a.salt().to_vec());
    drop((a, b));
    assert!(weak.upgrade().is_none(), "the registry does not keep it open");
    let again = open_shared(&path.display().to_string()).unwrap();
    assert_eq!(again.salt(), salt, "opened again: the same file");
}

#[test]
fn journal_first_opens_at_once_all_succeed() {
    // Processes starting together on a file none has made yet (replicas on one volume, a test
    // run's children): each open waits its turn, none answers "database is locked".
    const THREADS: usize = 8;
    for round in 0..20 {
        let dir = TempDir::new("first-opens");
        let path = dir.file();
        let barrier = Arc::new(Barrier::new(THREADS));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (barrier, path) = (barrier.clone(), path.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteJournal::open(&path).map(|j| j.salt().to_vec())
                })
            })
            .collect();
        let salts: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        for s in &salts {
            assert_eq!(s.as_ref().unwrap(), salts[0].as_ref().unwrap(), "round {round}: {s:?}");
        }
    }
}

#[test]
fn journal_migrates_a_version_1_file() {
    let dir = TempDir::new("migrate");
    std::fs::create_dir_all(dir.file().parent().unwrap()).unwrap();
    {
        // A file as version 1 left it, with a row.
        let raw = Connection::open(dir.file()).unwrap();
        raw.execute_batch(MIGRATIONS[0]).unwrap();
        raw.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1); \
             INSERT INTO meta (name, value) VALUES ('key_salt', x'0102');",
        )
        .unwrap();
        // Version 1's columns (no prompt_lc), with a prompt whose case the search must fold.
        raw.execute(
            "INSERT INTO tasks (task_id, key_fp, tool, endpoint, model, prompt, params, outputs, files, \
             created_ms, updated_ms) VALUES ('old', 'k', 'generate_video', '/v1/text_to_video', 'gen4.5', \
             'A Cat on a SKATEBOARD', '{}', '[]', '[]', 5, 5)",
            [],
        )
        .unwrap();
    }
    let j = SqliteJournal::open(dir.file()).unwrap();
    assert_eq!(j.salt(), [1, 2]);
    let version: i64 = j.with(|c| c.query_row("SELECT version FROM schema_version", [], |r| r.get(0))).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let index: i64 = j
        .with(|c| c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks_claims'", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(index, 1);
    assert_eq!(j.get("k", "old").unwrap().unwrap().prompt.as_deref(), Some("A Cat on a SKATEBOARD"));
    let fts: i64 = j
        .with(|c| c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'tasks_fts%'", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(fts, 0, "version 4 drops the trigram index and its triggers");
    assert_eq!(ids(&j.list("k", &Filter { text: Some("skateboard".into()), ..Default::default() }).unwrap()), ["old"]);
    assert!(matches!(
        j.claim(&Entry { request_fp: Some("new".into()), ..entry("k", "") }, 0, &[]).unwrap(),
        Claim::Won(_)
    ));
    drop(j);
    assert!(SqliteJournal::open(dir.file()).is_ok(), "opens again at the new version");
}

#[test]
fn both_backends_write_a_row_with_the_same_columns_in_the_same_order() {
    let cols: Vec<&str> = COLUMNS["id, ".len()..].split(", ").chain(["prompt_lc"]).collect();
    let (sqlite, pg) = (insert_sql("tasks", '?'), insert_sql("runway_journal.tasks", '$'));
    assert_eq!(sqlite.replace('?', "$"), pg.replace("runway_journal.tasks", "tasks"));
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    assert_eq!(sqlite, format!("INSERT INTO tasks ({}) VALUES ({})", cols.join(", "), marks.join(", ")));
    let update = update_sql("tasks", '?');
    for (i, c) in cols.iter().enumerate() {
        assert!(update.contains(&format!("{c} = ?{}", i + 1)), "{c} in {update}");
    }
    assert!(update.ends_with(&format!("WHERE id = ?{}", cols.len() + 1)), "{update}");
    assert_eq!(
        update_sql("runway_journal.tasks", '$').replace('$', "?").replace("runway_journal.tasks", "tasks"),
        update
    );
    assert_eq!((&*INSERT_SQL, &*UPDATE_SQL), (&sqlite, &update));
}
