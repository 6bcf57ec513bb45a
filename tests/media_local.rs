//! Local media files read through the input policy, checked with the simulator's placeholder
//! media (real files of each format). Here rather than in src/media, which stays below the
//! simulator.

use std::path::{Path, PathBuf};

use runway_core::catalogue::MediaKind;
use runway_core::media::{open_local, sniff, InputPolicy, NOT_IN_INPUT_DIRS, NO_LOCAL_FILES};
use runway_core::simulator::placeholders;

#[test]
fn a_placeholder_video_sniffs_as_mp4() {
    let ph = placeholders::for_kind(MediaKind::Video);
    assert_eq!(sniff(ph.bytes).unwrap().mime, "video/mp4");
}

#[test]
fn local_files_are_sniffed_and_confined() {
    let dir = std::env::temp_dir().join(format!("rmcp-media-{}", runway_core::util::uuid_v4()));
    let inside = dir.join("in");
    std::fs::create_dir_all(&inside).unwrap();
    let png = inside.join("ok.png");
    std::fs::write(&png, placeholders::for_kind(MediaKind::Image).bytes).unwrap();
    let fake = inside.join("fake.png");
    std::fs::write(&fake, b"just some text pretending to be an image").unwrap();
    let secret = dir.join("secret.png");
    std::fs::write(&secret, placeholders::for_kind(MediaKind::Image).bytes).unwrap();
    let link = inside.join("escape.png");
    std::os::unix::fs::symlink(&secret, &link).unwrap();

    let any = InputPolicy::default();
    let m = open_local(&png, Some(MediaKind::Image), &any).unwrap();
    assert_eq!((m.sniffed.mime, m.size), ("image/png", 161));
    let e = open_local(&fake, Some(MediaKind::Image), &any).unwrap_err().to_string();
    assert!(e.contains("text, not an image"), "{e}");
    let e = open_local(&png, Some(MediaKind::Video), &any).unwrap_err().to_string();
    assert!(e.contains("a video is needed"), "{e}");
    let confined = InputPolicy::from_dirs(Some(inside.to_str().unwrap()));
    assert!(open_local(&png, Some(MediaKind::Image), &confined).is_ok());
    // Outside the roots: a file, a link out, a missing path, a folder, the root's own parent, a
    // path that climbs out with `..`: one answer, naming neither the roots nor what the path is.
    let outside = [
        secret.clone(),
        link.clone(),
        dir.join("missing.png"),
        inside.join("nope.png"),
        inside.clone(),
        dir.clone(),
        inside.join("../secret.png"),
        PathBuf::from("/etc/passwd"),
    ];
    for p in &outside {
        let e = open_local(p, None, &confined).unwrap_err().to_string();
        assert_eq!(e, format!("body: '{}': {NOT_IN_INPUT_DIRS}", p.display()));
    }
    // Nowhere: every path, even an existing media file, gets the same refusal.
    for p in [&png, &secret, &dir.join("missing.png")] {
        let e = open_local(p, Some(MediaKind::Image), &InputPolicy::none()).unwrap_err().to_string();
        assert_eq!(e, format!("body: '{}': {NO_LOCAL_FILES}", p.display()));
    }
    let e = open_local(Path::new("in/ok.png"), None, &any).unwrap_err().to_string();
    assert!(e.contains("must be absolute"), "{e}");
    assert!(open_local(&dir.join("missing.png"), None, &any).unwrap_err().to_string().contains("no such file"));
    assert!(open_local(&inside, None, &any).unwrap_err().to_string().contains("not a regular file"));
    std::fs::remove_dir_all(&dir).unwrap();
}
