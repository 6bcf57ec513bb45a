//! The journal's storage suite: every test runs on SQLite and on PostgreSQL (`on_both!`, a
//! throwaway server from tests/pg), through the public `Journal` interface.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use runway_core::journal::*;
use runway_core::tasks::Task;
use runway_core::util::now_unix_ms;
use rusqlite::Connection;
use serde_json::{json, Value};

#[path = "../src/journal/fixtures.rs"]
mod fixtures;
mod pg;

use fixtures::{entry, ids, TempDir};

fn task(v: Value) -> Task {
    Task::from_json(v).unwrap()
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
            Backend::Postgres => (pg::database(name), None),
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
                c.busy_timeout(Duration::from_secs(5)).unwrap();
                let mut st = c.prepare(sql).unwrap();
                let mut rows = st.query([]).unwrap();
                rows.next().unwrap().map(|r| r.get::<_, i64>(0).unwrap_or(0)).unwrap_or(0)
            }
            Backend::Postgres => PgJournal::open(&self.spec).unwrap().exec_for_tests(sql).unwrap(),
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
        Backend::Postgres => (pg::database("processes"), None),
    };
    let children: Vec<_> = ["p0", "p1", "p2"]
        .iter()
        .map(|tag| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "journal_child_writer", "--ignored", "--test-threads=1"])
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
fn one_handle_holds_at_most_its_pool() {
    let j = Arc::new(PgJournal::open(&pg::database("pool")).unwrap());
    let workers: Vec<_> = (0..12)
        .map(|i| {
            let j = j.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    j.list(&format!("k{i}"), &Filter::default()).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let n = j
        .exec_for_tests(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = 'runway-mcp-server'",
        )
        .unwrap();
    assert!((2..=POOL_SIZE as i64).contains(&n), "{n} connections for 12 threads at once");
}
