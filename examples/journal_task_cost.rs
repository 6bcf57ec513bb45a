//! CPU cost of the journal writes one generation makes (claim, settle with the task id, two polls,
//! saved files), on a fresh file, with and without tokio's blocking pool in between.
//! `cargo run --release --example journal_task_cost [tasks]`. Prints figures; asserts nothing.

use std::sync::Arc;
use std::time::Instant;

use runway_core::journal::{request_fingerprint, Claim, Entry, Journal, SqliteJournal};
use runway_core::tasks::Task;
use serde_json::json;

fn cpu_secs() -> f64 {
    // utime + stime of this process, from /proc (Linux only; a bench, not a test).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let f: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

fn one_task(j: &dyn Journal, key: &str, i: usize) {
    let body = json!({"model": "gen4.5", "promptText": format!("bench {i}"), "ratio": "1280:720", "duration": 5});
    let e = Entry {
        key_fp: key.into(),
        tool: "generate_video_text_to_video".into(),
        endpoint: "text_to_video".into(),
        model: "gen4.5".into(),
        prompt: Some(format!("bench {i}")),
        request_fp: Some(request_fingerprint("text_to_video", &body, &[])),
        params: body,
        ..Default::default()
    };
    let Claim::Won(id) = j.claim(&e, 0, &[]).unwrap() else { panic!("claim") };
    let task_id = format!("00000000-0000-4000-8000-{i:012}");
    j.settle(key, id, Some(&Entry { task_id: Some(task_id.clone()), estimated_cost: Some(60.0), ..e }), None).unwrap();
    let t = |v| Task::from_json(v).unwrap();
    j.update_task(key, &t(json!({"id": task_id, "status": "RUNNING", "progress": 0.6}))).unwrap();
    let done = json!({"id": task_id, "status": "SUCCEEDED", "output": [format!("http://x/{i}.mp4")]});
    j.update_task(key, &t(done)).unwrap();
    j.set_files(key, &task_id, &json!([{"path": format!("/out/{i}.mp4"), "bytes": 1000}])).unwrap();
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3000);
    let dir = std::env::temp_dir().join(format!("runway-journal-cost-{}", std::process::id()));
    let j = Arc::new(SqliteJournal::open(dir.join("journal.sqlite3")).unwrap());
    let key = j.key_fingerprint("key_me");

    let (c0, w0) = (cpu_secs(), Instant::now());
    for i in 0..n {
        one_task(&*j, &key, i);
    }
    let (cpu, wall) = (cpu_secs() - c0, w0.elapsed().as_secs_f64());
    println!("direct: {n} tasks, CPU {:.1} µs per task (wall {:.1} µs)", cpu * 1e6 / n as f64, wall * 1e6 / n as f64);

    // Through spawn_blocking, one call at a time per task, 300 tasks at once (as the server does).
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (c0, w0) = (cpu_secs(), Instant::now());
    rt.block_on(async {
        let mut hs = Vec::new();
        for i in n..2 * n {
            let (j, key) = (j.clone(), key.clone());
            hs.push(tokio::spawn(async move {
                tokio::task::spawn_blocking(move || one_task(&*j, &key, i)).await.unwrap();
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    let (cpu, wall) = (cpu_secs() - c0, w0.elapsed().as_secs_f64());
    println!(
        "blocking pool: {n} tasks, CPU {:.1} µs per task (wall {:.1} µs)",
        cpu * 1e6 / n as f64,
        wall * 1e6 / n as f64
    );
    std::fs::remove_dir_all(dir).ok();
}
