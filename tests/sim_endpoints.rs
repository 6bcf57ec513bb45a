//! The simulator's endpoints beyond video over real HTTP: outputs of the right type and number
//! per model (PNG/SVG images, MP3/WAV audio, several outputs), task lengths per output kind, the
//! custom voices routes, and Runway's 400 for unknown models on the newer endpoints.

use std::time::{Duration, Instant};

use runway_core::catalogue::catalogue;
use runway_core::simulator::{SimConfig, Simulator};
use serde_json::{json, Value};

mod common;
use common::{api, api_as, fast, sim, VERSION};

async fn get(s: &Simulator, path: &str) -> (u16, Value) {
    api(s, reqwest::Method::GET, path, None).await
}

async fn post(s: &Simulator, path: &str, body: Value) -> (u16, Value) {
    api(s, reqwest::Method::POST, path, Some(body)).await
}

/// Creates a task and polls it until SUCCEEDED; returns its output URLs.
async fn outputs_of(s: &Simulator, endpoint: &str, body: Value) -> Vec<String> {
    let (st, v) = post(s, &format!("/v1/{endpoint}"), body.clone()).await;
    assert_eq!(st, 200, "{endpoint} {body}: {v}");
    let id = v["id"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let (st, t) = get(s, &format!("/v1/tasks/{id}")).await;
        assert_eq!(st, 200, "{t}");
        if t["status"] == "SUCCEEDED" {
            return t["output"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_string()).collect();
        }
        assert!(["PENDING", "RUNNING", "THROTTLED"].contains(&t["status"].as_str().unwrap()), "{t}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("task {id} did not succeed");
}

/// Fetches an output URL: (content type, bytes).
async fn fetch(url: &str) -> (String, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let len: usize = r.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let b = r.bytes().await.unwrap().to_vec();
    assert_eq!(b.len(), len);
    (ct, b)
}

/// The extension of an output URL's file (`…/<i>.<ext>?exp=…`).
fn ext(url: &str) -> &str {
    url.split('?').next().unwrap().rsplit('.').next().unwrap()
}

fn assert_mp3(b: &[u8]) {
    assert!(b.len() > 100 && b[0] == 0xff && (b[1] & 0xe0) == 0xe0, "MPEG frame sync");
}

fn assert_wav(b: &[u8]) {
    assert_eq!((&b[..4], &b[8..16]), (&b"RIFF"[..], &b"WAVEfmt "[..]));
    assert_eq!(u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize, b.len() - 8, "RIFF size");
}

fn has_model(endpoint: &str, model: &str) -> bool {
    catalogue().model(endpoint, model).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_model_with_output_count_makes_that_many_pngs() {
    assert!(has_model("text_to_image", "gpt_image_2"), "gpt_image_2 is not in src/catalogue.json yet");
    let s = sim(fast());
    let urls = outputs_of(
        &s,
        "text_to_image",
        json!({"model": "gpt_image_2", "promptText": "four cats", "ratio": "1920:1088", "outputCount": 4}),
    )
    .await;
    assert_eq!(urls.len(), 4, "{urls:?}");
    for (i, u) in urls.iter().enumerate() {
        assert!(u.contains(&format!("/{i}.png?exp=")), "{u}");
        let (ct, b) = fetch(u).await;
        assert_eq!(ct, "image/png");
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    }
    // No count field given: the model's default (1); a model without the field makes 1 however asked.
    let urls =
        outputs_of(&s, "text_to_image", json!({"model": "gpt_image_2", "promptText": "one", "ratio": "1920:1088"}))
            .await;
    assert_eq!(urls.len(), 1);
    let urls =
        outputs_of(&s, "text_to_image", json!({"model": "gen4_image", "promptText": "one", "ratio": "1920:1080"}))
            .await;
    assert_eq!((urls.len(), ext(&urls[0])), (1, "png"));
    // The [sim:outputs=N] directive still wins.
    let urls = outputs_of(
        &s,
        "text_to_image",
        json!({"model": "gpt_image_2", "promptText": "x [sim:outputs=2]", "ratio": "1920:1088", "outputCount": 4}),
    )
    .await;
    assert_eq!(urls.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_model_makes_svg() {
    assert!(has_model("text_to_image", "recraft_v4_1_vector"), "recraft_v4_1_vector is not in the catalogue yet");
    let s = sim(fast());
    let urls =
        outputs_of(&s, "text_to_image", json!({"model": "recraft_v4_1_vector", "promptText": "a fox logo"})).await;
    assert_eq!((urls.len(), ext(&urls[0])), (1, "svg"));
    let (ct, b) = fetch(&urls[0]).await;
    assert_eq!(ct, "image/svg+xml");
    let text = String::from_utf8(b).unwrap();
    assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && text.trim_end().ends_with("</svg>"));
    // The same output under another extension is not there.
    let png = urls[0].replace("/0.svg?", "/0.png?");
    assert_eq!(reqwest::get(&png).await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_to_speech_gives_mp3_and_wav_when_asked() {
    let s = sim(fast());
    let voice = json!({"type": "runway-preset", "presetId": "Maya"});
    let urls = outputs_of(
        &s,
        "text_to_speech",
        json!({"model": "eleven_multilingual_v2", "promptText": "Hello there.", "voice": voice}),
    )
    .await;
    assert_eq!((urls.len(), ext(&urls[0])), (1, "mp3"));
    let (ct, b) = fetch(&urls[0]).await;
    assert_eq!(ct, "audio/mpeg");
    assert_mp3(&b);

    assert!(has_model("text_to_speech", "seed_audio"), "seed_audio TTS is not in the catalogue yet");
    for (fmt, want_ext, want_ct) in [("wav", "wav", "audio/wav"), ("mp3", "mp3", "audio/mpeg")] {
        let urls = outputs_of(
            &s,
            "text_to_speech",
            json!({"model": "seed_audio", "promptText": "Hello.", "outputFormat": fmt}),
        )
        .await;
        assert_eq!(ext(&urls[0]), want_ext);
        let (ct, b) = fetch(&urls[0]).await;
        assert_eq!(ct, want_ct);
        if fmt == "wav" {
            assert_wav(&b);
        } else {
            assert_mp3(&b);
        }
    }

    // `format: wav` (Mirelo) with several variants: that many WAV files.
    assert!(has_model("sound_effect", "mirelo_sfx_2_0"), "mirelo_sfx_2_0 sound_effect is not in the catalogue yet");
    let urls = outputs_of(
        &s,
        "sound_effect",
        json!({"model": "mirelo_sfx_2_0", "promptText": "rain", "duration": 3, "format": "wav", "numVariants": 2}),
    )
    .await;
    assert_eq!(urls.len(), 2);
    for u in &urls {
        assert_eq!(ext(u), "wav");
        let (ct, b) = fetch(u).await;
        assert_eq!(ct, "audio/wav");
        assert_wav(&b);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_to_audio_gives_audio() {
    assert!(has_model("video_to_audio", "mirelo_sfx_2_0"), "mirelo_sfx_2_0 video_to_audio is not in the catalogue yet");
    let s = sim(fast());
    let body = json!({"model": "mirelo_sfx_2_0", "videoUri": "https://example.com/clip.mp4", "duration": 5});
    let urls = outputs_of(&s, "video_to_audio", body.clone()).await;
    assert_eq!((urls.len(), ext(&urls[0])), (1, "mp3"));
    let (ct, b) = fetch(&urls[0]).await;
    assert_eq!(ct, "audio/mpeg");
    assert_mp3(&b);
    let mut three = body;
    three["numVariants"] = json!(3);
    let urls = outputs_of(&s, "video_to_audio", three).await;
    assert_eq!(urls.len(), 3);
    assert!(urls.iter().all(|u| ext(u) == "mp3"));
    // Range requests work on audio as on video.
    let r = reqwest::Client::new().get(&urls[2]).header("range", "bytes=0-3").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap()[..2], [0xff, 0xfb]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_lengths_depend_on_the_output_kind() {
    // Video 8 s, audio ~2.7 s, image 2 s: the checks at 4 s have seconds of slack either way on a
    // loaded machine (a status only moves forward, so lateness can only break the RUNNING checks).
    let s = sim(SimConfig { task_seconds: 8.0, pending_seconds: 0.0, ..Default::default() });
    let create = |endpoint: &'static str, body: Value| {
        let s = &s;
        async move {
            let (st, v) = post(s, &format!("/v1/{endpoint}"), body).await;
            assert_eq!(st, 200, "{v}");
            v["id"].as_str().unwrap().to_string()
        }
    };
    let t0 = Instant::now();
    let video =
        create("text_to_video", json!({"model": "gen4.5", "promptText": "v", "ratio": "1280:720", "duration": 5}))
            .await;
    let video_made = Instant::now(); // Runway's clock started before this
    let image = create("text_to_image", json!({"model": "gen4_image", "promptText": "i", "ratio": "1920:1080"})).await;
    let audio = create(
        "text_to_speech",
        json!({"model": "eleven_multilingual_v2", "promptText": "a", "voice": {"type": "runway-preset", "presetId": "Maya"}}),
    )
    .await;
    // An explicit [sim:seconds=N] wins over the factor.
    let slow_image = create(
        "text_to_image",
        json!({"model": "gen4_image", "promptText": "i [sim:seconds=30]", "ratio": "1920:1080"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(4000).saturating_sub(t0.elapsed())).await;
    let status = |id: String| {
        let s = &s;
        async move { get(s, &format!("/v1/tasks/{id}")).await.1["status"].as_str().unwrap().to_string() }
    };
    assert!(t0.elapsed() < Duration::from_millis(7500), "the machine is too slow for this timing test");
    assert_eq!(status(image).await, "SUCCEEDED");
    assert_eq!(status(audio).await, "SUCCEEDED");
    assert_eq!(status(video.clone()).await, "RUNNING");
    assert_eq!(status(slow_image).await, "RUNNING");
    tokio::time::sleep(Duration::from_millis(8100).saturating_sub(video_made.elapsed())).await;
    assert_eq!(status(video).await, "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_model_on_new_endpoints_gets_runways_400() {
    let s = sim(fast());
    for (endpoint, body) in [
        ("text_to_speech", json!({"model": "nope", "promptText": "hi"})),
        ("sound_effect", json!({"model": "nope", "promptText": "rain"})),
        ("video_to_audio", json!({"model": "nope", "videoUri": "https://example.com/v.mp4"})),
        ("voice_isolation", json!({"model": "nope", "audioUri": "https://example.com/a.mp3"})),
        ("avatar_videos", json!({"model": "nope"})),
        ("image_upscale", json!({"model": "nope"})),
    ] {
        assert!(catalogue().endpoint(endpoint).is_some(), "{endpoint} is not in the catalogue yet");
        let (st, v) = post(&s, &format!("/v1/{endpoint}"), body).await;
        assert_eq!(st, 400, "{endpoint}: {v}");
        assert_eq!(v["error"], "Invalid parameter 'model'", "{v}");
        assert_eq!(v["issues"][0]["path"], json!(["model"]), "{v}");
        assert!(v["issues"][0]["code"].is_string() && v["issues"][0]["message"].is_string());
        assert!(v["docUrl"].as_str().unwrap().starts_with("https://"));
        let (st, _) = get(&s, &format!("/v1/{endpoint}")).await;
        assert_eq!(st, 405);
    }
    assert_eq!(s.state().tasks_created(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_has_tier_limits_for_every_catalogue_model() {
    let s = sim(SimConfig { max_concurrency: Some(2), daily_limit: Some(50), ..fast() });
    let (st, org) = get(&s, "/v1/organization").await;
    assert_eq!(st, 200);
    let models = org["tier"]["models"].as_object().unwrap();
    for m in &catalogue().models {
        assert_eq!(
            models.get(&m.model),
            Some(&json!({"maxConcurrentGenerations": 2, "maxDailyGenerations": 50})),
            "{}",
            m.model
        );
    }
}

// ---- Custom voices ----

fn text_voice(name: &str) -> Value {
    json!({"name": name, "from": {"type": "text", "prompt": "A warm, calm narrator with a low voice.", "model": "eleven_ttv_v3"}})
}

async fn voice_status(s: &Simulator, id: &str) -> Value {
    let (st, v) = get(s, &format!("/v1/voices/{id}")).await;
    assert_eq!(st, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voices_create_get_update_delete() {
    // Voices take a quarter of task_seconds to process: 0.5 s here.
    let s = sim(SimConfig { task_seconds: 2.0, pending_seconds: 0.0, ..Default::default() });
    let (st, page) = get(&s, "/v1/voices?limit=10").await;
    assert_eq!(st, 200);
    assert_eq!(page, json!({"data": [], "hasMore": false, "nextCursor": null}));

    let (st, v) = post(&s, "/v1/voices", text_voice("Narrator")).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!((id.len(), &id[14..15]), (36, "4"), "a v4 UUID: {id}");

    let v = voice_status(&s, &id).await;
    assert_eq!(v["status"], "PROCESSING");
    assert_eq!((v["name"].as_str(), &v["description"]), (Some("Narrator"), &Value::Null));
    assert!(v["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(v.get("previewUrl").is_none());

    let t0 = Instant::now();
    let ready = loop {
        let v = voice_status(&s, &id).await;
        if v["status"] == "READY" {
            break v;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (ct, b) = fetch(ready["previewUrl"].as_str().unwrap()).await;
    assert_eq!(ct, "audio/mpeg");
    assert_mp3(&b);

    // Rename and describe; then clear the description.
    let (st, v) = api(
        &s,
        reqwest::Method::PATCH,
        &format!("/v1/voices/{id}"),
        Some(json!({"name": "Night narrator", "description": "for bedtime stories"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["description"].as_str(), v["status"].as_str()),
        (Some("Night narrator"), Some("for bedtime stories"), Some("READY"))
    );
    let (st, v) =
        api(&s, reqwest::Method::PATCH, &format!("/v1/voices/{id}"), Some(json!({"description": null}))).await;
    assert_eq!(st, 200);
    assert_eq!((v["name"].as_str(), &v["description"]), (Some("Night narrator"), &Value::Null));
    let (st, v) = api(&s, reqwest::Method::PATCH, &format!("/v1/voices/{id}"), Some(json!({"name": ""}))).await;
    assert_eq!(st, 400);
    assert_eq!(v["issues"][0]["path"], json!(["name"]));

    let (_, page) = get(&s, "/v1/voices?limit=10").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["data"][0]["id"], id.as_str());

    let (st, _) = api(&s, reqwest::Method::DELETE, &format!("/v1/voices/{id}"), None).await;
    assert_eq!(st, 204);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (st, v) = api(&s, method.clone(), &format!("/v1/voices/{id}"), None).await;
        assert_eq!(st, 404, "{method}");
        assert!(v["error"].is_string() && v.as_object().unwrap().len() == 1, "{v}");
    }
    let (st, _) = api(&s, reqwest::Method::PATCH, &format!("/v1/voices/{id}"), Some(json!({"name": "x"}))).await;
    assert_eq!(st, 404);
    assert_eq!(reqwest::get(ready["previewUrl"].as_str().unwrap()).await.unwrap().status(), 404);
    assert_eq!(get(&s, "/v1/voices?limit=10").await.1["data"], json!([]));

    // Voices need the key like every API route.
    let r = reqwest::Client::new()
        .get(format!("{}/v1/voices?limit=1", s.base_url()))
        .header("X-Runway-Version", VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voices_list_is_paginated() {
    let s = sim(fast());
    let mut made = Vec::new();
    for i in 0..5 {
        let r = reqwest::Client::new()
            .post(format!("{}/_sim/voices", s.base_url()))
            .json(&json!({"name": format!("voice {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], "READY", "{v}");
        assert!(v["previewUrl"].is_string());
        made.push(v["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut path = "/v1/voices?limit=2".to_string();
    let mut pages = 0;
    loop {
        let (st, page) = get(&s, &path).await;
        assert_eq!(st, 200, "{page}");
        pages += 1;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|v| v["id"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(page["hasMore"], true);
                path = format!("/v1/voices?limit=2&cursor={c}");
            }
            None => {
                assert_eq!(page["hasMore"], false);
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    made.reverse();
    assert_eq!(seen, made, "newest first, each once");

    // Without a limit: Runway's default page of 50.
    let (st, page) = get(&s, "/v1/voices").await;
    assert_eq!((st, page["data"].as_array().unwrap().len()), (200, 5));
    for (q, field) in
        [("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"), ("limit=2&cursor=bogus", "cursor")]
    {
        let (st, v) = get(&s, &format!("/v1/voices?{q}")).await;
        assert_eq!(st, 400, "{q}: {v}");
        assert_eq!(v["error"], format!("Invalid parameter '{field}'"));
        assert_eq!(v["issues"][0]["path"], json!([field]));
        assert!(v["docUrl"].is_string());
    }
    // A ready voice added from Rust.
    let id = s.state().add_ready_voice("from rust", Some("test"));
    assert_eq!(voice_status(&s, &id).await["description"], "test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_create_is_validated() {
    let s = sim(fast());
    let prompt = "A warm, calm narrator with a low voice.";
    for (body, path) in [
        (json!({"from": {"type": "text", "prompt": prompt, "model": "eleven_ttv_v3"}}), json!(["name"])),
        (json!({"name": "", "from": {"type": "text", "prompt": prompt, "model": "eleven_ttv_v3"}}), json!(["name"])),
        (
            json!({"name": "x".repeat(101), "from": {"type": "text", "prompt": prompt, "model": "eleven_ttv_v3"}}),
            json!(["name"]),
        ),
        (
            json!({"name": "n", "description": "d".repeat(1025), "from": {"type": "text", "prompt": prompt, "model": "eleven_ttv_v3"}}),
            json!(["description"]),
        ),
        (json!({"name": "n"}), json!(["from"])),
        (json!({"name": "n", "from": "text"}), json!(["from"])),
        (
            json!({"name": "n", "from": {"type": "video", "video": "https://example.com/v.mp4"}}),
            json!(["from", "type"]),
        ),
        (
            json!({"name": "n", "from": {"type": "text", "prompt": "too short", "model": "eleven_ttv_v3"}}),
            json!(["from", "prompt"]),
        ),
        (
            json!({"name": "n", "from": {"type": "text", "prompt": "p".repeat(1001), "model": "eleven_ttv_v3"}}),
            json!(["from", "prompt"]),
        ),
        (
            json!({"name": "n", "from": {"type": "text", "prompt": prompt, "model": "eleven_v3"}}),
            json!(["from", "model"]),
        ),
        (json!({"name": "n", "from": {"type": "text", "prompt": prompt}}), json!(["from", "model"])),
        (json!({"name": "n", "from": {"type": "audio"}}), json!(["from", "audio"])),
        (
            json!({"name": "n", "from": {"type": "audio", "audio": "http://example.com/a.mp3"}}),
            json!(["from", "audio"]),
        ),
        (
            json!({"name": "n", "from": {"type": "audio", "audio": "data:image/png;base64,AAAA"}}),
            json!(["from", "audio"]),
        ),
        (json!([1]), json!([])),
    ] {
        let (st, v) = post(&s, "/v1/voices", body.clone()).await;
        assert_eq!(st, 400, "{body}: {v}");
        assert_eq!(v["issues"][0]["path"], path, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().starts_with("Invalid parameter '"), "{v}");
        assert!(v["issues"][0]["code"].is_string() && v["issues"][0]["message"].is_string());
        assert!(v["docUrl"].is_string());
    }
    // A runway:// sample must name a live upload.
    let uri = format!("runway://{}/sample.mp3", "ab".repeat(16));
    let (st, v) = post(&s, "/v1/voices", json!({"name": "n", "from": {"type": "audio", "audio": uri}})).await;
    assert_eq!(st, 400);
    assert_eq!(v["issues"][0]["path"], json!(["from", "audio"]));
    assert!(v["error"].as_str().unwrap().starts_with("Invalid asset"), "{v}");
    assert_eq!(get(&s, "/v1/voices?limit=100").await.1["data"], json!([]));

    // Both sources are accepted; the other design model too; description may be null.
    for body in [
        json!({"name": "clone", "description": null, "from": {"type": "audio", "audio": "https://example.com/a.mp3"}}),
        json!({"name": "design", "description": "d", "from": {"type": "text", "prompt": prompt, "model": "eleven_multilingual_ttv_v2"}}),
    ] {
        let (st, v) = post(&s, "/v1/voices", body.clone()).await;
        assert_eq!(st, 200, "{body}: {v}");
    }
    assert_eq!(get(&s, "/v1/voices?limit=100").await.1["data"].as_array().unwrap().len(), 2);

    // [sim:fail] makes the voice fail.
    let (_, v) = post(&s, "/v1/voices", text_voice("broken [sim:fail]")).await;
    let id = v["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let v = voice_status(&s, &id).await;
    assert_eq!(v["status"], "FAILED", "{v}");
    assert!(v["failureReason"].is_string() && v.get("previewUrl").is_none());

    // Previews: an MP3 URL and its length.
    let (st, p) = post(&s, "/v1/voices/preview", json!({"model": "eleven_ttv_v3", "prompt": prompt})).await;
    assert_eq!(st, 200, "{p}");
    assert!(p["durationSecs"].as_f64().unwrap() > 0.0);
    let (ct, b) = fetch(p["url"].as_str().unwrap()).await;
    assert_eq!(ct, "audio/mpeg");
    assert_mp3(&b);
    let (st, v) = post(&s, "/v1/voices/preview", json!({"model": "eleven_ttv_v3", "prompt": "short"})).await;
    assert_eq!(st, 400);
    assert_eq!(v["issues"][0]["path"], json!(["prompt"]));
}

#[tokio::test]
async fn each_key_sees_only_its_own_tasks() {
    let other = format!("key_{}", "ab".repeat(64));
    let s = sim(SimConfig { extra_keys: vec![other.clone()], ..fast() });
    let body = json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 5});
    let (status, made) = api_as(&s, &other, reqwest::Method::POST, "/v1/text_to_video", Some(body)).await;
    assert_eq!(status, 200, "{made}");
    let path = format!("/v1/tasks/{}", made["id"].as_str().unwrap());
    assert_eq!(api_as(&s, &other, reqwest::Method::GET, &path, None).await.0, 200);
    // The simulator's own key is another account: Runway answers 404, for GET and DELETE alike.
    assert_eq!(api(&s, reqwest::Method::GET, &path, None).await.0, 404);
    assert_eq!(api(&s, reqwest::Method::DELETE, &path, None).await.0, 404);
    assert_eq!(api_as(&s, &other, reqwest::Method::GET, &path, None).await.0, 200);
    let unknown = format!("key_{}", "cd".repeat(64));
    assert_eq!(api_as(&s, &unknown, reqwest::Method::GET, &path, None).await.0, 401);
    assert_eq!(api_as(&s, &other, reqwest::Method::DELETE, &path, None).await.0, 204);
}

#[tokio::test]
async fn open_accounts_take_any_key_each_its_own() {
    let s = sim(SimConfig { open_accounts: true, ..fast() });
    let (a, b) = (format!("key_{}", "01".repeat(64)), "any-key-at-all".to_string());
    let body = json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 5});
    let (status, made) = api_as(&s, &a, reqwest::Method::POST, "/v1/text_to_video", Some(body)).await;
    assert_eq!(status, 200, "{made}");
    let path = format!("/v1/tasks/{}", made["id"].as_str().unwrap());
    assert_eq!(api_as(&s, &a, reqwest::Method::GET, &path, None).await.0, 200);
    assert_eq!(api_as(&s, &b, reqwest::Method::GET, &path, None).await.0, 404);
}

#[tokio::test]
async fn the_request_log_keeps_the_host_each_client_used() {
    let s = sim(fast());
    let local = s.base_url().replace("127.0.0.1", "localhost");
    for base in [s.base_url(), local] {
        reqwest::Client::new().get(format!("{base}/v1/organization")).send().await.unwrap();
    }
    let hosts: Vec<String> = s.state().requests().into_iter().filter_map(|r| r.host).collect();
    let port = s.base_url().rsplit(':').next().unwrap().to_string();
    assert_eq!(hosts, vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")]);
}
