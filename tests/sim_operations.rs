//! The simulator's non-task operations over real HTTP, routed by the catalogue's data: pages
//! followed by cursors, 404s, bodies refused before anything is made, router routing and its
//! history, workflow invocations with failed nodes, realtime sessions over time, documents'
//! `usedBy`, organization usage from tasks, and `/_sim/seed`.

use std::time::Duration;

use runway_core::catalogue::catalogue;
use runway_core::simulator::{SimConfig, Simulator};
use serde_json::{json, Value};

mod common;
use common::{api, fast, sim};

async fn get(s: &Simulator, path: &str) -> (u16, Value) {
    api(s, reqwest::Method::GET, path, None).await
}

async fn post(s: &Simulator, path: &str, body: Value) -> (u16, Value) {
    api(s, reqwest::Method::POST, path, Some(body)).await
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_cursors_to_the_end_and_unknown_cursors_are_refused() {
    let s = sim(fast());
    for i in 0..7 {
        let (st, v) = post(&s, "/v1/routers", json!({"slug": format!("r{i}")})).await;
        assert_eq!(st, 200, "{v}");
    }
    let mut seen = Vec::new();
    let mut path = "/v1/routers?limit=3".to_string();
    loop {
        let (st, p) = get(&s, &path).await;
        assert_eq!(st, 200, "{p}");
        seen.extend(p["data"].as_array().unwrap().iter().map(|r| r["slug"].as_str().unwrap().to_string()));
        match p["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(p["hasMore"], true);
                path = format!("/v1/routers?limit=3&cursor={c}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    let (st, v) = get(&s, "/v1/routers?limit=3&cursor=not-one-of-ours").await;
    assert_eq!(st, 400, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_paths_and_methods() {
    let s = sim(fast());
    for p in [
        "/v1/routers/nope",
        "/v1/avatars/nope",
        "/v1/documents/nope",
        "/v1/realtime_sessions/nope",
        "/v1/workflow_invocations/nope",
        "/v1/workflows/nope",
    ] {
        let (st, v) = get(&s, p).await;
        assert_eq!(st, 404, "{p}: {v}");
        assert!(v["error"].is_string());
    }
    let (st, v) = get(&s, "/v1/no_such_thing").await;
    assert_eq!((st, v), (404, json!({"error": "Not found."})));
    let (st, _) = api(&s, reqwest::Method::PUT, "/v1/routers", None).await;
    assert_eq!(st, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_body_is_refused_naming_the_field_and_nothing_is_made() {
    let s = sim(fast());
    let (st, v) = post(&s, "/v1/routers", json!({"slug": "x", "settings": {"optimizeFor": "speed"}})).await;
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("settings"), "{v}");
    let (st, v) = post(&s, "/v1/avatars", json!({"name": "A"})).await;
    assert_eq!(st, 400, "{v}");
    let (_, list) = get(&s, "/v1/routers").await;
    assert_eq!(list["data"], json!([]));
    let (_, list) = get(&s, "/v1/avatars").await;
    assert_eq!(list["data"], json!([]));
    let (st, v) = post(&s, "/v1/routers", json!({"slug": "dup"})).await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = post(&s, "/v1/routers", json!({"slug": "dup"})).await;
    assert_eq!(st, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_route_within_the_ceiling_by_optimize_for_and_record_history() {
    let s = sim(fast());
    let body = json!({"promptText": "a cat", "aspectRatio": "1:1"});
    let est = |m: &str| {
        let model = catalogue().model("text_to_image", m).unwrap();
        model.estimate_cost(&json!({"model": m, "promptText": "a cat"})).unwrap_or(50.0)
    };
    let images: Vec<&str> =
        catalogue().models_for("text_to_image").iter().filter(|m| !m.fixed).map(|m| m.model.as_str()).collect();
    let mut prices: Vec<f64> = images.iter().map(|m| est(m)).collect();
    prices.sort_by(f64::total_cmp);
    let ceiling = prices[prices.len() / 2];
    let (st, r) = post(
        &s,
        "/v1/routers",
        json!({"slug": "cheap", "settings": {"optimizeFor": "quality",
        "maxCreditsPerGeneration": {"image": ceiling}}}),
    )
    .await;
    assert_eq!(st, 200, "{r}");
    let (st, g) = post(&s, "/v1/generate/image", json!({"configId": "cheap", "input": body})).await;
    assert_eq!(st, 200, "{g}");
    let chosen = g["routing"]["model"].as_str().unwrap();
    let best = images.iter().filter(|m| est(m) <= ceiling).map(|m| est(m)).fold(f64::MIN, f64::max);
    assert_eq!(est(chosen), best, "quality picks the dearest within the ceiling: {g}");
    let (st, t) = get(&s, &format!("/v1/tasks/{}", g["id"].as_str().unwrap())).await;
    assert_eq!(st, 200, "{t}");

    // Cost: cheapest; and then no eligible model once the cap is below every price.
    let id = r["id"].as_str().unwrap();
    let (st, u) = api(
        &s,
        reqwest::Method::PATCH,
        &format!("/v1/routers/{id}"),
        Some(json!({"settings": {"optimizeFor": "cost"}})),
    )
    .await;
    assert_eq!((st, u["version"].as_i64()), (200, Some(2)), "{u}");
    let (_, g2) = post(&s, "/v1/generate/image", json!({"configId": "cheap", "input": body})).await;
    assert_eq!(est(g2["routing"]["model"].as_str().unwrap()), prices[0], "{g2}");
    let (_, u) = api(
        &s,
        reqwest::Method::PATCH,
        &format!("/v1/routers/{id}"),
        Some(json!({"settings": {"maxCreditsPerGeneration": {"image": 0}}})),
    )
    .await;
    assert_eq!(u["version"], 3);
    let (st, e) = post(&s, "/v1/generate/image", json!({"configId": "cheap", "input": body})).await;
    assert_eq!(st, 400, "{e}");
    let (st, e) = post(&s, "/v1/generate/image", json!({"configId": "nobody", "input": body})).await;
    assert_eq!(st, 404, "{e}");

    let (_, h) = get(&s, &format!("/v1/routers/{id}/requests")).await;
    let statuses: Vec<&str> = h["data"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["no_eligible_model", "routed", "routed"], "{h}");
    // A null cap removes it.
    let (_, u) = api(
        &s,
        reqwest::Method::PATCH,
        &format!("/v1/routers/{id}"),
        Some(json!({"settings": {"maxCreditsPerGeneration": {"image": null}}})),
    )
    .await;
    assert_eq!(u["settings"]["maxCreditsPerGeneration"], json!({}), "{u}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_with_a_failed_node_succeeds_and_all_failed_fails() {
    let s = sim(fast());
    let (_, list) = get(&s, "/v1/workflows").await;
    let trailer = list["data"].as_array().unwrap().iter().find(|w| w["name"] == "Trailer").unwrap();
    let wid = trailer["versions"][0]["id"].as_str().unwrap().to_string();
    let (st, v) = post(&s, &format!("/v1/workflows/{wid}"), json!({"nodeOutputs": {"nope": {}}})).await;
    assert_eq!(st, 400, "{v}");
    let run = |value: &str| json!({"nodeOutputs": {"script": {"value": {"type": "primitive", "value": value}}}});
    let (_, a) = post(&s, &format!("/v1/workflows/{wid}"), run("fail:soundtrack")).await;
    let (_, b) = post(&s, &format!("/v1/workflows/{wid}"), run("fail")).await;
    settle().await;
    let (_, a) = get(&s, &format!("/v1/workflow_invocations/{}", a["id"].as_str().unwrap())).await;
    assert_eq!(a["status"], "SUCCEEDED", "{a}");
    assert!(a["nodeErrors"]["soundtrack"]["message"].is_string(), "{a}");
    let url = a["output"]["cut"][0].as_str().unwrap();
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let (_, b) = get(&s, &format!("/v1/workflow_invocations/{}", b["id"].as_str().unwrap())).await;
    assert_eq!(b["status"], "FAILED", "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_session_goes_through_its_states_and_conversations_follow() {
    let s = sim(fast());
    let (_, v) = post(
        &s,
        "/v1/realtime_sessions",
        json!({"model": "gwm1_avatars",
        "avatar": {"type": "runway-preset", "presetId": "cat-character"}}),
    )
    .await;
    let id = v["id"].as_str().expect("an id").to_string();
    let mut seen = Vec::new();
    for _ in 0..100 {
        let (_, r) = get(&s, &format!("/v1/realtime_sessions/{id}")).await;
        let st = r["status"].as_str().unwrap().to_string();
        if st == "READY" {
            assert!(r["sessionKey"].is_string() && r["expiresAt"].is_string(), "{r}");
        }
        if seen.last() != Some(&st) {
            seen.push(st.clone());
        }
        if st == "COMPLETED" {
            assert!(r["duration"].is_i64(), "{r}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen.last().map(String::as_str), Some("COMPLETED"), "{seen:?}");
    let (_, c) = get(&s, &format!("/v1/avatar_conversations/{id}")).await;
    assert_eq!(c["status"], "ended", "{c}");
    assert!(!c["transcript"].as_array().unwrap().is_empty());
    let (_, u) = get(&s, "/v1/avatar_usage?startDate=2020-01-01T00:00:00Z&endDate=2020-03-01T00:00:00Z").await;
    assert_eq!(u["totalSessions"], 0, "{u}");
    let (st, _) = get(&s, "/v1/avatar_usage?startDate=2020-01-01T00:00:00Z&endDate=2021-01-01T00:00:00Z").await;
    assert_eq!(st, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_live_realtime_session_cancels_it() {
    // A session that lives a minute: on a loaded machine a fast one could end before the DELETE.
    let s = sim(SimConfig { task_seconds: 60.0, pending_seconds: 0.0, ..Default::default() });
    let (_, v) = post(
        &s,
        "/v1/realtime_sessions",
        json!({"model": "gwm1_avatars",
        "avatar": {"type": "runway-preset", "presetId": "cat-character"}}),
    )
    .await;
    let id2 = v["id"].as_str().unwrap();
    let (st, _) = api(&s, reqwest::Method::DELETE, &format!("/v1/realtime_sessions/{id2}"), None).await;
    assert_eq!(st, 204);
    let (_, r) = get(&s, &format!("/v1/realtime_sessions/{id2}")).await;
    assert_eq!(r["status"], "CANCELLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_used_by_avatars_and_detached_on_delete() {
    let s = sim(fast());
    let (st, d) = post(&s, "/v1/documents", json!({"name": "FAQ", "content": "Q and A"})).await;
    assert_eq!(st, 200, "{d}");
    let did = d["id"].as_str().unwrap();
    let avatar = |docs: Value| {
        json!({"name": "Ava", "personality": "kind", "referenceImage": "https://example.com/a.png",
        "voice": {"type": "runway-live-preset", "presetId": "victoria"}, "documentIds": docs})
    };
    let (st, v) = post(&s, "/v1/avatars", avatar(json!(["missing"]))).await;
    assert_eq!(st, 400, "{v}");
    let (st, a) = post(&s, "/v1/avatars", avatar(json!([did]))).await;
    assert_eq!((st, a["status"].as_str()), (200, Some("PROCESSING")), "{a}");
    let (_, d) = get(&s, &format!("/v1/documents/{did}")).await;
    assert_eq!(d["usedBy"][0]["id"], a["id"], "{d}");
    settle().await;
    let aid = a["id"].as_str().unwrap();
    let (_, a) = get(&s, &format!("/v1/avatars/{aid}")).await;
    assert_eq!(a["status"], "READY");
    let (st, _) = api(&s, reqwest::Method::DELETE, &format!("/v1/documents/{did}"), None).await;
    assert_eq!(st, 204);
    let (_, a) = get(&s, &format!("/v1/avatars/{aid}")).await;
    assert_eq!(a["documentIds"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_usage_follows_tasks_and_seed_makes_ids() {
    let s = sim(fast());
    let (st, t) =
        post(&s, "/v1/text_to_image", json!({"model": "gen4_image", "promptText": "x", "ratio": "1920:1080"})).await;
    assert_eq!(st, 200, "{t}");
    // Today is outside the default window (the last 30 days, `beforeDate` exclusive): ask for it.
    let day = |offset: u64| {
        let ms = runway_core::util::now_unix_ms() + offset * 86_400_000;
        runway_core::util::iso8601_millis(ms)[..10].to_string()
    };
    let (st, u) = post(&s, "/v1/organization/usage", json!({"startDate": day(0), "beforeDate": day(1)})).await;
    assert_eq!(st, 200, "{u}");
    assert!(u["models"].as_array().unwrap().contains(&json!("gen4_image")), "{u}");
    let (st, _) =
        post(&s, "/v1/organization/usage", json!({"startDate": "2026-01-01", "beforeDate": "2026-06-01"})).await;
    assert_eq!(st, 400);

    let client = reqwest::Client::new();
    for res in [
        "router",
        "avatar",
        "document",
        "voice",
        "realtime_session",
        "workflow",
        "workflow_invocation",
        "audit_log",
        "task",
    ] {
        let r = client
            .post(format!("{}/_sim/seed", s.base_url()))
            .json(&json!({"resource": res, "id": "seeded-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{res}");
    }
    for p in [
        "/v1/routers/seeded-1",
        "/v1/avatars/seeded-1",
        "/v1/documents/seeded-1",
        "/v1/voices/seeded-1",
        "/v1/realtime_sessions/seeded-1",
        "/v1/avatar_conversations/seeded-1",
        "/v1/workflows/seeded-1",
        "/v1/workflow_invocations/seeded-1",
        "/v1/organization/webapp/audit_logs/seeded-1",
        "/v1/tasks/seeded-1",
    ] {
        let (st, v) = get(&s, p).await;
        assert_eq!(st, 200, "{p}: {v}");
    }
    let (_, t) = get(&s, "/v1/tasks/seeded-1").await;
    assert_eq!(t["status"], "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accounts_objects_are_its_own() {
    let other = "key_".to_string() + &"7".repeat(60);
    let s = sim(SimConfig { extra_keys: vec![other.clone()], ..fast() });
    let voice = json!({"name": "Narrator", "from": {"type": "audio", "audio": "https://example.com/a.mp3"}});
    let (st, v) = post(&s, "/v1/voices", voice).await;
    assert_eq!(st, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (st, d) = post(&s, "/v1/documents", json!({"name": "faq", "content": "# FAQ"})).await;
    assert_eq!(st, 200, "{d}");
    for path in [format!("/v1/voices/{id}"), format!("/v1/documents/{}", d["id"].as_str().unwrap())] {
        assert_eq!(get(&s, &path).await.0, 200, "{path}");
        assert_eq!(common::api_as(&s, &other, reqwest::Method::GET, &path, None).await.0, 404, "{path}");
    }
    for list in ["/v1/voices", "/v1/documents?order=asc&sort=createdAt"] {
        let (st, page) = common::api_as(&s, &other, reqwest::Method::GET, list, None).await;
        assert_eq!((st, page["data"].clone()), (200, json!([])), "{list}");
        assert_eq!(get(&s, list).await.1["data"].as_array().unwrap().len(), 1, "{list}");
    }
}
