use std::time::Duration;

use super::sqlite::*;
use super::*;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "runway-journal-{name}-{}-{}-{}",
            std::process::id(),
            now_unix_ms(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self) -> PathBuf {
        self.0.join("sub/journal.sqlite3")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn entry(key: &str, task_id: &str) -> Entry {
    Entry {
        task_id: Some(task_id.into()),
        key_fp: key.into(),
        tool: "generate_video".into(),
        endpoint: "/v1/text_to_video".into(),
        model: "gen4.5".into(),
        prompt: Some("a cat on a skateboard".into()),
        params: json!({"model": "gen4.5", "promptText": "a cat on a skateboard", "ratio": "1280:720"}),
        request_fp: Some("rfp".into()),
        estimated_cost: Some(25.0),
        ..Default::default()
    }
}

fn task(v: Value) -> Task {
    Task::from_json(v).unwrap()
}

fn ids(rows: &[Entry]) -> Vec<&str> {
    rows.iter().map(|e| e.task_id.as_deref().unwrap_or("-")).collect()
}

/// The storage a test runs on: every test of the shared suite runs on both (`on_both!`).
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh journal of one backend, with direct SQL for the few tests that need it.
struct TestJournal {
    j: Arc<dyn Journal>,
    /// What `open_journal` takes: the file's path or the database's URL.
    spec: String,
    backend: Backend,
    _dir: Option<TempDir>,
}

impl std::ops::Deref for TestJournal {
    type Target = dyn Journal;
    fn deref(&self) -> &(dyn Journal + 'static) {
        &*self.j
    }
}

impl TestJournal {
    fn new(backend: Backend, name: &str) -> TestJournal {
        let (spec, dir) = match backend {
            Backend::Sqlite => {
                let dir = TempDir::new(name);
                (dir.file().display().to_string(), Some(dir))
            }
            Backend::Postgres => (crate::test_pg::database(name), None),
        };
        TestJournal { j: open_journal(&spec).unwrap(), spec, backend, _dir: dir }
    }

    /// Another handle on the same journal, as another process would open it.
    fn reopen(&self) -> Arc<dyn Journal> {
        open_journal(&self.spec).unwrap()
    }

    /// This journal through a new handle, the old one closed.
    fn reopened(self) -> TestJournal {
        let j = self.reopen();
        TestJournal { j, ..self }
    }

    /// Runs `sql` on the storage directly (tables unqualified); the first column of the first
    /// row as an integer, 0 if none.
    fn sql(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let c = Connection::open(&self.spec).unwrap();
                c.busy_timeout(BUSY_TIMEOUT).unwrap();
                let mut st = c.prepare(sql).unwrap();
                let mut rows = st.query([]).unwrap();
                rows.next().unwrap().map(|r| r.get::<_, i64>(0).unwrap_or(0)).unwrap_or(0)
            }
            Backend::Postgres => crate::journal::PgJournal::open(&self.spec).unwrap().exec_for_tests(sql).unwrap(),
        }
    }

    fn count(&self) -> i64 {
        self.sql("SELECT COUNT(*) FROM tasks")
    }
}

/// Each `fn name(b: Backend)` as two tests, `name::sqlite` and `name::postgres`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(super::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name(super::Backend::Postgres)
            }
        }
    )*};
}

on_both!(
    journal_record_get_update_and_files,
    journal_list_filters,
    journal_text_search_agrees_with_a_plain_scan,
    journal_list_limits,
    journal_keys_never_see_each_other,
    journal_find_in_flight_only_running_same_key_same_request,
    journal_unfinished_lists_what_to_resume,
    journal_spent_since_prefers_final_cost,
    journal_ambiguous_rows_are_listed_with_their_note,
    journal_salt_is_stable_per_journal_and_differs_between_journals,
    journal_refuses_a_newer_schema_any,
    journal_two_handles_many_threads_lose_nothing,
    journal_update_task_rewrites_only_what_changed,
    journal_claim_settles_into_the_task_row_and_is_hidden_until_then,
    journal_stale_claims_become_ambiguous,
    journal_claim_race_has_one_winner,
    journal_leases_have_one_holder_until_they_run_out,
    journal_lease_race_has_one_winner,
    journal_processes_share_one_journal,
    journal_observe_writes_many_tasks_at_once,
    journal_write_all_answers_each_write_on_its_own,
);

fn journal_write_all_answers_each_write_on_its_own(b: Backend) {
    let j = TestJournal::new(b, "write_all");
    let req = Entry { task_id: None, ..entry("k", "") };
    let earlier = won(j.claim(&Entry { request_fp: Some("earlier".into()), ..req.clone() }, 0, &[]).unwrap());
    let claim = |fp: Option<&str>| Write::Claim {
        entry: Entry { request_fp: fp.map(String::from), ..req.clone() },
        stale_before_ms: 0,
        skip: vec![],
    };
    let done = Entry { task_id: Some("t9".into()), ..entry("k", "") };
    let lease = Some(("me".to_string(), 60_000));
    let writes = [
        claim(Some("rfp")),
        claim(Some("rfp")),
        claim(None),
        Write::Settle { key_fp: "k".into(), id: earlier, outcome: Some(done), lease },
    ];
    let out = j.write_all(&writes).unwrap();
    assert!(matches!(out[0], Ok(Written::Claim(Claim::Won(_)))), "{out:?}");
    assert_eq!(out[1].as_ref().unwrap(), &Written::Claim(Claim::Taken), "the first claim, in the same batch");
    assert!(out[2].as_ref().unwrap_err().to_string().contains("request fingerprint"), "{out:?}");
    assert_eq!(out[3].as_ref().unwrap(), &Written::Settled);
    // The failing write took nothing with it.
    assert_eq!(j.get("k", "t9").unwrap().unwrap().id, earlier);
    assert!(!leased(&*j, "k", "t9", "other", 60_000), "leased with its row");
    assert_eq!(j.count(), 2, "the earlier claim (now t9) and the new claim");
}

fn journal_observe_writes_many_tasks_at_once(b: Backend) {
    let j = TestJournal::new(b, "observe");
    for id in ["t1", "t2", "t3"] {
        j.record(&entry("k", id)).unwrap();
    }
    let done = |id: &str| task(json!({"id": id, "status": "SUCCEEDED", "output": ["https://x/o.mp4"]}));
    let files = json!([{"path": "/tmp/o.mp4"}]);
    let batch = [
        Observed { task_id: "t1".into(), look: Some(done("t1")), files: Some(files.clone()) },
        Observed {
            task_id: "t2".into(),
            look: Some(task(json!({"id": "t2", "status": "RUNNING", "progress": 0.5}))),
            files: None,
        },
        Observed { task_id: "t3".into(), look: None, files: Some(files.clone()) },
        Observed { task_id: "nope".into(), look: Some(done("nope")), files: None },
    ];
    assert_eq!(j.observe("k", &batch).unwrap(), [true, true, true, false]);
    let t1 = j.get("k", "t1").unwrap().unwrap();
    assert_eq!((t1.status.as_deref(), &t1.files, t1.finished_ms.is_some()), (Some("SUCCEEDED"), &files, true));
    assert_eq!(j.get("k", "t2").unwrap().unwrap().progress, Some(0.5));
    assert_eq!(j.get("k", "t3").unwrap().unwrap().files, files);
    // Nothing new is still a row that exists; another key's rows are not touched.
    assert_eq!(j.observe("k", &batch[..1]).unwrap(), [true]);
    assert_eq!(j.observe("other", &batch[..1]).unwrap(), [false]);
    // A bad files value refuses the whole batch before anything is written.
    let bad = [
        Observed { task_id: "t2".into(), look: Some(done("t2")), files: None },
        Observed { task_id: "t3".into(), look: None, files: Some(json!({"path": "/x"})) },
    ];
    assert!(j.observe("k", &bad).is_err());
    assert_eq!(j.get("k", "t2").unwrap().unwrap().status.as_deref(), Some("RUNNING"));
}

fn journal_leases_have_one_holder_until_they_run_out(b: Backend) {
    let j = TestJournal::new(b, "lease");
    assert!(leased(&*j, "k", "t1", "a", 60_000), "free: taken");
    assert!(!leased(&*j, "k", "t1", "b", 60_000), "another's: refused");
    assert!(leased(&*j, "k", "t1", "a", 60_000), "its own: renewed");
    assert!(leased(&*j, "k", "t2", "b", 60_000), "per task");
    assert!(leased(&*j, "other", "t1", "b", 60_000), "per key");
    // Released (a ttl of 0): the next owner takes it.
    assert!(leased(&*j, "k", "t1", "a", 0));
    assert!(leased(&*j, "k", "t1", "b", 200));
    assert!(!leased(&*j, "k", "t1", "a", 60_000));
    // Run out: taken over.
    std::thread::sleep(Duration::from_millis(300));
    assert!(leased(&*j, "k", "t1", "a", 60_000), "expired: taken over");
    assert!(!leased(&*j, "k", "t1", "b", 60_000));
    // Another handle sees the same leases.
    let other = j.reopen();
    assert!(!leased(&*other, "k", "t1", "b", 60_000));
    assert!(leased(&*other, "k", "t1", "a", 60_000));
    // Several in one call: the ids held now, another's left.
    let ids: Vec<String> = ["t1", "t2", "t3", "t1"].map(String::from).to_vec();
    assert_eq!(j.lease("k", &ids, "a", 60_000).unwrap(), ["t1", "t3"]);
    assert_eq!(j.lease("k", &ids, "b", 0).unwrap(), ["t2"], "released, the others left alone");
    assert!(leased(&*j, "k", "t2", "a", 60_000));
}

/// `lease` of one task: true if `owner` holds it now.
fn leased(j: &dyn Journal, key_fp: &str, task_id: &str, owner: &str, ttl_ms: u64) -> bool {
    !j.lease(key_fp, &[task_id.to_string()], owner, ttl_ms).unwrap().is_empty()
}

fn journal_lease_race_has_one_winner(b: Backend) {
    const THREADS: usize = 6;
    let t = TestJournal::new(b, "lease-race");
    for round in 0..10 {
        let barrier = Arc::new(Barrier::new(THREADS));
        let workers: Vec<_> = (0..THREADS)
            .map(|n| {
                let (barrier, spec) = (barrier.clone(), t.spec.clone());
                std::thread::spawn(move || {
                    let j = open_journal(&spec).unwrap();
                    barrier.wait();
                    leased(&*j, "k", &format!("task{round}"), &format!("owner{n}"), 60_000)
                })
            })
            .collect();
        let got: Vec<bool> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(got.iter().filter(|w| **w).count(), 1, "round {round}: {got:?}");
    }
}

fn journal_refuses_a_newer_schema_any(b: Backend) {
    let j = TestJournal::new(b, "newer");
    j.sql("UPDATE schema_version SET version = 99");
    let err = open_journal(&j.spec).err().unwrap().to_string();
    assert!(err.contains("schema version 99 is newer") && err.contains(PATH_ENV), "{err}");
}

fn journal_record_get_update_and_files(b: Backend) {
    let j = TestJournal::new(b, "basic");
    let id = j.record(&entry("k", "t1")).unwrap();
    let e = j.get("k", "t1").unwrap().unwrap();
    assert_eq!(e.id, id);
    assert_eq!(e.params["ratio"], "1280:720");
    assert_eq!((e.status.as_deref(), e.estimated_cost, e.finished_ms), (None, Some(25.0), None));
    assert!(e.created_ms > 0 && e.updated_ms >= e.created_ms);

    assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.4}))).unwrap());
    let e = j.get("k", "t1").unwrap().unwrap();
    assert_eq!((e.status.as_deref(), e.progress), (Some("RUNNING"), Some(0.4)));
    assert_eq!(e.estimated_cost, Some(25.0), "a GET without estimatedCost keeps the estimate");

    let done = task(json!({"id": "t1", "status": "SUCCEEDED", "output": ["https://x/1.mp4"],
                           "cost": {"credits": 20}}));
    assert!(j.update_task("k", &done).unwrap());
    let e = j.get("k", "t1").unwrap().unwrap();
    assert_eq!(e.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(e.outputs, json!(["https://x/1.mp4"]));
    assert_eq!((e.cost, e.progress), (Some(20.0), Some(0.4)));
    assert!(e.finished_ms.is_some());

    // A stale observation (another process polled before the finish) does not undo it.
    assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.9}))).unwrap());
    assert_eq!(j.get("k", "t1").unwrap().unwrap().status.as_deref(), Some("SUCCEEDED"));

    assert!(!j.update_task("k", &task(json!({"id": "nope", "status": "RUNNING"}))).unwrap());
    assert!(j.set_files("k", "t1", &json!(["/tmp/out/1.mp4"])).unwrap());
    assert!(!j.set_files("k", "nope", &json!([])).unwrap());
    assert_eq!(j.get("k", "t1").unwrap().unwrap().files, json!(["/tmp/out/1.mp4"]));
    assert!(j.set_files("k", "t1", &json!("not an array")).is_err());
    assert!(j.get("k", "nope").unwrap().is_none());

    // Recording the same task again keeps the row, its lifecycle and its files.
    let again = j.record(&Entry { note: Some("seen again".into()), ..entry("k", "t1") }).unwrap();
    assert_eq!(again, id);
    let e = j.get("k", "t1").unwrap().unwrap();
    assert_eq!((e.status.as_deref(), e.files.clone()), (Some("SUCCEEDED"), json!(["/tmp/out/1.mp4"])));
    assert_eq!(e.note.as_deref(), Some("seen again"));
    assert_eq!(j.count(), 1);

    assert!(j.record(&Entry { key_fp: String::new(), ..entry("k", "t2") }).is_err());
}

fn journal_list_filters(b: Backend) {
    let j = TestJournal::new(b, "list");
    let rows = [
        ("a", "generate_video", "gen4.5", Some("SUCCEEDED"), "A Cat on a boat", 1_000),
        ("b", "generate_video", "veo3.1", Some("RUNNING"), "a dog in the snow", 2_000),
        ("c", "generate_image", "gen4_image", Some("FAILED"), "L'ÉTÉ à Paris", 3_000),
        ("d", "generate_image", "gen4_image", None, "cat portrait", 4_000),
        ("e", "generate_video", "gen4.5", Some("THROTTLED"), "ocean waves", 5_000),
    ];
    for (id, tool, model, status, prompt, at) in rows {
        j.record(&Entry {
            tool: tool.into(),
            model: model.into(),
            status: status.map(str::to_string),
            prompt: Some(prompt.into()),
            created_ms: at,
            ..entry("k", id)
        })
        .unwrap();
    }
    let amb = Entry { task_id: None, prompt: Some("sunset".into()), created_ms: 6_000, ..entry("k", "") };
    j.record(&amb).unwrap();
    let list = |f: Filter| ids(&j.list("k", &f).unwrap()).join(",");

    assert_eq!(list(Filter::default()), "-,e,d,c,b,a", "newest first");
    assert_eq!(list(Filter { status: Some("succeeded".into()), ..Default::default() }), "a");
    assert_eq!(list(Filter { status: Some("running".into()), ..Default::default() }), "e,d,b");
    assert_eq!(list(Filter { status: Some("finished".into()), ..Default::default() }), "c,a");
    assert_eq!(list(Filter { status: Some("ambiguous".into()), ..Default::default() }), "-");
    assert_eq!(list(Filter { tool: Some("generate_image".into()), ..Default::default() }), "d,c");
    assert_eq!(list(Filter { model: Some("gen4.5".into()), ..Default::default() }), "-,e,a");
    assert_eq!(list(Filter { since_ms: Some(4_000), ..Default::default() }), "-,e,d");
    assert_eq!(list(Filter { text: Some("CAT".into()), ..Default::default() }), "d,a");
    assert_eq!(list(Filter { text: Some("l'été".into()), ..Default::default() }), "c", "Unicode case folding");
    assert_eq!(list(Filter { text: Some("100%".into()), ..Default::default() }), "");
    assert_eq!(list(Filter { limit: Some(2), ..Default::default() }), "-,e");
    let both = Filter { tool: Some("generate_video".into()), text: Some("a".into()), ..Default::default() };
    assert_eq!(list(both), "e,b,a");
    let all = Filter {
        status: Some("RUNNING".into()),
        tool: Some("generate_video".into()),
        model: Some("veo3.1".into()),
        since_ms: Some(2_000),
        text: Some("snow".into()),
        limit: Some(10),
    };
    assert_eq!(list(all), "b");

    // Same time: the later row first.
    j.record(&Entry { created_ms: 5_000, ..entry("k", "e2") }).unwrap();
    assert_eq!(list(Filter { since_ms: Some(5_000), ..Default::default() }), "-,e2,e");
}

fn journal_text_search_agrees_with_a_plain_scan(b: Backend) {
    let j = TestJournal::new(b, "text");
    let prompts = [
        Some("A Cat on a boat"),
        Some("L'ÉTÉ à Paris"),
        Some(r#"she says "hi" twice"#),
        Some("cat OR dog NEAR(x)"),
        Some("Straße"),
        None,
    ];
    for (i, p) in prompts.iter().enumerate() {
        j.record(&Entry { prompt: p.map(str::to_string), created_ms: 1 + i as u64, ..entry("k", &format!("t{i}")) })
            .unwrap();
    }
    // A prompt first recorded without one, then filled in by a second record, is searchable.
    j.record(&Entry { prompt: None, created_ms: 10, ..entry("k", "late") }).unwrap();
    j.record(&Entry { prompt: Some("late prompt".into()), ..entry("k", "late") }).unwrap();
    let all = j.list("k", &Filter::default()).unwrap();
    for needle in [
        "cat", "CAT", "ca", "été", "ÉT", "é", r#""hi""#, r#"s "h"#, "OR dog", "NEAR(", "*", "straße", "late pr",
        "zebra",
    ] {
        let got = j.list("k", &Filter { text: Some(needle.into()), ..Default::default() }).unwrap();
        let want: Vec<&str> = all
            .iter()
            .filter(|e| e.prompt.as_deref().is_some_and(|p| p.to_lowercase().contains(&needle.to_lowercase())))
            .map(|e| e.task_id.as_deref().unwrap())
            .collect();
        assert_eq!(ids(&got), want, "needle {needle:?}");
    }
}

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

fn journal_list_limits(b: Backend) {
    let j = TestJournal::new(b, "limits");
    for i in 0..1005 {
        j.record(&Entry { created_ms: 1 + i, ..entry("k", &format!("t{i}")) }).unwrap();
    }
    assert_eq!(j.list("k", &Filter::default()).unwrap().len(), DEFAULT_LIMIT);
    let many = j.list("k", &Filter { limit: Some(5000), ..Default::default() }).unwrap();
    assert_eq!(many.len(), MAX_LIMIT);
    assert_eq!(many[0].task_id.as_deref(), Some("t1004"));
    assert!(j.list("k", &Filter { limit: Some(0), ..Default::default() }).unwrap().is_empty());
}

fn journal_keys_never_see_each_other(b: Backend) {
    let j = TestJournal::new(b, "keys");
    let (a, b) = (key_fingerprint(j.salt(), "key_a"), key_fingerprint(j.salt(), "key_b"));
    assert_ne!(a, b);
    j.record(&entry(&a, "t1")).unwrap();
    j.record(&Entry { task_id: None, ..entry(&a, "") }).unwrap();

    assert!(j.get(&b, "t1").unwrap().is_none());
    assert!(j.list(&b, &Filter::default()).unwrap().is_empty());
    assert!(j.find_in_flight(&b, "rfp").unwrap().is_none());
    assert!(j.unfinished(&b, 10).unwrap().is_empty());
    assert_eq!(j.spent_since(&b, 0).unwrap(), 0.0);
    assert!(!j.update_task(&b, &task(json!({"id": "t1", "status": "FAILED"}))).unwrap());
    assert!(!j.set_files(&b, "t1", &json!(["/x"])).unwrap());
    let e = j.get(&a, "t1").unwrap().unwrap();
    assert_eq!((e.status, e.files), (None, json!([])), "b's calls changed nothing of a's");

    // The same task id under another key is another row, and recording it leaves a's alone.
    j.record(&Entry { tool: "other".into(), ..entry(&b, "t1") }).unwrap();
    assert_eq!(j.get(&a, "t1").unwrap().unwrap().tool, "generate_video");
    assert_eq!(j.get(&b, "t1").unwrap().unwrap().tool, "other");
    assert_eq!(j.list(&a, &Filter::default()).unwrap().len(), 2);
}

fn journal_find_in_flight_only_running_same_key_same_request(b: Backend) {
    let j = TestJournal::new(b, "inflight");
    let rfp = request_fingerprint("/v1/text_to_video", &json!({"promptText": "x"}), &[]);
    let with = |id: &str, status: Option<&str>, at: u64| Entry {
        request_fp: Some(rfp.clone()),
        status: status.map(str::to_string),
        created_ms: at,
        ..entry("k", id)
    };
    assert!(j.find_in_flight("k", &rfp).unwrap().is_none());
    j.record(&with("done", Some("SUCCEEDED"), 1)).unwrap();
    j.record(&with("failed", Some("FAILED"), 2)).unwrap();
    j.record(&with("cancelled", Some("CANCELLED"), 3)).unwrap();
    j.record(&Entry { task_id: None, ..with("", None, 4) }).unwrap();
    j.record(&Entry { key_fp: "other".into(), ..with("theirs", Some("RUNNING"), 5) }).unwrap();
    j.record(&Entry { request_fp: Some("different".into()), ..with("diff", Some("RUNNING"), 6) }).unwrap();
    assert!(j.find_in_flight("k", &rfp).unwrap().is_none(), "finished, ambiguous, other key or request");

    for (i, status) in [None, Some("PENDING"), Some("THROTTLED"), Some("RUNNING")].into_iter().enumerate() {
        let id = format!("live{i}");
        j.record(&with(&id, status, 10 + i as u64)).unwrap();
        assert_eq!(j.find_in_flight("k", &rfp).unwrap().unwrap().task_id.as_deref(), Some(id.as_str()));
    }
    // Once it finishes it is never found again; the next newest live one is.
    j.update_task("k", &task(json!({"id": "live3", "status": "SUCCEEDED"}))).unwrap();
    assert_eq!(j.find_in_flight("k", &rfp).unwrap().unwrap().task_id.as_deref(), Some("live2"));
    for id in ["live0", "live1", "live2"] {
        j.update_task("k", &task(json!({"id": id, "status": "FAILED"}))).unwrap();
    }
    assert!(j.find_in_flight("k", &rfp).unwrap().is_none());
}

fn journal_unfinished_lists_what_to_resume(b: Backend) {
    let j = TestJournal::new(b, "unfinished");
    let add = |id: &str, status: Option<&str>, outputs: Value, files: Value, at: u64| {
        j.record(&Entry { status: status.map(str::to_string), outputs, files, created_ms: at, ..entry("k", id) })
            .unwrap()
    };
    add("new", None, json!([]), json!([]), 1);
    add("running", Some("RUNNING"), json!([]), json!([]), 2);
    add("throttled", Some("THROTTLED"), json!([]), json!([]), 3);
    add("undownloaded", Some("SUCCEEDED"), json!(["https://x/a.mp4"]), json!([]), 4);
    add("saved", Some("SUCCEEDED"), json!(["https://x/b.mp4"]), json!(["/out/b.mp4"]), 5);
    add("gave_up", Some("SUCCEEDED"), json!(["https://x/c.mp4"]), json!([{"error": "link expired"}]), 6);
    add("failed", Some("FAILED"), json!([]), json!([]), 7);
    add("cancelled", Some("CANCELLED"), json!([]), json!([]), 8);
    j.record(&Entry { task_id: None, created_ms: 9, ..entry("k", "") }).unwrap();
    j.record(&Entry { key_fp: "other".into(), ..entry("k", "theirs") }).unwrap();

    assert_eq!(ids(&j.unfinished("k", 100).unwrap()), ["undownloaded", "throttled", "running", "new"]);
    assert_eq!(ids(&j.unfinished("k", 2).unwrap()), ["undownloaded", "throttled"]);
    j.set_files("k", "undownloaded", &json!(["/out/a.mp4"])).unwrap();
    j.update_task("k", &task(json!({"id": "running", "status": "SUCCEEDED", "output": ["https://x/d"]}))).unwrap();
    assert_eq!(ids(&j.unfinished("k", 100).unwrap()), ["throttled", "running", "new"]);
}

fn journal_spent_since_prefers_final_cost(b: Backend) {
    let j = TestJournal::new(b, "spent");
    j.record(&Entry { estimated_cost: Some(40.0), created_ms: 500, ..entry("k", "old") }).unwrap();
    j.record(&Entry { estimated_cost: Some(25.0), created_ms: 1_000, ..entry("k", "a") }).unwrap();
    j.record(&Entry { estimated_cost: Some(10.0), created_ms: 2_000, ..entry("k", "b") }).unwrap();
    j.record(&Entry { estimated_cost: None, created_ms: 3_000, ..entry("k", "c") }).unwrap();
    j.record(&Entry { task_id: None, estimated_cost: Some(5.0), created_ms: 4_000, ..entry("k", "") }).unwrap();
    j.record(&Entry { estimated_cost: Some(99.0), created_ms: 4_000, ..entry("other", "x") }).unwrap();
    assert_eq!(j.spent_since("k", 1_000).unwrap(), 40.0);
    j.update_task("k", &task(json!({"id": "a", "status": "SUCCEEDED", "cost": {"credits": 20}}))).unwrap();
    j.update_task("k", &task(json!({"id": "b", "status": "FAILED", "cost": {"credits": 0}}))).unwrap();
    assert_eq!(j.spent_since("k", 1_000).unwrap(), 25.0);
    assert_eq!(j.get("k", "a").unwrap().unwrap().credits(), 20.0);
    assert_eq!(j.get("k", "c").unwrap().unwrap().credits(), 0.0);
    assert_eq!(j.spent_since("k", 0).unwrap(), 65.0);
    assert_eq!(j.spent_since("k", 10_000).unwrap(), 0.0);
}

fn journal_ambiguous_rows_are_listed_with_their_note(b: Backend) {
    let j = TestJournal::new(b, "ambiguous");
    let note = "Runway may have created a task: check the dashboard before retrying";
    let amb = Entry { task_id: None, note: Some(note.into()), ..entry("k", "") };
    let (r1, r2) = (j.record(&amb).unwrap(), j.record(&amb).unwrap());
    assert_ne!(r1, r2, "ambiguous creates never merge");
    let rows = j.list("k", &Filter::default()).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|e| e.is_ambiguous() && e.note.as_deref() == Some(note)));
    assert_eq!(rows[0].params["promptText"], "a cat on a skateboard");
}

fn journal_salt_is_stable_per_journal_and_differs_between_journals(b: Backend) {
    let (j1, j2) = (TestJournal::new(b, "salt1"), TestJournal::new(b, "salt2"));
    let s1 = j1.salt().to_vec();
    let reopened = j1.reopen();
    assert_eq!(reopened.salt(), s1.as_slice());
    assert_eq!(s1.len(), 32);
    assert_ne!(j2.salt(), s1.as_slice());
    let key = "key_0123456789abcdef";
    let fp = key_fingerprint(reopened.salt(), key);
    assert_eq!(fp, key_fingerprint(&s1, key));
    assert_ne!(fp, key_fingerprint(j2.salt(), key));
    assert_eq!(fp.len(), 32);
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()) && !fp.contains("0123456789abcdef"));
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

/// Writes `n` rows for thread or process `tag`: record, RUNNING, then files; finishing them is
/// left to another writer so two writers touch every row.
fn write_rows(j: &dyn Journal, key: &str, tag: &str, n: usize) {
    for i in 0..n {
        let id = format!("{tag}-{i}");
        j.record(&Entry { request_fp: Some(id.clone()), ..entry(key, &id) }).unwrap();
        let running = task(json!({"id": id, "status": "RUNNING", "progress": 0.5}));
        assert!(j.update_task(key, &running).unwrap());
    }
}

fn finish_rows(j: &dyn Journal, key: &str, tag: &str, n: usize) {
    for i in 0..n {
        let id = format!("{tag}-{i}");
        let done = task(json!({"id": id, "status": "SUCCEEDED", "output": [format!("https://x/{id}")],
                               "cost": {"credits": i}}));
        assert!(j.update_task(key, &done).unwrap());
    }
}

fn save_files(j: &dyn Journal, key: &str, tag: &str, n: usize) {
    for i in 0..n {
        let id = format!("{tag}-{i}");
        assert!(j.set_files(key, &id, &json!([format!("/out/{id}.mp4")])).unwrap());
    }
}

fn check_rows(j: &dyn Journal, key: &str, tag: &str, n: usize) {
    for i in 0..n {
        let id = format!("{tag}-{i}");
        let e = j.get(key, &id).unwrap().unwrap_or_else(|| panic!("row {id} lost"));
        assert_eq!(e.status.as_deref(), Some("SUCCEEDED"), "{id}");
        assert_eq!((e.progress, e.cost), (Some(0.5), Some(i as f64)), "{id}");
        assert_eq!(e.outputs, json!([format!("https://x/{id}")]), "{id}");
        assert_eq!(e.files, json!([format!("/out/{id}.mp4")]), "{id}");
    }
}

fn journal_two_handles_many_threads_lose_nothing(b: Backend) {
    const THREADS: usize = 8;
    const ROWS: usize = 300;
    let tj = TestJournal::new(b, "threads");
    let handles = [tj.reopen(), tj.reopen()];
    let barrier = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (j, barrier) = (handles[t % 2].clone(), barrier.clone());
            std::thread::spawn(move || {
                write_rows(&*j, "k", &format!("t{t}"), ROWS);
                barrier.wait();
                // Each row is finished by its writer and given files by the next thread, which
                // uses the other handle, at the same time.
                finish_rows(&*j, "k", &format!("t{t}"), ROWS);
                save_files(&*j, "k", &format!("t{}", (t + 1) % THREADS), ROWS);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let j = &*handles[0];
    assert_eq!(tj.count(), (THREADS * ROWS) as i64);
    for t in 0..THREADS {
        check_rows(j, "k", &format!("t{t}"), ROWS);
    }
    let expected: usize = THREADS * (0..ROWS).sum::<usize>();
    assert_eq!(j.spent_since("k", 0).unwrap(), expected as f64);
}

fn won(c: Claim) -> i64 {
    match c {
        Claim::Won(id) => id,
        other => panic!("expected a won claim, got {other:?}"),
    }
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

fn journal_update_task_rewrites_only_what_changed(b: Backend) {
    let j = TestJournal::new(b, "unchanged");
    j.record(&entry("k", "t1")).unwrap();
    let updated = || j.get("k", "t1").unwrap().unwrap().updated_ms;
    let mark = || j.sql("UPDATE tasks SET updated_ms = 1");
    let running = task(json!({"id": "t1", "status": "RUNNING", "progress": 0.4}));
    assert!(j.update_task("k", &running).unwrap());
    mark();
    assert!(j.update_task("k", &running).unwrap(), "the row is there");
    assert_eq!(updated(), 1, "an unchanged status is not rewritten");
    assert!(j.update_task("k", &task(json!({"id": "t1"}))).unwrap());
    assert_eq!(updated(), 1, "a look that says nothing rewrites nothing");
    assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.5}))).unwrap());
    assert!(updated() > 1, "a changed progress is written");
    let e = j.get("k", "t1").unwrap().unwrap();
    assert_eq!((e.status.as_deref(), e.progress, e.finished_ms), (Some("RUNNING"), Some(0.5), None));
    mark();
    let done = task(json!({"id": "t1", "status": "SUCCEEDED", "output": ["https://x/1"], "cost": {"credits": 5}}));
    assert!(j.update_task("k", &done).unwrap());
    let e = j.get("k", "t1").unwrap().unwrap();
    let finished = e.finished_ms.unwrap();
    assert!(e.updated_ms > 1 && finished > 1);
    assert_eq!((e.outputs, e.cost, e.progress), (json!(["https://x/1"]), Some(5.0), Some(0.5)));
    // Fresh output links for a finished task are kept; the finish time stays.
    let relinked = task(json!({"id": "t1", "status": "SUCCEEDED", "output": ["https://x/2"]}));
    assert!(j.update_task("k", &relinked).unwrap());
    let e = j.get("k", "t1").unwrap().unwrap();
    assert_eq!((e.outputs, e.finished_ms), (json!(["https://x/2"]), Some(finished)));
    mark();
    assert!(j.update_task("k", &task(json!({"id": "t1", "status": "RUNNING", "progress": 0.9}))).unwrap());
    assert_eq!((updated(), j.get("k", "t1").unwrap().unwrap().progress), (1, Some(0.5)), "never moved back");
    assert!(!j.update_task("other", &running).unwrap());
}

fn journal_claim_settles_into_the_task_row_and_is_hidden_until_then(b: Backend) {
    let j = TestJournal::new(b, "claim");
    let req = Entry { task_id: None, estimated_cost: None, ..entry("k", "") };
    let id = won(j.claim(&req, 0, &[]).unwrap());
    assert_eq!(j.claim(&req, 0, &[]).unwrap(), Claim::Taken);
    assert_eq!(j.claim(&Entry { key_fp: "other".into(), ..req.clone() }, 0, &[]).unwrap(), Claim::Won(id + 1));
    assert_eq!(j.claim(&Entry { request_fp: Some("rfp2".into()), ..req.clone() }, 0, &[]).unwrap(), Claim::Won(id + 2));
    // Invisible to every read.
    assert!(j.list("k", &Filter::default()).unwrap().is_empty());
    for status in ["ambiguous", "running", "SUBMITTING"] {
        assert!(j.list("k", &Filter { status: Some(status.into()), ..Default::default() }).unwrap().is_empty());
    }
    assert!(j.unfinished("k", 10).unwrap().is_empty());
    assert!(j.find_in_flight("k", "rfp").unwrap().is_none());
    assert_eq!(j.spent_since("k", 0).unwrap(), 0.0);
    assert!(j.claim(&Entry { request_fp: None, ..req.clone() }, 0, &[]).is_err());

    // Runway's answer: the same row becomes the task.
    let answer = Entry { task_id: Some("t1".into()), estimated_cost: Some(25.0), ..entry("k", "") };
    j.settle("k", id, Some(&answer), Some(LeaseTo { owner: "creator", ttl_ms: 60_000 })).unwrap();
    assert!(!leased(&*j, "k", "t1", "other", 60_000), "leased to its creator with its row");
    assert!(leased(&*j, "k", "t1", "creator", 60_000));
    let e = j.get("k", "t1").unwrap().unwrap();
    assert_eq!((e.id, e.status.clone(), e.estimated_cost, e.note.clone()), (id, None, Some(25.0), None));
    assert_eq!(e.prompt.as_deref(), Some("a cat on a skateboard"));
    assert_eq!(ids(&j.list("k", &Filter::default()).unwrap()), ["t1"]);
    assert_eq!(j.spent_since("k", 0).unwrap(), 25.0);
    match j.claim(&req, 0, &[]).unwrap() {
        Claim::InFlight(e) => assert_eq!(e.task_id.as_deref(), Some("t1")),
        other => panic!("{other:?}"),
    }
    // The caller found t1 finished at Runway: it may claim, and a definite failure removes it.
    let again = won(j.claim(&req, 0, &["t1".into()]).unwrap());
    j.settle("k", again, None, None).unwrap();
    assert_eq!(j.count(), 3);
    // An ambiguous create becomes visible as one.
    let again = won(j.claim(&req, 0, &["t1".into()]).unwrap());
    let amb = Entry { task_id: None, note: Some("check".into()), failure: Some("lost".into()), ..entry("k", "") };
    j.settle("k", again, Some(&amb), Some(LeaseTo { owner: "creator", ttl_ms: 60_000 })).unwrap();
    let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
    assert_eq!((rows.len(), rows[0].id, rows[0].note.as_deref()), (1, again, Some("check")));
    assert_eq!(rows[0].status, None);
    assert_eq!(j.sql("SELECT COUNT(*) FROM leases"), 1, "no task id, no lease");
    // It stands in the way of the identical request (which might pay twice) until the user chooses.
    match j.claim(&req, 0, &["t1".into()]).unwrap() {
        Claim::Ambiguous(e) => assert_eq!((e.id, e.failure.as_deref()), (again, Some("lost"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(j.forget_ambiguous("k", "rfp").unwrap(), 1);
    // A task already journaled by someone else keeps its row; the claim goes.
    let c = won(j.claim(&req, 0, &["t1".into()]).unwrap());
    j.settle("k", c, Some(&Entry { task_id: Some("t1".into()), ..entry("k", "") }), None).unwrap();
    assert_eq!(j.get("k", "t1").unwrap().unwrap().id, id);
    assert_eq!(j.count(), 4);
}

fn journal_stale_claims_become_ambiguous(b: Backend) {
    let j = TestJournal::new(b, "stale-claim");
    let now = now_unix_ms();
    let req = Entry { task_id: None, estimated_cost: None, ..entry("k", "") };
    let old = Entry { created_ms: now - CLAIM_STALE_MS - 1_000, ..req.clone() };
    let dead = won(j.claim(&old, 0, &[]).unwrap());
    assert_eq!(j.claim(&req, now - CLAIM_STALE_MS - 5_000, &[]).unwrap(), Claim::Taken, "not stale by this bound");
    // Stale: it becomes an ambiguous create, and the identical request is told, not let through
    // (its process may have paid); again and again, until the user pays again knowingly.
    for _ in 0..2 {
        match j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap() {
            Claim::Ambiguous(e) => {
                assert_eq!((e.id, e.created_ms, e.note.as_deref()), (dead, old.created_ms, Some(STALE_CLAIM_NOTE)))
            }
            other => panic!("{other:?}"),
        }
    }
    let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
    assert_eq!(rows.iter().map(|e| e.id).collect::<Vec<_>>(), [dead]);
    assert_eq!(rows[0].note.as_deref(), Some(STALE_CLAIM_NOTE));
    assert_eq!(j.forget_ambiguous("other-key", req.request_fp.as_deref().unwrap()).unwrap(), 0, "another key's");
    assert_eq!(j.forget_ambiguous("k", req.request_fp.as_deref().unwrap()).unwrap(), 1);
    let mine = won(j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap());
    assert_ne!(mine, dead);
    j.settle("k", mine, None, None).unwrap();
    let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
    assert_eq!(rows.iter().map(|e| e.id).collect::<Vec<_>>(), [dead], "still listed after the user chose");
    // A process that died is found at the next open too.
    let other = Entry { request_fp: Some("rfp2".into()), ..old.clone() };
    let dead2 = won(j.claim(&other, 0, &[]).unwrap());
    // `mine` settled without a task is gone, so the identical request wins a fresh, live claim.
    won(j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap());
    let j = j.reopened();
    let rows = j.list("k", &Filter { status: Some("ambiguous".into()), ..Default::default() }).unwrap();
    assert_eq!(rows.iter().map(|e| e.id).collect::<Vec<_>>(), [dead2, dead]);
    assert_eq!(j.claim(&req, now - CLAIM_STALE_MS, &[]).unwrap(), Claim::Taken, "a live claim survives the open");
    // A slow process whose claim was taken for dead still settles it with its task.
    j.settle("k", dead, Some(&Entry { task_id: Some("late".into()), ..entry("k", "") }), None).unwrap();
    let e = j.get("k", "late").unwrap().unwrap();
    assert_eq!((e.id, e.note), (dead, None));
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

fn journal_claim_race_has_one_winner(b: Backend) {
    const THREADS: usize = 6;
    let t = TestJournal::new(b, "claim-race");
    for round in 0..10 {
        let barrier = Arc::new(Barrier::new(THREADS));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (barrier, spec) = (barrier.clone(), t.spec.clone());
                std::thread::spawn(move || {
                    // Each thread its own handle: as separate processes would.
                    let j = open_journal(&spec).unwrap();
                    let req = Entry { task_id: None, request_fp: Some(format!("r{round}")), ..entry("k", "") };
                    barrier.wait();
                    j.claim(&req, 0, &[]).unwrap()
                })
            })
            .collect();
        let got: Vec<Claim> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(got.iter().filter(|c| matches!(c, Claim::Won(_))).count(), 1, "round {round}: {got:?}");
        assert_eq!(got.iter().filter(|c| **c == Claim::Taken).count(), THREADS - 1);
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

const CHILD_ENV: &str = "RUNWAY_JOURNAL_TEST_CHILD";

/// Run by `journal_processes_share_one_journal` in child processes; does nothing on its own.
#[test]
#[ignore = "helper of journal_processes_share_one_journal"]
fn journal_child_writer() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (spec, tag) = spec.split_once('|').unwrap();
    let j = open_journal(spec).unwrap();
    let key = key_fingerprint(j.salt(), "shared key");
    write_rows(&*j, &key, tag, 300);
    finish_rows(&*j, &key, tag, 300);
    save_files(&*j, &key, tag, 300);
}

fn journal_processes_share_one_journal(b: Backend) {
    let (spec, _dir) = match b {
        // A file nobody opened yet: the children create it while this process does.
        Backend::Sqlite => {
            let dir = TempDir::new("processes");
            (dir.file().display().to_string(), Some(dir))
        }
        Backend::Postgres => (crate::test_pg::database("processes"), None),
    };
    let children: Vec<_> = ["p0", "p1", "p2"]
        .iter()
        .map(|tag| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "journal::tests::journal_child_writer", "--ignored", "--test-threads=1"])
                .env(CHILD_ENV, format!("{spec}|{tag}"))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let j = open_journal(&spec).unwrap();
    // Every process fingerprints the key with the salt it found: only if all found the same
    // salt are the children's rows visible here.
    let key = key_fingerprint(j.salt(), "shared key");
    write_rows(&*j, &key, "parent", 300);
    finish_rows(&*j, &key, "parent", 300);
    save_files(&*j, &key, "parent", 300);
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a child writer failed");
    }
    assert_eq!(j.list(&key, &Filter { limit: Some(MAX_LIMIT), ..Default::default() }).unwrap().len(), MAX_LIMIT);
    assert_eq!(j.spent_since(&key, 0).unwrap(), 4.0 * (0..300).sum::<usize>() as f64);
    for tag in ["parent", "p0", "p1", "p2"] {
        check_rows(&*j, &key, tag, 300);
    }
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
