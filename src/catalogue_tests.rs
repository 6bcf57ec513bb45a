use super::*;
use serde_json::json;

#[test]
fn compiled_catalogue_loads() {
    let cat = catalogue();
    assert!(cat.models.len() >= 13);
    assert!(cat.model("text_to_video", "gen4.5").is_some());
    assert!(cat.model("/v1/image_to_video", "veo3.1").is_some());
}

#[test]
fn valid_body_passes_and_bad_ratio_names_field() {
    let cat = catalogue();
    let ok = json!({"model": "gen4.5", "promptText": "a cat", "ratio": "1280:720", "duration": 5});
    assert!(cat.validate("text_to_video", &ok).is_ok());
    let bad = json!({"model": "gen4.5", "promptText": "a cat", "ratio": "1920:1080", "duration": 5});
    let e = cat.validate("text_to_video", &bad).unwrap_err().to_string();
    assert!(e.contains("ratio") && e.contains("'1920:1080'") && e.contains("1280:720, 720:1280"), "{e}");
}
