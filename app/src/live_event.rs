//! Reading a live update ([`LiveEvent`]) from its JSON text without serde's internally tagged
//! enum support: that derive buffers every message into a generic value tree first, and its
//! code was the largest single function of the app's wasm. Here the message is read once into
//! one flat record of optional fields, and its `type` picks the variant.

use ferry_api::live::{EndReason, LiveEvent};
use serde::Deserialize;

/// Every field any event has; which ones must be there depends on `type`.
#[derive(Deserialize)]
struct Fields {
    #[serde(rename = "type")]
    kind: String,
    file_id: Option<String>,
    token: Option<String>,
    downloads: Option<u32>,
    reason: Option<String>,
    request: Option<String>,
}

/// The event `text` holds; `None` for a kind this build does not know, or a message that lacks
/// a field its kind needs (what serde's derive would refuse too).
pub fn parse(text: &str) -> Option<LiveEvent> {
    let f: Fields = serde_json::from_str(text).ok()?;
    Some(match f.kind.as_str() {
        "file_ready" => LiveEvent::FileReady {
            file_id: f.file_id?,
        },
        "file_failed" => LiveEvent::FileFailed {
            file_id: f.file_id?,
        },
        "share_downloaded" => LiveEvent::ShareDownloaded {
            token: f.token?,
            file_id: f.file_id?,
            downloads: f.downloads?,
        },
        "share_ended" => LiveEvent::ShareEnded {
            token: f.token?,
            reason: match f.reason?.as_str() {
                "expired" => EndReason::Expired,
                "exhausted" => EndReason::Exhausted,
                _ => return None,
            },
        },
        "guest_file_arrived" => LiveEvent::GuestFileArrived {
            file_id: f.file_id?,
            request: f.request?,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<LiveEvent> {
        vec![
            LiveEvent::FileReady {
                file_id: "f1".into(),
            },
            LiveEvent::FileFailed {
                file_id: "f2".into(),
            },
            LiveEvent::ShareDownloaded {
                token: "t1".into(),
                file_id: String::new(),
                downloads: 7,
            },
            LiveEvent::ShareEnded {
                token: "t2".into(),
                reason: EndReason::Expired,
            },
            LiveEvent::ShareEnded {
                token: "t3".into(),
                reason: EndReason::Exhausted,
            },
            LiveEvent::GuestFileArrived {
                file_id: "f3".into(),
                request: "r1".into(),
            },
        ]
    }

    #[test]
    fn reads_what_the_server_writes_and_what_serde_reads() {
        for event in every_kind() {
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(parse(&text), Some(event.clone()), "{text}");
            assert_eq!(serde_json::from_str::<LiveEvent>(&text).ok(), parse(&text));
        }
    }

    #[test]
    fn refuses_what_serde_refuses() {
        for text in [
            r#"{"type":"file_archived","file_id":"f1"}"#,
            r#"{"file_id":"f1"}"#,
            r#"{"type":"file_ready"}"#,
            r#"{"type":"share_downloaded","token":"t","file_id":"f","downloads":-1}"#,
            r#"{"type":"share_downloaded","token":"t","file_id":"f"}"#,
            r#"{"type":"share_ended","token":"t","reason":"revoked"}"#,
            r#"{"type":"guest_file_arrived","file_id":"f"}"#,
            r#"{"type":"file_ready","file_id":7}"#,
            "not json",
            "[]",
        ] {
            assert_eq!(parse(text), None, "{text}");
            assert!(serde_json::from_str::<LiveEvent>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn fields_a_newer_server_adds_are_ignored() {
        let text = r#"{"file_id":"f1","at":123,"type":"file_ready","extra":{"a":[1]}}"#;
        assert_eq!(
            parse(text),
            Some(LiveEvent::FileReady {
                file_id: "f1".into()
            })
        );
    }
}
