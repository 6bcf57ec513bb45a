//! The client with a task journal, against the simulator over real HTTP: a row the moment a task
//! is created, statuses and saved files as they come, reattaching an identical in-flight request
//! (one POST, not two), never reattaching to a finished task, ambiguous creates journaled, and
//! one key never seeing another's rows.

use std::sync::Arc;
use std::time::Duration;

use runway_core::client::{ClientOptions, CreateMeta, RunwayClient, WRITE_BEHIND};
use runway_core::journal::{
    key_fingerprint, open_journal, request_fingerprint, Claim, Entry, Filter, Journal, LeaseTo, Observed,
    CLAIM_STALE_MS, STALE_CLAIM_NOTE,
};
use runway_core::simulator::{Fault, FaultKind, SimConfig, Simulator};
use serde_json::{json, Value};

mod both;
use both::{fast_options, journal_spec, on_both, sim, temp_dir, Backend};

on_both!(
    tasks_are_journaled_from_create_to_saved_files,
    identical_in_flight_request_reattaches_once_and_never_after_the_finish,
    a_peek_finds_the_running_identical_task_and_reattach_only_never_creates,
    a_journaled_task_that_finished_unseen_is_not_reused,
    local_media_content_is_part_of_the_request,
    an_ambiguous_create_is_journaled_with_advice,
    one_key_never_sees_another_keys_tasks,
    identical_requests_made_at_once_make_one_task,
    two_clients_with_their_own_journal_handles_make_one_task,
    a_claim_is_waited_for_and_a_stale_one_never_replaced,
    a_create_that_made_no_task_leaves_no_claim,
    a_poll_that_saw_nothing_new_writes_nothing,
    replicas_share_tasks_and_one_of_them_holds_a_lease,
);

fn client(s: &Simulator, journal: &Arc<dyn Journal>, key: Option<&str>) -> RunwayClient {
    let o = fast_options(s, key.unwrap_or(s.api_key()));
    let mut c = RunwayClient::new(o).unwrap();
    c.attach_journal(journal.clone());
    c
}

fn body(prompt: &str) -> Value {
    json!({"model": "gen4.5", "promptText": prompt, "ratio": "1280:720", "duration": 5})
}

fn posts(s: &Simulator) -> usize {
    s.state().requests().iter().filter(|r| r.method == "POST" && r.path == "/v1/text_to_video").count()
}

fn meta(tool: &str) -> CreateMeta {
    CreateMeta { tool: Some(tool.into()), ..Default::default() }
}

async fn tasks_are_journaled_from_create_to_saved_files(b: Backend) {
    let s = sim(0.6);
    let dir = temp_dir("lifecycle");
    let j = open_journal(&journal_spec(b, &dir, "lifecycle")).unwrap();
    let c = client(&s, &j, None);
    let t =
        c.create_task_with("text_to_video", body("a fox"), true, &meta("generate_video_text_to_video")).await.unwrap();
    // Written the moment Runway answered, before any waiting.
    let e = c.journal_get(&t.id).await.unwrap().expect("journaled at create");
    assert_eq!(e.tool, "generate_video_text_to_video");
    assert_eq!((e.endpoint.as_str(), e.model.as_str()), ("text_to_video", "gen4.5"));
    assert_eq!(e.prompt.as_deref(), Some("a fox"));
    assert_eq!(e.estimated_cost, Some(60.0));
    assert_eq!(e.status, None);
    let done = c.wait_for_task(&t.id, Some(Duration::from_secs(20)), |_| async { Ok(()) }).await.unwrap();
    let e = c.journal_get(&t.id).await.unwrap().unwrap();
    assert_eq!(e.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(e.outputs, json!(done.output));
    assert_eq!(e.cost, Some(60.0));
    assert!(e.finished_ms.is_some());
    let saved = c.save_outputs(&done, &dir, "t2v").await.unwrap();
    let e = c.journal_get(&t.id).await.unwrap().unwrap();
    assert_eq!(e.files[0]["path"], json!(saved[0].path));
    assert_eq!(e.files[0]["bytes"], json!(saved[0].bytes));
    // Listing and filters.
    let rows = c.journal_list(Filter { text: Some("FOX".into()), ..Default::default() }).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(c.journal_list(Filter { status: Some("running".into()), ..Default::default() }).await.unwrap().is_empty());
    assert_eq!(c.journal_spent_since(0).await.unwrap(), 60.0);
    std::fs::remove_dir_all(dir).ok();
}

async fn identical_in_flight_request_reattaches_once_and_never_after_the_finish(b: Backend) {
    let s = sim(1.5);
    let dir = temp_dir("reattach");
    let j = open_journal(&journal_spec(b, &dir, "reattach")).unwrap();
    let c = client(&s, &j, None);
    let first = c.create_task_with("text_to_video", body("waves"), true, &meta("t2v")).await.unwrap();
    assert!(!first.reattached);
    // The same request again (keys in another order): the same task, no second POST.
    let again = json!({"duration": 5, "ratio": "1280:720", "promptText": "waves", "model": "gen4.5"});
    let second = c.create_task_with("text_to_video", again.clone(), true, &meta("t2v")).await.unwrap();
    assert_eq!(second.id, first.id);
    assert!(second.reattached);
    assert_eq!(second.estimated_cost, Some(60.0));
    assert_eq!(posts(&s), 1);
    // A different request is a different task.
    let other = c.create_task_with("text_to_video", body("other waves"), true, &meta("t2v")).await.unwrap();
    assert_ne!(other.id, first.id);
    // force_new pays for another on purpose.
    let forced = CreateMeta { tool: Some("t2v".into()), force_new: true, ..Default::default() };
    let third = c.create_task_with("text_to_video", again.clone(), true, &forced).await.unwrap();
    assert!(!third.reattached && third.id != first.id);
    assert_eq!(posts(&s), 3);
    // After it finished, the same request makes a new task.
    c.wait_for_task(&first.id, Some(Duration::from_secs(20)), |_| async { Ok(()) }).await.unwrap();
    c.wait_for_task(&third.id, Some(Duration::from_secs(20)), |_| async { Ok(()) }).await.unwrap();
    let fourth = c.create_task_with("text_to_video", again, true, &meta("t2v")).await.unwrap();
    assert!(!fourth.reattached && fourth.id != first.id && fourth.id != third.id);
    assert_eq!(posts(&s), 4);
    std::fs::remove_dir_all(dir).ok();
}

async fn a_peek_finds_the_running_identical_task_and_reattach_only_never_creates(b: Backend) {
    let s = sim(1.5);
    let dir = temp_dir("peek");
    let j = open_journal(&journal_spec(b, &dir, "peek")).unwrap();
    let c = client(&s, &j, None);
    let only = CreateMeta { reattach_only: true, ..meta("t2v") };
    // Nothing running: the peek finds nothing, and a reattach-only create makes nothing (no POST, no row).
    assert!(c.in_flight("text_to_video", &body("peek")).await.unwrap().is_none());
    let e = c.create_task_with("text_to_video", body("peek"), true, &only).await.unwrap_err();
    assert!(e.to_string().contains("nothing spent"), "{e}");
    assert_eq!(posts(&s), 0);
    assert!(c.journal_list(Filter::default()).await.unwrap().is_empty());
    // Running: the peek finds it, and claims nothing (a create still reattaches); another request finds nothing.
    let first = c.create_task_with("text_to_video", body("peek"), true, &meta("t2v")).await.unwrap();
    let seen = c.in_flight("/v1/text_to_video", &body("peek")).await.unwrap().expect("in flight");
    assert!(seen.reattached && seen.id == first.id);
    assert!(c.in_flight("text_to_video", &body("other")).await.unwrap().is_none());
    let again = c.create_task_with("text_to_video", body("peek"), true, &only).await.unwrap();
    assert!(again.reattached && again.id == first.id);
    assert_eq!(posts(&s), 1);
    // Finished: nothing to reattach to, so a reattach-only create still makes nothing.
    c.wait_for_task(&first.id, Some(Duration::from_secs(20)), |_| async { Ok(()) }).await.unwrap();
    assert!(c.in_flight("text_to_video", &body("peek")).await.unwrap().is_none());
    assert!(c.create_task_with("text_to_video", body("peek"), true, &only).await.is_err());
    assert_eq!(posts(&s), 1);
    assert_eq!(c.journal_list(Filter::default()).await.unwrap().len(), 1);
    // Without a journal there is nothing to reattach to: no peek result, no create.
    let bare = RunwayClient::new(ClientOptions {
        api_key: Some(s.api_key().to_string()),
        base_url: Some(s.base_url()),
        ..Default::default()
    })
    .unwrap();
    assert!(bare.in_flight("text_to_video", &body("peek")).await.unwrap().is_none());
    assert!(bare.create_task_with("text_to_video", body("bare"), true, &only).await.is_err());
    assert_eq!(posts(&s), 1);
    std::fs::remove_dir_all(dir).ok();
}

async fn a_journaled_task_that_finished_unseen_is_not_reused(b: Backend) {
    // The journal says RUNNING (last seen), Runway says SUCCEEDED: look before reattaching.
    let s = sim(0.3);
    let dir = temp_dir("stale");
    let j = open_journal(&journal_spec(b, &dir, "stale")).unwrap();
    let c = client(&s, &j, None);
    let first = c.create_task_with("text_to_video", body("stale"), true, &meta("t2v")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let second = c.create_task_with("text_to_video", body("stale"), true, &meta("t2v")).await.unwrap();
    assert!(!second.reattached && second.id != first.id);
    assert_eq!(c.journal_get(&first.id).await.unwrap().unwrap().status.as_deref(), Some("SUCCEEDED"));
    std::fs::remove_dir_all(dir).ok();
}

async fn local_media_content_is_part_of_the_request(b: Backend) {
    let s = sim(3.0);
    let dir = temp_dir("media");
    let j = open_journal(&journal_spec(b, &dir, "media")).unwrap();
    let c = client(&s, &j, None);
    let frame = dir.join("frame.png");
    let png = runway_core::simulator::placeholders::for_kind(runway_core::catalogue::MediaKind::Image).bytes;
    std::fs::write(&frame, png).unwrap();
    let b = json!({"model": "gen4_turbo", "promptImage": frame.to_str().unwrap(), "ratio": "960:960"});
    let a = c.create_task_with("image_to_video", b.clone(), true, &meta("i2v")).await.unwrap();
    assert!(c.create_task_with("image_to_video", b.clone(), true, &meta("i2v")).await.unwrap().reattached);
    // Same path, other content: another request.
    let mut other = png.to_vec();
    other.extend_from_slice(b"trailing bytes");
    std::fs::write(&frame, other).unwrap();
    let changed = c.create_task_with("image_to_video", b, true, &meta("i2v")).await.unwrap();
    assert!(!changed.reattached && changed.id != a.id);
    // The journal keeps the path, never the file's contents.
    let e = c.journal_get(&a.id).await.unwrap().unwrap();
    assert_eq!(e.params["promptImage"], json!(frame.to_str().unwrap()));
    std::fs::remove_dir_all(dir).ok();
}

async fn an_ambiguous_create_is_journaled_with_advice(b: Backend) {
    let s = sim(0.5);
    let dir = temp_dir("ambiguous");
    let j = open_journal(&journal_spec(b, &dir, "ambiguous")).unwrap();
    let c = client(&s, &j, None);
    s.state().add_fault(Fault {
        kind: FaultKind::LostResponse,
        method: Some("POST".into()),
        path_prefix: Some("/v1/text_to_video".into()),
        remaining: 1,
    });
    let err = c.create_task_with("text_to_video", body("lost"), true, &meta("t2v")).await.unwrap_err();
    assert!(err.may_have_created(), "{err}");
    let rows = c.journal_list(Filter { status: Some("ambiguous".into()), ..Default::default() }).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].task_id.is_none() && rows[0].note.as_deref().unwrap().contains("dashboard"));
    assert_eq!(rows[0].prompt.as_deref(), Some("lost"));
    // Calling again is not a silent second payment: Runway may have the first task.
    assert_eq!(posts(&s), 1);
    let again = c.create_task_with("text_to_video", body("lost"), true, &meta("t2v")).await.unwrap_err();
    assert!(matches!(again, runway_core::errors::Error::MayHaveCreated { .. }), "{again}");
    assert_eq!(posts(&s), 1, "nothing sent");
    let row = c.may_have_created("text_to_video", &body("lost")).await.unwrap().expect("the lost answer's row");
    assert_eq!(row.id, rows[0].id);
    std::fs::remove_dir_all(dir).ok();
}

async fn one_key_never_sees_another_keys_tasks(b: Backend) {
    let s = sim(0.5);
    let dir = temp_dir("keys");
    let j = open_journal(&journal_spec(b, &dir, "keys")).unwrap();
    let mine = client(&s, &j, None);
    let t = mine.create_task_with("text_to_video", body("mine"), true, &meta("t2v")).await.unwrap();
    let other_key = format!("key_{}", "b".repeat(128));
    let theirs = client(&s, &j, Some(&other_key));
    assert!(theirs.journal_list(Filter::default()).await.unwrap().is_empty());
    assert!(theirs.journal_get(&t.id).await.unwrap().is_none());
    assert_eq!(mine.journal_list(Filter::default()).await.unwrap().len(), 1);
    // The key itself is nowhere in the file.
    drop((mine, theirs, j));
    let key = s.api_key().as_bytes();
    for f in std::fs::read_dir(&dir).unwrap() {
        let raw = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!raw.windows(key.len()).any(|w| w == key));
    }
    // (In PostgreSQL the key fingerprint is all the rows hold: the same code writes both.)
    std::fs::remove_dir_all(dir).ok();
}

async fn identical_requests_made_at_once_make_one_task(b: Backend) {
    let s = sim(2.0);
    let dir = temp_dir("concurrent");
    let j = open_journal(&journal_spec(b, &dir, "concurrent")).unwrap();
    let c = Arc::new(client(&s, &j, None));
    let calls = (0..8).map(|_| {
        let c = c.clone();
        tokio::spawn(
            async move { c.create_task_with("text_to_video", body("twins"), true, &meta("t2v")).await.unwrap() },
        )
    });
    let tasks: Vec<_> = futures_join(calls).await;
    assert!(tasks.iter().all(|t| t.id == tasks[0].id));
    assert_eq!(tasks.iter().filter(|t| !t.reattached).count(), 1);
    assert_eq!(posts(&s), 1);
    std::fs::remove_dir_all(dir).ok();
}

async fn two_clients_with_their_own_journal_handles_make_one_task(b: Backend) {
    // As two server processes on one journal file: separate handles, separate clients, so the
    // in-process gate does not apply; only the journal's claim stands between them and a second POST.
    let s = sim(3.0);
    let dir = temp_dir("two-clients");
    let spec = journal_spec(b, &dir, "two-clients");
    for round in 0..3 {
        let prompt = format!("one task for two processes {round}");
        let clients: Vec<_> = (0..2).map(|_| Arc::new(client(&s, &open_journal(&spec).unwrap(), None))).collect();
        let before = posts(&s);
        let calls: Vec<_> = clients
            .iter()
            .map(|c| {
                let (c, b) = (c.clone(), body(&prompt));
                tokio::spawn(async move { c.create_task_with("text_to_video", b, true, &meta("t2v")).await.unwrap() })
            })
            .collect();
        let tasks = futures_join(calls.into_iter()).await;
        assert_eq!(posts(&s) - before, 1, "round {round}: one create POST");
        assert_eq!(tasks[0].id, tasks[1].id);
        assert_eq!(tasks.iter().filter(|t| t.reattached).count(), 1);
        let rows = clients[0].journal_list(Filter { text: Some(prompt.clone()), ..Default::default() }).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].task_id.as_deref(), Some(tasks[0].id.as_str()));
    }
    std::fs::remove_dir_all(dir).ok();
}

async fn a_claim_is_waited_for_and_a_stale_one_never_replaced(b: Backend) {
    let s = sim(2.0);
    let dir = temp_dir("claims");
    let j = open_journal(&journal_spec(b, &dir, "claims")).unwrap();
    let c = Arc::new(client(&s, &j, None));
    let key_fp = key_fingerprint(j.salt(), s.api_key());
    let claim_of = |prompt: &str, created_ms: u64| Entry {
        key_fp: key_fp.clone(),
        tool: "t2v".into(),
        endpoint: "text_to_video".into(),
        model: "gen4.5".into(),
        params: body(prompt),
        request_fp: Some(request_fingerprint("text_to_video", &body(prompt), &[])),
        created_ms,
        ..Default::default()
    };
    let won = |c: Claim| match c {
        Claim::Won(id) => id,
        other => panic!("{other:?}"),
    };

    // A process that died while creating, long ago: it may have paid, so its claim becomes an
    // ambiguous create and the identical request is refused with when and what, sending nothing,
    // every time, until the user pays again knowingly (force_new).
    let old = runway_core::util::now_unix_ms() - CLAIM_STALE_MS - 1_000;
    assert!(c.may_have_created("text_to_video", &body("crashed")).await.unwrap().is_none(), "nothing yet");
    let dead = won(j.claim(&claim_of("crashed", old), 0, &[]).unwrap());
    // Looked at before asking the user: the same row the refusal is about, and nothing changes.
    for _ in 0..2 {
        let row = c.may_have_created("text_to_video", &body("crashed")).await.unwrap().expect("a stale claim");
        assert_eq!((row.id, row.created_ms, row.task_id), (dead, old, None));
    }
    for _ in 0..2 {
        match c.create_task_with("text_to_video", body("crashed"), true, &meta("t2v")).await {
            Err(runway_core::errors::Error::MayHaveCreated { message, claimed_ms }) => {
                assert_eq!(claimed_ms, old);
                assert!(message.contains(&runway_core::util::iso8601_millis(old)), "{message}");
                assert!(message.contains("t2v") && message.contains("\"crashed\"") && message.contains("force_new"));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(posts(&s), 0);
    let amb = c.journal_list(Filter { status: Some("ambiguous".into()), ..Default::default() }).await.unwrap();
    assert_eq!(amb.len(), 1);
    assert_eq!(amb[0].note.as_deref(), Some(STALE_CLAIM_NOTE));
    let forced = CreateMeta { force_new: true, ..meta("t2v") };
    let t = c.create_task_with("text_to_video", body("crashed"), true, &forced).await.unwrap();
    assert!(!t.reattached);
    assert_eq!(posts(&s), 1);
    let again = c.create_task_with("text_to_video", body("crashed"), true, &meta("t2v")).await.unwrap();
    assert_eq!((again.id.as_str(), again.reattached, posts(&s)), (t.id.as_str(), true, 1), "the choice is kept");
    assert!(c.may_have_created("text_to_video", &body("crashed")).await.unwrap().is_none(), "the user chose");

    // Another process is creating this request: wait; its create fails (the claim goes): create.
    let id = won(j.claim(&claim_of("failed elsewhere", 0), 0, &[]).unwrap());
    let waiting = {
        let c = c.clone();
        tokio::spawn(
            async move { c.create_task_with("text_to_video", body("failed elsewhere"), true, &meta("t2v")).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(posts(&s), 1, "nothing sent while the other process holds the claim");
    j.settle(&key_fp, id, None, None).unwrap();
    let t = waiting.await.unwrap().unwrap();
    assert!(!t.reattached);
    assert_eq!(posts(&s), 2);

    // Its create succeeds: reattach to that task.
    let id = won(j.claim(&claim_of("made elsewhere", 0), 0, &[]).unwrap());
    let waiting = {
        let c = c.clone();
        tokio::spawn(
            async move { c.create_task_with("text_to_video", body("made elsewhere"), true, &meta("t2v")).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // (Another client: this one's in-process gate is held by the waiting call.)
    let elsewhere = client(&s, &j, None);
    let forced = CreateMeta { force_new: true, ..Default::default() };
    let made = elsewhere.create_task_with("text_to_video", body("made elsewhere"), true, &forced).await.unwrap();
    assert_eq!(posts(&s), 3);
    j.settle(&key_fp, id, Some(&Entry { task_id: Some(made.id.clone()), ..claim_of("made elsewhere", 0) }), None)
        .unwrap();
    let t = waiting.await.unwrap().unwrap();
    assert!(t.reattached && t.id == made.id);
    assert_eq!(posts(&s), 3);
    std::fs::remove_dir_all(dir).ok();
}

async fn a_create_that_made_no_task_leaves_no_claim(b: Backend) {
    let s = sim(0.5);
    let dir = temp_dir("no-task");
    let j = open_journal(&journal_spec(b, &dir, "no-task")).unwrap();
    let c = client(&s, &j, None);
    // Refused by Runway (not by the local checks, which run before the claim).
    let bad = json!({"model": "gen4.5", "promptText": "refused", "ratio": "1280:720", "duration": 5, "seed": -1});
    let err = c.create_task_with("text_to_video", bad.clone(), false, &meta("t2v")).await.unwrap_err();
    assert!(!err.may_have_created(), "{err}");
    assert!(c.journal_list(Filter::default()).await.unwrap().is_empty());
    let key_fp = key_fingerprint(j.salt(), s.api_key());
    let req = Entry { key_fp, request_fp: Some(request_fingerprint("text_to_video", &bad, &[])), ..Default::default() };
    assert!(matches!(j.claim(&req, 0, &[]).unwrap(), Claim::Won(_)), "the claim was removed");
    std::fs::remove_dir_all(dir).ok();
}

/// Counts the status writes the client asks of the journal.
struct Counting(Arc<dyn Journal>, std::sync::atomic::AtomicUsize);

impl Journal for Counting {
    fn record(&self, e: &Entry) -> runway_core::errors::Result<i64> {
        self.0.record(e)
    }
    fn observe(&self, key_fp: &str, batch: &[Observed]) -> runway_core::errors::Result<Vec<bool>> {
        let looks = batch.iter().filter(|o| o.look.is_some()).count();
        self.1.fetch_add(looks, std::sync::atomic::Ordering::SeqCst);
        self.0.observe(key_fp, batch)
    }
    fn get(&self, key_fp: &str, task_id: &str) -> runway_core::errors::Result<Option<Entry>> {
        self.0.get(key_fp, task_id)
    }
    fn list(&self, key_fp: &str, f: &Filter) -> runway_core::errors::Result<Vec<Entry>> {
        self.0.list(key_fp, f)
    }
    fn find_in_flight(&self, key_fp: &str, request_fp: &str) -> runway_core::errors::Result<Option<Entry>> {
        self.0.find_in_flight(key_fp, request_fp)
    }
    fn claim(&self, e: &Entry, stale_before_ms: u64, skip: &[String]) -> runway_core::errors::Result<Claim> {
        self.0.claim(e, stale_before_ms, skip)
    }
    fn find_ambiguous(
        &self,
        key_fp: &str,
        request_fp: &str,
        stale_before_ms: u64,
    ) -> runway_core::errors::Result<Option<Entry>> {
        self.0.find_ambiguous(key_fp, request_fp, stale_before_ms)
    }
    fn forget_ambiguous(&self, key_fp: &str, request_fp: &str) -> runway_core::errors::Result<usize> {
        self.0.forget_ambiguous(key_fp, request_fp)
    }
    fn settle(
        &self,
        key_fp: &str,
        id: i64,
        outcome: Option<&Entry>,
        lease: Option<LeaseTo>,
    ) -> runway_core::errors::Result<()> {
        self.0.settle(key_fp, id, outcome, lease)
    }
    fn unfinished(&self, key_fp: &str, limit: usize) -> runway_core::errors::Result<Vec<Entry>> {
        self.0.unfinished(key_fp, limit)
    }
    fn spent_since(&self, key_fp: &str, since_ms: u64) -> runway_core::errors::Result<f64> {
        self.0.spent_since(key_fp, since_ms)
    }
    fn lease(
        &self,
        key_fp: &str,
        task_ids: &[String],
        owner: &str,
        ttl_ms: u64,
    ) -> runway_core::errors::Result<Vec<String>> {
        self.0.lease(key_fp, task_ids, owner, ttl_ms)
    }
    fn salt(&self) -> &[u8] {
        self.0.salt()
    }
}

async fn a_poll_that_saw_nothing_new_writes_nothing(b: Backend) {
    // Tasks stay PENDING (no progress) for a while: every look is the same.
    let cfg = SimConfig { task_seconds: 30.0, pending_seconds: 1.5, ..Default::default() };
    let s = Simulator::start(&tokio::runtime::Handle::current(), cfg, 0).unwrap();
    let dir = temp_dir("unchanged");
    let inner = open_journal(&journal_spec(b, &dir, "unchanged")).unwrap();
    let counting = Arc::new(Counting(inner, Default::default()));
    let mut c = RunwayClient::new(ClientOptions {
        api_key: Some(s.api_key().into()),
        base_url: Some(s.base_url()),
        ..Default::default()
    })
    .unwrap();
    let j: Arc<dyn Journal> = counting.clone();
    c.attach_journal(j);
    let t = c.create_task_with("text_to_video", body("patience"), true, &meta("t2v")).await.unwrap();
    let writes = || counting.1.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(c.get_task(&t.id).await.unwrap().status.as_deref(), Some("PENDING"));
    }
    assert_eq!(writes(), 0, "looks wait for their batch (WRITE_BEHIND)");
    // A read through the client writes what is pending first: the three looks as one.
    assert_eq!(c.journal_get(&t.id).await.unwrap().unwrap().status.as_deref(), Some("PENDING"));
    assert_eq!(writes(), 1);
    for _ in 0..2 {
        assert_eq!(c.get_task(&t.id).await.unwrap().status.as_deref(), Some("PENDING"));
    }
    tokio::time::sleep(WRITE_BEHIND * 3).await;
    assert_eq!(writes(), 1, "the same look again is not written");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(c.get_task(&t.id).await.unwrap().status.as_deref(), Some("RUNNING"));
    tokio::time::sleep(WRITE_BEHIND * 3).await;
    assert_eq!(writes(), 2, "a change is written after WRITE_BEHIND, without a read");
    assert_eq!(c.journal_get(&t.id).await.unwrap().unwrap().status.as_deref(), Some("RUNNING"));
    std::fs::remove_dir_all(dir).ok();
}

async fn replicas_share_tasks_and_one_of_them_holds_a_lease(b: Backend) {
    // Two replicas: each its own journal handle on one journal, each its own client.
    let s = sim(1.0);
    let dir = temp_dir("replicas");
    let spec = journal_spec(b, &dir, "replicas");
    let (one, two) = (client(&s, &open_journal(&spec).unwrap(), None), client(&s, &open_journal(&spec).unwrap(), None));
    let t = one.create_task_with("text_to_video", body("a shared fox"), true, &meta("t2v")).await.unwrap();
    // Listed through the other replica the moment it was created.
    let rows = two.journal_list(Filter { text: Some("shared fox".into()), ..Default::default() }).await.unwrap();
    assert_eq!(rows.iter().map(|e| e.task_id.as_deref()).collect::<Vec<_>>(), [Some(t.id.as_str())]);
    assert_eq!(two.journal_unfinished(10).await.unwrap().len(), 1);
    // Reattached through the other replica: no second create.
    let again = two.create_task_with("text_to_video", body("a shared fox"), true, &meta("t2v")).await.unwrap();
    assert!(again.reattached && again.id == t.id);
    assert_eq!(posts(&s), 1);
    // One replica follows it: the lease says which. Its creator holds it from the create.
    let ttl = Duration::from_secs(60);
    assert!(!leased(&two, &t.id, ttl).await, "the creator holds it");
    assert!(leased(&one, &t.id, Duration::ZERO).await, "released by its creator");
    assert!(leased(&two, &t.id, ttl).await);
    assert!(!leased(&one, &t.id, ttl).await, "the other replica holds it");
    assert!(leased(&two, &t.id, ttl).await, "renewed by its holder");
    let done = two.wait_for_task(&t.id, Some(Duration::from_secs(20)), |_| async { Ok(()) }).await.unwrap();
    let saved = two.save_outputs(&done, &dir, "replica").await.unwrap();
    assert!(leased(&two, &t.id, Duration::ZERO).await, "released");
    // The first replica sees the finish and the saved files (within WRITE_BEHIND), and nothing left
    // to resume.
    let mut e = one.journal_get(&t.id).await.unwrap().unwrap();
    for _ in 0..50 {
        if !e.files.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(WRITE_BEHIND / 5).await;
        e = one.journal_get(&t.id).await.unwrap().unwrap();
    }
    assert_eq!(e.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(e.files[0]["path"], json!(saved[0].path));
    assert!(one.journal_unfinished(10).await.unwrap().is_empty());
    assert!(leased(&one, &t.id, ttl).await, "free again");
    std::fs::remove_dir_all(dir).ok();
}

/// `journal_lease` of one task: true if the client holds it now.
async fn leased(c: &RunwayClient, task_id: &str, ttl: Duration) -> bool {
    !c.journal_lease(vec![task_id.to_string()], ttl).await.unwrap().is_empty()
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}
