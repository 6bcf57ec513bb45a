//! Journal figures: writes per second, and `list` over 100,000 rows with each filter.
//! `cargo run --release --example journal_bench [rows]`. Prints figures; asserts nothing.

use std::time::Instant;

use runway_core::journal::{request_fingerprint, Entry, Filter, Journal, SqliteJournal};
use runway_core::tasks::Task;
use serde_json::json;

const WORDS: &str = "cat dog ocean forest city night neon river mountain robot portrait slow motion drone sunset \
    storm cinematic camera pans across golden light wide shot";

fn main() {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let rows: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("runway-journal-bench-{}", std::process::id()));
    let j = SqliteJournal::open(dir.join("journal.sqlite3")).unwrap();
    let (me, other) = (j.key_fingerprint("key_me"), j.key_fingerprint("key_other"));
    let tools = [("generate_video", "gen4.5"), ("generate_video", "veo3.1"), ("generate_image", "gen4_image")];
    let statuses = ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED", "CANCELLED"];
    let t0_ms = 1_700_000_000_000u64;

    let start = Instant::now();
    let mut lap = Instant::now();
    for i in 0..rows {
        if i > 0 && i % (rows / 10).max(1) == 0 {
            eprintln!("  {i} rows, {:.0} rows/s", (rows / 10) as f64 / lap.elapsed().as_secs_f64());
            lap = Instant::now();
        }
        let (tool, model) = tools[i % tools.len()];
        // 30 to 80 words (about 200 to 550 characters), as agents write them.
        let prompt: Vec<&str> =
            (0..30 + i % 51).map(|k| words[(i * 7 + k * 5 + k * k + i / 3) % words.len()]).collect();
        let prompt = format!("{} #{i}", prompt.join(" "));
        // 1 row in 10 belongs to another key; 1 in 1000 is still running.
        let status = if i % 1000 == 0 { "RUNNING" } else { statuses[i % statuses.len()] };
        let body = json!({"model": model, "promptText": prompt, "ratio": "1280:720", "duration": 5});
        j.record(&Entry {
            task_id: Some(format!("00000000-0000-4000-8000-{i:012}")),
            key_fp: if i % 10 == 9 { other.clone() } else { me.clone() },
            tool: tool.into(),
            endpoint: "/v1/text_to_video".into(),
            model: model.into(),
            prompt: Some(prompt),
            request_fp: Some(request_fingerprint("/v1/text_to_video", &body, &[])),
            params: body,
            estimated_cost: Some(25.0),
            status: Some(status.into()),
            outputs: json!([format!("https://example.invalid/{i}.mp4")]),
            files: json!([format!("/home/u/runway/{i}.mp4")]),
            cost: (status != "RUNNING").then_some(25.0),
            created_ms: t0_ms + i as u64 * 1000,
            ..Default::default()
        })
        .unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("record: {rows} rows in {secs:.2} s ({:.0} rows/s, one transaction each)", rows as f64 / secs);

    let id = format!("00000000-0000-4000-8000-{:012}", rows / 2 / 10 * 10);
    // Alternating progress: every call writes.
    let looks: Vec<Task> = [0.5, 0.6]
        .iter()
        .map(|p| Task::from_json(json!({"id": id, "status": "RUNNING", "progress": p})).unwrap())
        .collect();
    let mut n = 0;
    time("update_task (one row, a change)", 200, || {
        n += 1;
        j.update_task(&me, &looks[n % 2]).unwrap();
    });
    time("update_task (one row, nothing new)", 200, || {
        j.update_task(&me, &looks[0]).unwrap();
    });

    let since = t0_ms + (rows as u64 * 1000) * 9 / 10;
    let cases: Vec<(&str, Filter)> = vec![
        ("no filter (newest 50)", Filter::default()),
        ("limit 1000", Filter { limit: Some(1000), ..Default::default() }),
        ("status=running", Filter { status: Some("running".into()), ..Default::default() }),
        ("status=FAILED", Filter { status: Some("FAILED".into()), ..Default::default() }),
        ("tool", Filter { tool: Some("generate_image".into()), ..Default::default() }),
        ("model", Filter { model: Some("veo3.1".into()), ..Default::default() }),
        ("since (last 10%)", Filter { since_ms: Some(since), ..Default::default() }),
        ("text, common", Filter { text: Some("NEON".into()), ..Default::default() }),
        ("text, one row", Filter { text: Some(format!("#{}", rows / 3 / 10 * 10)), ..Default::default() }),
        ("text, no match", Filter { text: Some("zebra".into()), ..Default::default() }),
        (
            "status+model+text",
            Filter {
                status: Some("succeeded".into()),
                model: Some("gen4.5".into()),
                text: Some("golden light".into()),
                ..Default::default()
            },
        ),
    ];
    for (name, f) in &cases {
        let n = j.list(&me, f).unwrap().len();
        time(&format!("list {name} -> {n} rows"), 20, || {
            j.list(&me, f).unwrap();
        });
    }
    time("find_in_flight (miss)", 200, || {
        j.find_in_flight(&me, "no-such-request").unwrap();
    });
    time("unfinished(100)", 20, || {
        j.unfinished(&me, 100).unwrap();
    });
    time("spent_since (last 10%)", 20, || {
        j.spent_since(&me, since).unwrap();
    });
    drop(j);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Median and worst of `runs` calls, in milliseconds.
fn time(name: &str, runs: usize, mut f: impl FnMut()) {
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!("{name:<48} median {:>8.3} ms   max {:>8.3} ms", ms[runs / 2], ms[runs - 1]);
}
