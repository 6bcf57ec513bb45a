//! `POST /v1/generate/video|image|audio`: routing by a router's settings. The candidates are the
//! catalogue's models of the generation endpoint for that output kind; filters drop those the
//! router does not allow (`models.mode` with `ids`) and those whose estimate for this input is
//! over the kind's `maxCreditsPerGeneration`; the rest are ranked by `optimizeFor`. The winner
//! runs as a real task (so `/v1/tasks/{id}` follows it), and every call writes a history row.
//!
//! Models without a published price are estimated at the simulator's flat 50 credits, as the
//! task endpoints charge them.

use serde_json::{json, Map, Value};

use super::routers::{self, Router};
use super::{ok, text};
use crate::catalogue::{catalogue, MediaKind, Model};
use crate::simulator::state::SimState;
use crate::simulator::{error, Resp};
use crate::util::{iso8601_millis, now_unix_ms, uuid_v4};

/// What an unpriced model is estimated at (the simulator's flat charge for such tasks).
const UNPRICED: f64 = 50.0;

/// The model endpoint a routed request draws its candidates from.
fn source_endpoint(kind: MediaKind, input: &Map<String, Value>) -> &'static str {
    match kind {
        MediaKind::Video => "text_to_video",
        MediaKind::Image => "text_to_image",
        _ if text(input, "type") == Some("speech") => "text_to_speech",
        _ => "sound_effect",
    }
}

pub fn provider(model: &str) -> &'static str {
    let m = model.to_ascii_lowercase();
    let table: [(&str, &str); 13] = [
        ("veo", "google"),
        ("gemini", "google"),
        ("kling", "kling"),
        ("seed", "bytedance"),
        ("eleven", "elevenlabs"),
        ("gpt", "openai"),
        ("hailuo", "minimax"),
        ("wan", "alibaba"),
        ("grok", "xai"),
        ("ideogram", "ideogram"),
        ("bria", "bria"),
        ("mirelo", "mirelo"),
        ("happyhorse", "happyhorse"),
    ];
    table.iter().find(|(p, _)| m.contains(p)).map_or("runway", |(_, v)| v)
}

/// Whether a model's name marks it as a fast tier.
fn fast_tier(model: &str) -> bool {
    ["turbo", "fast", "lite", "flash", "mini"].iter().any(|w| model.contains(w))
}

/// A body for `model` standing for the routed input, to estimate its cost and make its task.
fn representative(model: &Model, input: &Map<String, Value>) -> Value {
    let mut b = json!({"model": model.model});
    for k in ["promptText", "duration", "outputCount", "audio", "seed"] {
        if let Some(v) = input.get(k) {
            if model.fields.contains_key(k) {
                b[k] = v.clone();
            }
        }
    }
    if b.get("promptText").is_none() {
        b["promptText"] = json!(text(input, "promptText").unwrap_or(""));
    }
    b
}

fn ratio_for(kind: MediaKind, aspect: &str) -> &'static str {
    let table: &[(&str, &str)] = if kind == MediaKind::Video {
        &[
            ("16:9", "1280:720"),
            ("9:16", "720:1280"),
            ("1:1", "960:960"),
            ("4:3", "1104:832"),
            ("3:4", "832:1104"),
            ("21:9", "1584:672"),
        ]
    } else {
        &[
            ("1:1", "1024:1024"),
            ("16:9", "1920:1080"),
            ("9:16", "1080:1920"),
            ("4:3", "1440:1080"),
            ("3:4", "1080:1440"),
            ("21:9", "2520:1080"),
            ("2:3", "1024:1536"),
            ("3:2", "1536:1024"),
            ("4:5", "1024:1280"),
            ("5:4", "1280:1024"),
        ]
    };
    table.iter().find(|(a, _)| *a == aspect).map_or(table[0].1, |(_, r)| r)
}

fn resolved_input(kind: MediaKind, input: &Map<String, Value>, model: &Model) -> Value {
    match kind {
        MediaKind::Video => {
            let aspect = text(input, "aspectRatio").unwrap_or("16:9");
            let default_duration =
                model.fields.get("duration").and_then(|f| f.default.as_ref()).and_then(Value::as_f64);
            let duration = input.get("duration").and_then(Value::as_f64).or(default_duration).unwrap_or(5.0);
            json!({"duration": duration, "ratio": ratio_for(kind, aspect), "resolution": text(input, "resolution").unwrap_or("720p")})
        }
        MediaKind::Image => {
            let aspect = text(input, "aspectRatio").unwrap_or("1:1");
            json!({"aspectRatio": aspect, "ratio": ratio_for(kind, aspect), "resolution": text(input, "resolution").unwrap_or("1k")})
        }
        _ => {
            let kind = if text(input, "type") == Some("speech") { "speech" } else { "audio" };
            let voice = match input.get("voice").and_then(|v| v.get("type")).and_then(Value::as_str) {
                Some("preset") => "preset",
                Some("reference-audio") => "reference-audio",
                _ if kind == "speech" => "default",
                _ => "none",
            };
            json!({"type": kind, "voice": voice})
        }
    }
}

/// Routes a checked `generate/<kind>` body for `key`.
pub fn route(st: &SimState, key: &str, endpoint: &str, body: &Value) -> Resp {
    let Some(router_model) = catalogue().model_for(endpoint, body) else { return error(404, "Not found.") };
    let kind = router_model.output;
    let config_id = body.get("configId").and_then(Value::as_str).unwrap_or_default().to_string();
    let input = body.get("input").and_then(Value::as_object).cloned().unwrap_or_default();
    let Some(router) = st.res.with(key, |a| routers::find(a, &config_id).cloned()) else {
        return error(
            404,
            &format!("router_config_not_found: no router with slug or id '{config_id}' in this project."),
        );
    };
    let settings = &router.settings;
    let ceiling = settings["maxCreditsPerGeneration"].get(kind.as_str()).and_then(Value::as_f64);
    let optimize = settings["optimizeFor"].as_str().unwrap_or("cost").to_string();

    let ep = source_endpoint(kind, &input);
    let capable: Vec<&Model> =
        catalogue().models_for(ep).into_iter().filter(|m| m.output == kind && !m.fixed).collect();
    let ids: Vec<&str> =
        settings["models"]["ids"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let allowlist = settings["models"]["mode"] == "allowlist_only";
    let allowed: Vec<&Model> =
        capable.iter().copied().filter(|m| ids.contains(&m.model.as_str()) == allowlist).collect();
    let mut priced: Vec<(&Model, Value, f64)> = allowed
        .iter()
        .map(|m| {
            let rep = representative(m, &input);
            let est = m.estimate_cost(&rep).unwrap_or(UNPRICED);
            (*m, rep, est)
        })
        .filter(|(_, _, est)| ceiling.is_none_or(|c| *est <= c))
        .collect();
    let names = |ms: &[&Model]| ms.iter().map(|m| json!(m.model)).collect::<Vec<_>>();
    let mut pipeline = vec![
        json!({"type": "filter", "filter": "capability", "models": names(&capable)}),
        json!({"type": "filter", "filter": "allow_deny", "models": names(&allowed)}),
        json!({"type": "filter", "filter": "price", "models": priced.iter().map(|p| json!(p.0.model)).collect::<Vec<_>>()}),
    ];
    let emptied = [("capability", capable.len()), ("allow_deny", allowed.len()), ("price", priced.len())]
        .iter()
        .find(|(_, n)| *n == 0)
        .map(|(f, _)| *f);
    let request_id = uuid_v4();
    let mut row = json!({"id": uuid_v4(), "requestId": request_id, "createdAt": iso8601_millis(now_unix_ms()),
                         "pipeline": pipeline, "emptiedBy": [], "model": null, "provider": null,
                         "estimatedCredits": null, "reason": null, "reasonCode": null, "taskId": null});
    if let Some(f) = emptied {
        pipeline.truncate(["capability", "allow_deny", "price"].iter().position(|x| *x == f).unwrap_or(2) + 1);
        row["pipeline"] = json!(pipeline);
        row["emptiedBy"] = json!([f]);
        row["status"] = json!("no_eligible_model");
        row["reason"] = json!(format!("The {f} filter left no model for this request."));
        record(st, key, &router, row);
        return error(
            400,
            &format!(
                "no_eligible_model: no model allowed by router '{}' fits this request (emptied by the {f} filter).",
                router.slug
            ),
        );
    }
    rank(&mut priced, &optimize);
    let (model, rep, est) = priced.remove(0);
    let (outcome, reason_code) = match (priced.is_empty(), optimize.as_str()) {
        (true, _) => ("single_candidate", "only_eligible_model"),
        (false, "quality") => ("selected", "best_quality"),
        (false, "latency") => ("selected", "best_latency"),
        (false, _) => ("cost", "lowest_cost"),
    };
    pipeline.push(json!({"type": "rank", "outcome": outcome}));
    let task_id = st.create_task(key, model, &rep, est);
    let routing = json!({
        "configId": router.slug, "model": model.model, "provider": provider(&model.model),
        "estimatedCost": {"credits": est}, "resolvedInput": resolved_input(kind, &input, model),
        "resolvedSettings": {"optimizeFor": optimize, "priceCeiling": ceiling},
    });
    row["pipeline"] = json!(pipeline);
    row["status"] = json!("routed");
    row["model"] = json!(model.model);
    row["provider"] = json!(provider(&model.model));
    row["estimatedCredits"] = json!(est);
    row["reasonCode"] = json!(reason_code);
    row["reason"] =
        json!(format!("{} ranked first of {} eligible models by {optimize}.", model.model, priced.len() + 1));
    row["taskId"] = json!(task_id);
    record(st, key, &router, row);
    ok(&json!({"id": task_id, "routing": routing}))
}

/// Orders eligible models, best first. cost: cheapest first; quality: dearest first (price as the
/// stand-in for quality). latency: fast tiers (turbo, fast, lite, flash, mini) first, then the
/// cheapest: the simulator runs every model equally fast, and among real models the cheaper
/// variants of a family are the lighter, quicker ones. Ties go by name, so routing is repeatable.
fn rank(models: &mut [(&Model, Value, f64)], optimize: &str) {
    models.sort_by(|a, b| {
        let by_name = a.0.model.cmp(&b.0.model);
        match optimize {
            "quality" => b.2.total_cmp(&a.2).then(by_name),
            "latency" => fast_tier(&b.0.model).cmp(&fast_tier(&a.0.model)).then(a.2.total_cmp(&b.2)).then(by_name),
            _ => a.2.total_cmp(&b.2).then(by_name),
        }
    });
}

fn record(st: &SimState, key: &str, router: &Router, row: Value) {
    st.res.with(key, |a| a.requests.push((router.id.clone(), row)));
}
