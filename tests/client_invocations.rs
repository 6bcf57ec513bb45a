//! Workflow runs journaled like tasks, against the simulator over real HTTP: a row the moment the
//! invocation exists (endpoint `workflows/<id>`, model the workflow), an identical run still going
//! reattached (one POST), waited to its end at /v1/workflow_invocations/{id} with its cost and
//! outputs saved, failed nodes reported, a lost answer never sent again, and a new client on the
//! same journal resuming a run it never saw.

use std::sync::Arc;
use std::time::Duration;

use runway_core::client::{Answer, CreateMeta, RunwayClient};
use runway_core::errors::Error;
use runway_core::journal::{open_journal, Filter, Journal};
use runway_core::simulator::{Fault, FaultKind, Simulator};
use runway_core::tasks::{Task, TaskKind};
use serde_json::{json, Map, Value};

mod both;
use both::{fast_options, journal_spec, on_both, sim, temp_dir, Backend};

on_both!(
    a_run_is_journaled_reattached_and_waited_to_its_saved_outputs,
    a_succeeded_run_with_a_failed_node_says_which,
    a_run_whose_every_node_fails_is_failed,
    a_lost_run_answer_is_ambiguous_and_never_sent_again,
    a_new_client_on_the_journal_resumes_an_unfinished_run,
);

fn client(s: &Simulator, journal: Option<&Arc<dyn Journal>>) -> RunwayClient {
    let o = fast_options(s, s.api_key());
    let mut c = RunwayClient::new(o).unwrap();
    if let Some(j) = journal {
        c.attach_journal(j.clone());
    }
    c
}

fn meta(tool: &str) -> CreateMeta {
    CreateMeta { tool: Some(tool.into()), ..Default::default() }
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// The seeded "Trailer" workflow's id: a text input `script`, output nodes `cut` and `soundtrack`.
async fn trailer(c: &RunwayClient) -> String {
    let Answer::Json(list) = c.call("workflows.list", &Map::new(), &Map::new(), None, &meta("t")).await.unwrap() else {
        panic!("a list is JSON")
    };
    let w = list["data"].as_array().unwrap().iter().find(|w| w["name"] == "Trailer").expect("seeded");
    w["versions"][0]["id"].as_str().unwrap().to_string()
}

/// A run's body: the script text (`fail`, `fail:<node>` make the simulator fail nodes).
fn script(text: &str) -> Value {
    json!({"nodeOutputs": {"script": {"value": {"type": "primitive", "value": text}}}})
}

async fn run(c: &RunwayClient, workflow: &str, body: Value, m: &CreateMeta) -> Result<Task, Error> {
    let params = object(json!({"id": workflow}));
    match c.call("workflows.run", &params, &Map::new(), Some(body), m).await? {
        Answer::Task(t) => Ok(t),
        Answer::Json(j) => panic!("a run answers a Task, not {j}"),
    }
}

fn runs(s: &Simulator) -> usize {
    s.state().requests().iter().filter(|r| r.method == "POST" && r.path.starts_with("/v1/workflows/")).count()
}

async fn wait(c: &RunwayClient, id: &str) -> Result<Task, Error> {
    c.wait_for_task(id, Some(Duration::from_secs(20)), |_| async { Ok(()) }).await
}

async fn a_run_is_journaled_reattached_and_waited_to_its_saved_outputs(b: Backend) {
    let s = sim(1.5);
    let dir = temp_dir("lifecycle");
    let j = open_journal(&journal_spec(b, &dir, "inv_lifecycle")).unwrap();
    let c = client(&s, Some(&j));
    let wid = trailer(&c).await;
    let first = run(&c, &wid, script("a storm at sea"), &meta("library")).await.unwrap();
    assert_eq!((first.kind, first.status.as_deref(), first.reattached), (TaskKind::Invocation, None, false));
    // Journaled the moment Runway answered.
    let e = c.journal_get(&first.id).await.unwrap().expect("journaled at the run");
    assert_eq!(e.endpoint, format!("workflows/{wid}"));
    assert_eq!(e.model, wid);
    assert_eq!(e.params, script("a storm at sea"));
    assert_eq!(e.prompt.as_deref(), Some("a storm at sea"));
    assert!(e.request_fp.is_some());
    // The same run while it goes: the same invocation, looked at, not sent again.
    let again = run(&c, &wid, script("a storm at sea"), &meta("library")).await.unwrap();
    assert_eq!(again.id, first.id);
    assert!(again.reattached && again.kind == TaskKind::Invocation && again.status.is_some());
    assert_eq!(runs(&s), 1);
    // Followed at its own path until it ends, with every node's output and its cost.
    let done = wait(&c, &first.id).await.unwrap();
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(done.output.len(), 2, "{:?}", done.raw);
    assert_eq!(done.cost, Some(20.0));
    assert!(done.failure.is_none() && done.raw["output"]["cut"].is_array());
    assert!(s.state().requests().iter().any(|r| r.path == format!("/v1/workflow_invocations/{}", first.id)));
    assert!(!s.state().requests().iter().any(|r| r.path == format!("/v1/tasks/{}", first.id)), "never read as a task");
    let e = c.journal_get(&first.id).await.unwrap().unwrap();
    assert_eq!((e.status.as_deref(), e.cost), (Some("SUCCEEDED"), Some(20.0)));
    assert_eq!(e.outputs, json!(done.output));
    assert!(e.finished_ms.is_some());
    assert_eq!(c.journal_spent_since(0).await.unwrap(), 20.0);
    // Its outputs saved, and where they went journaled.
    let saved = c.save_outputs(&done, &dir, "trailer").await.unwrap();
    assert_eq!(saved.len(), 2);
    assert!(saved.iter().all(|d| d.path.exists() && d.bytes > 0));
    let e = c.journal_get(&first.id).await.unwrap().unwrap();
    assert_eq!(e.files.as_array().unwrap().len(), 2);
    assert!(c.journal_unfinished(10).await.unwrap().is_empty());
    // Finished: the same run again is a new invocation.
    let next = run(&c, &wid, script("a storm at sea"), &meta("library")).await.unwrap();
    assert!(!next.reattached && next.id != first.id);
    assert_eq!(runs(&s), 2);
    // An invocation cannot be cancelled through the API: refused, nothing sent.
    let err = c.cancel_task(&next.id).await.unwrap_err();
    assert!(err.to_string().contains("workflow invocation"), "{err}");
    assert!(!s.state().requests().iter().any(|r| r.method == "DELETE"));
    std::fs::remove_dir_all(dir).ok();
}

async fn a_succeeded_run_with_a_failed_node_says_which(b: Backend) {
    let s = sim(0.4);
    let dir = temp_dir("node");
    let j = open_journal(&journal_spec(b, &dir, "inv_node")).unwrap();
    let c = client(&s, Some(&j));
    let wid = trailer(&c).await;
    let t = run(&c, &wid, script("fail:soundtrack"), &meta("library")).await.unwrap();
    let done = wait(&c, &t.id).await.unwrap();
    // Runway calls it SUCCEEDED; the failed node is not hidden.
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(done.output.len(), 1);
    assert_eq!(done.failed_nodes(), ["soundtrack"]);
    let failure = done.failure.clone().expect("the failed node is named");
    assert!(failure.contains("soundtrack") && failure.contains("INTERNAL.BAD_OUTPUT.01"), "{failure}");
    assert_eq!(done.cost, Some(10.0));
    let e = c.journal_get(&t.id).await.unwrap().unwrap();
    assert_eq!((e.status.as_deref(), e.failure.as_deref()), (Some("SUCCEEDED"), Some(failure.as_str())));
    let saved = c.save_outputs(&done, &dir, "partial").await.unwrap();
    assert_eq!(saved.len(), 1);
    std::fs::remove_dir_all(dir).ok();
}

async fn a_run_whose_every_node_fails_is_failed(b: Backend) {
    let s = sim(0.4);
    let dir = temp_dir("failed");
    let j = open_journal(&journal_spec(b, &dir, "inv_failed")).unwrap();
    let c = client(&s, Some(&j));
    let wid = trailer(&c).await;
    let t = run(&c, &wid, script("fail"), &meta("library")).await.unwrap();
    let Err(Error::TaskFailed { task }) = wait(&c, &t.id).await else { panic!("every node failed") };
    assert_eq!(task.status.as_deref(), Some("FAILED"));
    assert_eq!(task.failure_code.as_deref(), Some("INTERNAL.BAD_OUTPUT.01"));
    assert_eq!(task.failed_nodes(), ["cut", "soundtrack"]);
    assert!(task.output.is_empty());
    let e = c.journal_get(&t.id).await.unwrap().unwrap();
    assert_eq!((e.status.as_deref(), e.cost), (Some("FAILED"), Some(0.0)));
    assert!(e.failure.unwrap().starts_with("Every output node failed."));
    assert!(c.journal_unfinished(10).await.unwrap().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

async fn a_lost_run_answer_is_ambiguous_and_never_sent_again(b: Backend) {
    let s = sim(0.4);
    let dir = temp_dir("lost");
    let j = open_journal(&journal_spec(b, &dir, "inv_lost")).unwrap();
    let c = client(&s, Some(&j));
    let wid = trailer(&c).await;
    s.state().add_fault(Fault {
        kind: FaultKind::LostResponse,
        method: Some("POST".into()),
        path_prefix: Some("/v1/workflows/".into()),
        remaining: 1,
    });
    let err = run(&c, &wid, script("lost"), &meta("library")).await.unwrap_err();
    assert!(err.may_have_created(), "{err}");
    let rows = c.journal_list(Filter { status: Some("ambiguous".into()), ..Default::default() }).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].endpoint.clone(), rows[0].model.clone()), (format!("workflows/{wid}"), wid.clone()));
    // Sending it again might run (and pay for) the workflow twice: refused, nothing sent.
    let again = run(&c, &wid, script("lost"), &meta("library")).await.unwrap_err();
    assert!(matches!(again, Error::MayHaveCreated { .. }), "{again}");
    assert_eq!(runs(&s), 1);
    // Unless asked for on purpose.
    let forced = CreateMeta { force_new: true, ..meta("library") };
    let t = run(&c, &wid, script("lost"), &forced).await.unwrap();
    assert_eq!(runs(&s), 2);
    assert_eq!(wait(&c, &t.id).await.unwrap().status.as_deref(), Some("SUCCEEDED"));
    std::fs::remove_dir_all(dir).ok();
}

async fn a_new_client_on_the_journal_resumes_an_unfinished_run(b: Backend) {
    let s = sim(1.0);
    let dir = temp_dir("resume");
    let spec = journal_spec(b, &dir, "inv_resume");
    let started = {
        let j = open_journal(&spec).unwrap();
        let c = client(&s, Some(&j));
        let wid = trailer(&c).await;
        run(&c, &wid, script("resume me"), &meta("library")).await.unwrap()
        // The process "stops" here: its client and journal handle go.
    };
    // Another process: its own handle on the journal, no memory of the run.
    let j = open_journal(&spec).unwrap();
    let c = client(&s, Some(&j));
    let rows = c.journal_unfinished(10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].task_id.as_deref(), Some(started.id.as_str()));
    assert!(rows[0].endpoint.starts_with("workflows/"));
    let done = wait(&c, &started.id).await.unwrap();
    assert_eq!((done.kind, done.status.as_deref(), done.output.len()), (TaskKind::Invocation, Some("SUCCEEDED"), 2));
    assert!(!s.state().requests().iter().any(|r| r.path == format!("/v1/tasks/{}", started.id)), "read by its kind");
    // Finished with outputs not saved yet: still to resume, until they are.
    let rows = c.journal_unfinished(10).await.unwrap();
    assert_eq!((rows.len(), rows[0].status.as_deref()), (1, Some("SUCCEEDED")));
    c.save_outputs(&done, &dir, "resumed").await.unwrap();
    assert!(c.journal_unfinished(10).await.unwrap().is_empty());
    assert_eq!(c.journal_get(&started.id).await.unwrap().unwrap().cost, Some(20.0));
    std::fs::remove_dir_all(dir).ok();
}

/// Without a journal or any memory of it, an invocation id is still read: as a task first, then,
/// Runway knowing no such task, as an invocation (and remembered as one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_invocation_id_is_found_without_a_journal() {
    let s = sim(0.3);
    let maker = client(&s, None);
    let wid = trailer(&maker).await;
    let t = run(&maker, &wid, script("no journal"), &CreateMeta::default()).await.unwrap();
    let c = client(&s, None);
    let done = wait(&c, &t.id).await.unwrap();
    assert_eq!((done.kind, done.status.as_deref()), (TaskKind::Invocation, Some("SUCCEEDED")));
    let as_task = s.state().requests().iter().filter(|r| r.path == format!("/v1/tasks/{}", t.id)).count();
    assert_eq!(as_task, 1, "tried as a task once, then known");
    // A task id nobody knows is still a 404 about a task.
    let missing = runway_core::util::uuid_v4();
    let err = c.get_task(&missing).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err}");
    assert!(s.state().requests().iter().any(|r| r.path == format!("/v1/tasks/{missing}")));
}
