//! The simulator's media routes over real HTTP: ephemeral uploads (presigned multipart POST,
//! runway:// URIs checked by generation endpoints), signed expiring output URLs, byte ranges and
//! large streamed outputs.

use std::time::Duration;

use runway_core::catalogue::MediaKind;
use runway_core::simulator::placeholders;
use runway_core::simulator::Simulator;
use serde_json::{json, Value};

mod common;
use common::{api, fast, sim, VERSION};

/// A presigned upload slot: (uploadUrl, fields, runwayUri).
async fn new_upload(s: &Simulator, filename: &str) -> (String, Vec<(String, String)>, String) {
    let (st, v) =
        api(s, reqwest::Method::POST, "/v1/uploads", Some(json!({"filename": filename, "type": "ephemeral"}))).await;
    assert_eq!(st, 200, "{v}");
    let fields =
        v["fields"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
    (v["uploadUrl"].as_str().unwrap().to_string(), fields, v["runwayUri"].as_str().unwrap().to_string())
}

/// A multipart/form-data body built by hand: the fields, then optionally the file part.
fn form(fields: &[(String, String)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----simtest7MA4YWxkTrZu0gW";
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some((name, data)) = file {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n")
                .as_bytes(),
        );
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

async fn post_form(url: &str, ct: String, body: Vec<u8>) -> (u16, String) {
    // No Authorization header: the upload URL is presigned.
    let r = reqwest::Client::new().post(url).header("content-type", ct).body(body).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A PNG-looking file of `n` bytes.
fn png_bytes(n: usize) -> Vec<u8> {
    let mut v = placeholders::for_kind(MediaKind::Image).bytes.to_vec();
    v.resize(n, 7);
    v
}

fn i2v(uri: Value) -> Value {
    json!({"model": "gen4_turbo", "promptImage": uri, "ratio": "1280:720", "duration": 5})
}

async fn admin_uploads(s: &Simulator) -> Vec<Value> {
    let r = reqwest::get(format!("{}/_sim/uploads", s.base_url())).await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

/// Creates a text_to_video task and polls it until SUCCEEDED; returns the task JSON.
async fn succeeded_video(s: &Simulator, prompt: &str) -> Value {
    let (st, v) = api(
        s,
        reqwest::Method::POST,
        "/v1/text_to_video",
        Some(json!({"model": "gen4.5", "promptText": prompt, "ratio": "1280:720", "duration": 5})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        let (st, t) = api(s, reqwest::Method::GET, &format!("/v1/tasks/{id}"), None).await;
        assert_eq!(st, 200);
        if t["status"] == "SUCCEEDED" {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} did not succeed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_flow_and_runway_uri_accepted() {
    let s = sim(fast());
    let (url, fields, uri) = new_upload(&s, "frame.png").await;
    let token = url.rsplit('/').next().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/_sim/uploads/", s.base_url())), "{url}");
    assert!(token.len() >= 16 && token.bytes().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert_eq!(uri, format!("runway://{token}/frame.png"));
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"key") && names.contains(&"policy") && names.contains(&"x-amz-signature"), "{names:?}");
    assert_eq!(fields.iter().find(|(k, _)| k == "key").unwrap().1, format!("{token}/frame.png"));

    // Not usable before the file arrives.
    let (st, v) = api(&s, reqwest::Method::POST, "/v1/image_to_video", Some(i2v(json!(uri)))).await;
    assert_eq!(st, 400, "{v}");

    let data = png_bytes(4096);
    let (ct, body) = form(&fields, Some(("frame.png", &data)));
    assert_eq!(post_form(&url, ct, body).await.0, 204);
    assert_eq!(s.state().upload_posts(), 1);
    let ups = s.state().uploads();
    assert_eq!(ups.len(), 1);
    assert_eq!((ups[0].token.as_str(), ups[0].filename.as_str(), ups[0].size), (token.as_str(), "frame.png", 4096));
    assert_eq!(ups[0].head, data[..64]);
    let listed = admin_uploads(&s).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["token"], token.as_str());
    assert_eq!(listed[0]["filename"], "frame.png");
    assert_eq!(listed[0]["size"], 4096);
    assert!(listed[0]["at_ms"].is_u64());

    // Accepted, in both shapes of promptImage, and reusable.
    let before = s.state().tasks_created();
    let (st, v) = api(&s, reqwest::Method::POST, "/v1/image_to_video", Some(i2v(json!(uri)))).await;
    assert_eq!(st, 200, "{v}");
    assert!(v["id"].is_string());
    let (st, v) =
        api(&s, reqwest::Method::POST, "/v1/image_to_video", Some(i2v(json!([{"uri": uri, "position": "first"}]))))
            .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(s.state().tasks_created(), before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_upload_forms_are_refused_and_record_nothing() {
    let s = sim(fast());
    let (url, fields, _) = new_upload(&s, "a.png").await;
    let data = png_bytes(2048);

    // A field missing.
    let (ct, body) = form(&fields[1..], Some(("a.png", &data)));
    let (st, text) = post_form(&url, ct, body).await;
    assert_eq!(st, 400, "{text}");
    // A field with another value.
    let mut wrong = fields.clone();
    wrong.iter_mut().find(|(k, _)| k == "policy").unwrap().1.push('x');
    let (ct, body) = form(&wrong, Some(("a.png", &data)));
    assert_eq!(post_form(&url, ct, body).await.0, 400);
    // No file part.
    let (ct, body) = form(&fields, None);
    assert_eq!(post_form(&url, ct, body).await.0, 400);
    // Too small.
    let small = png_bytes(511);
    let (ct, body) = form(&fields, Some(("a.png", &small)));
    let (st, text) = post_form(&url, ct, body).await;
    assert_eq!(st, 400);
    assert!(text.contains("EntityTooSmall"), "{text}");
    // Not multipart at all.
    assert_eq!(post_form(&url, "application/octet-stream".into(), data.clone()).await.0, 400);

    assert!(s.state().uploads().is_empty());
    assert!(admin_uploads(&s).await.is_empty());
    assert_eq!(s.state().upload_posts(), 5);

    // The slot is still usable after refusals; then exactly 512 bytes is enough, once.
    let ok = png_bytes(512);
    let (ct, body) = form(&fields, Some(("a.png", &ok)));
    assert_eq!(post_form(&url, ct.clone(), body.clone()).await.0, 204);
    let (st, text) = post_form(&url, ct.clone(), body.clone()).await;
    assert_eq!(st, 403, "a used token: {text}");
    assert_eq!(s.state().uploads().len(), 1);
    // An unknown token.
    let other = format!("{}/_sim/uploads/{}", s.base_url(), "0".repeat(32));
    assert_eq!(post_form(&other, ct, body).await.0, 403);
    assert_eq!(s.state().uploads().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_create_checks_auth_and_body() {
    let s = sim(fast());
    let http = reqwest::Client::new();
    let url = format!("{}/v1/uploads", s.base_url());
    let r = http
        .post(&url)
        .header("X-Runway-Version", VERSION)
        .json(&json!({"filename": "a.png", "type": "ephemeral"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(&url)
        .bearer_auth(s.api_key())
        .json(&json!({"filename": "a.png", "type": "ephemeral"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "version header required");
    for (body, path) in [
        (json!({"type": "ephemeral"}), "filename"),
        (json!({"filename": "", "type": "ephemeral"}), "filename"),
        (json!({"filename": "a.png", "type": "permanent"}), "type"),
        (json!({"filename": "a.png"}), "type"),
    ] {
        let (st, v) = api(&s, reqwest::Method::POST, "/v1/uploads", Some(body.clone())).await;
        assert_eq!(st, 400, "{body}");
        assert_eq!(v["issues"][0]["path"], json!([path]), "{v}");
        assert!(v["issues"][0]["code"].is_string() && v["issues"][0]["message"].is_string());
        assert!(v["error"].as_str().unwrap().contains(path));
        assert!(v["docUrl"].as_str().unwrap().starts_with("https://"));
    }
    let (st, _) = api(&s, reqwest::Method::GET, "/v1/uploads", None).await;
    assert_eq!(st, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_runway_uri_is_refused_with_its_path() {
    let s = sim(fast());
    let uri = format!("runway://{}/nope.png", "ab".repeat(16));
    let (st, v) =
        api(&s, reqwest::Method::POST, "/v1/image_to_video", Some(i2v(json!([{"uri": uri, "position": "first"}]))))
            .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error"], "Invalid asset: promptImage[0].uri: runway:// URI not found or expired");
    assert_eq!(v["issues"][0]["code"], "custom");
    assert_eq!(v["issues"][0]["path"], json!(["promptImage", 0, "uri"]));
    assert!(v["docUrl"].is_string());
    let (st, v) = api(&s, reqwest::Method::POST, "/v1/image_to_video", Some(i2v(json!(uri)))).await;
    assert_eq!(st, 400);
    assert_eq!(v["issues"][0]["path"], json!(["promptImage"]));
    assert_eq!(s.state().tasks_created(), 0);
    // A real upload's token with another filename is not the same URI.
    let (url, fields, good) = new_upload(&s, "x.png").await;
    let (ct, body) = form(&fields, Some(("x.png", &png_bytes(1000))));
    assert_eq!(post_form(&url, ct, body).await.0, 204);
    let (st, _) =
        api(&s, reqwest::Method::POST, "/v1/image_to_video", Some(i2v(json!(good.replace("x.png", "y.png"))))).await;
    assert_eq!(st, 400);
    assert_eq!(s.state().tasks_created(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_urls_are_signed_expire_and_come_back_fresh() {
    let s = sim(fast());
    s.state().set_output_url_ttl(1.0);
    let t = succeeded_video(&s, "a cat").await;
    let url = t["output"][0].as_str().unwrap().to_string();
    assert!(url.contains("/_sim/outputs/") && url.contains("?exp=") && url.contains("&sig="), "{url}");
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.bytes().await.unwrap(), placeholders::for_kind(MediaKind::Video).bytes);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "Request has expired");

    // The fresh URL lives long enough for the checks below on a loaded machine.
    s.state().set_output_url_ttl(3600.0);
    let (_, again) = api(&s, reqwest::Method::GET, &format!("/v1/tasks/{}", t["id"].as_str().unwrap()), None).await;
    let fresh = again["output"][0].as_str().unwrap();
    assert_ne!(fresh, url);
    assert_eq!(reqwest::get(fresh).await.unwrap().status(), 200);

    // A tampered or missing signature, or a moved expiry.
    let (base, query) = fresh.split_once('?').unwrap();
    let sig = query.split('&').find_map(|kv| kv.strip_prefix("sig=")).unwrap();
    let exp: u64 = query.split('&').find_map(|kv| kv.strip_prefix("exp=")).unwrap().parse().unwrap();
    let flipped = format!("{}{}", if sig.starts_with('0') { '1' } else { '0' }, &sig[1..]);
    for bad in [
        format!("{base}?exp={exp}&sig={flipped}"),
        format!("{base}?exp={exp}"),
        base.to_string(),
        format!("{base}?exp={}&sig={sig}", exp + 60_000),
        format!("{}?exp={exp}&sig={sig}", base.replace("/0.mp4", "/1.mp4")),
    ] {
        let r = reqwest::get(&bad).await.unwrap();
        assert_eq!(r.status(), 403, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "Invalid signature");
    }
    // HEAD works; a deleted task's outputs are gone.
    let r = reqwest::Client::new().head(fresh).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        placeholders::for_kind(MediaKind::Video).bytes.len().to_string().as_str()
    );
    let (st, _) = api(&s, reqwest::Method::DELETE, &format!("/v1/tasks/{}", t["id"].as_str().unwrap()), None).await;
    assert_eq!(st, 204);
    assert_eq!(reqwest::get(fresh).await.unwrap().status(), 404);
}

async fn get_range(url: &str, range: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).header("range", range).send().await.unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_requests_on_outputs() {
    let s = sim(fast());
    let t = succeeded_video(&s, "ranges").await;
    let url = t["output"][0].as_str().unwrap();
    let full = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let total = full.len();
    assert_eq!(&full[..], placeholders::for_kind(MediaKind::Video).bytes);

    let r = get_range(url, "bytes=100-199").await;
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), format!("bytes 100-199/{total}"));
    assert_eq!(header(&r, "content-length"), "100");
    assert_eq!(header(&r, "accept-ranges"), "bytes");
    assert_eq!(header(&r, "content-type"), "video/mp4");
    assert_eq!(r.bytes().await.unwrap(), full[100..200]);

    let r = get_range(url, "bytes=-10").await;
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), format!("bytes {}-{}/{total}", total - 10, total - 1));
    assert_eq!(header(&r, "content-length"), "10");
    assert_eq!(r.bytes().await.unwrap(), full[total - 10..]);

    let r = get_range(url, "bytes=2000-").await;
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), format!("bytes 2000-{}/{total}", total - 1));
    assert_eq!(r.bytes().await.unwrap(), full[2000..]);

    // The end is clamped to the file.
    let r = get_range(url, &format!("bytes=10-{}", total * 3)).await;
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-length"), (total - 10).to_string());

    let r = get_range(url, &format!("bytes={total}-")).await;
    assert_eq!(r.status(), 416);
    assert_eq!(header(&r, "content-range"), format!("bytes */{total}"));

    let r = reqwest::Client::new().head(url).header("range", "bytes=0-9").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-length"), "10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_output_is_streamed_with_exact_length_and_ranges() {
    const N: usize = 5_000_000;
    let s = sim(fast());
    let t = succeeded_video(&s, "big [sim:output_bytes=5000000]").await;
    let url = t["output"][0].as_str().unwrap();
    let ph = placeholders::for_kind(MediaKind::Video).bytes;

    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-length"), N.to_string());
    assert_eq!(r.content_length(), Some(N as u64));
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), N);
    assert_eq!(&body[..ph.len()], ph);
    assert_eq!(&body[4..8], b"ftyp");
    let pad = &body[ph.len()..];
    assert_eq!(u32::from_be_bytes(pad[..4].try_into().unwrap()) as usize, N - ph.len());
    assert_eq!(&pad[4..8], b"free");
    assert!(pad[8..].iter().all(|&b| b == 0));

    let r = get_range(url, &format!("bytes={}-{}", ph.len() - 4, ph.len() + 11)).await;
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), format!("bytes {}-{}/{N}", ph.len() - 4, ph.len() + 11));
    assert_eq!(r.bytes().await.unwrap(), body[ph.len() - 4..ph.len() + 12]);
    let r = get_range(url, "bytes=-10").await;
    assert_eq!(header(&r, "content-range"), format!("bytes {}-{}/{N}", N - 10, N - 1));
    assert_eq!(r.bytes().await.unwrap(), body[N - 10..]);
    let r = get_range(url, &format!("bytes={N}-")).await;
    assert_eq!(r.status(), 416);

    // Images and audio ignore the directive; tiny sizes keep the plain placeholder.
    let t = succeeded_video(&s, "tiny [sim:output_bytes=10]").await;
    let r = reqwest::get(t["output"][0].as_str().unwrap()).await.unwrap();
    assert_eq!(r.bytes().await.unwrap(), ph);
    let (st, v) = api(
        &s,
        reqwest::Method::POST,
        "/v1/text_to_image",
        Some(json!({"model": "gen4_image", "promptText": "x [sim:output_bytes=5000000]", "ratio": "1920:1080"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let img = loop {
        let (_, t) = api(&s, reqwest::Method::GET, &format!("/v1/tasks/{id}"), None).await;
        if t["status"] == "SUCCEEDED" {
            break t["output"][0].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let r = reqwest::get(&img).await.unwrap();
    assert_eq!(header(&r, "content-type"), "image/png");
    assert_eq!(r.bytes().await.unwrap(), placeholders::for_kind(MediaKind::Image).bytes);
}

/// The size bounds at full scale: exactly 200 MiB is taken, one byte more is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_size_limits_at_full_scale() {
    const MAX: usize = 200 * 1024 * 1024;
    let s = sim(fast());
    for (n, want) in [(MAX + 1, 400), (MAX, 204)] {
        let (url, fields, _) = new_upload(&s, "big.mp4").await;
        let t0 = std::time::Instant::now();
        let (ct, body) = form(&fields, Some(("big.mp4", &vec![0u8; n])));
        let (st, text) = post_form(&url, ct, body).await;
        assert_eq!(st, want, "{n}: {text}");
        if want == 400 {
            assert!(text.contains("EntityTooLarge"), "{text}");
        }
        eprintln!("{n} bytes: {:?}", t0.elapsed());
    }
    assert_eq!(s.state().uploads().len(), 1);
    assert_eq!(s.state().uploads()[0].size, MAX as u64);
}
