//! What the recipients' page (`/s/{token}`, the `ferry-share` entry) says, as plain functions:
//! which answers make a link unusable and how each reads, and the lines that describe a file.
//! No Leptos here, so the light entry links only these few functions.

use ferry_api::codes;

use crate::api_client::ApiError;
use crate::format::human_size;

/// Why a link cannot be used, in words for the visitor.
pub fn unusable_message(err: &ApiError) -> (&'static str, String) {
    match err.code.as_str() {
        codes::SHARE_EXPIRED => (
            "This link has expired",
            "Links stop working after the time their owner chose. Ask the sender for a new one."
                .into(),
        ),
        codes::SHARE_REVOKED => (
            "This link was turned off",
            "The person who shared this file stopped sharing it.".into(),
        ),
        codes::SHARE_EXHAUSTED => (
            "This link has been used up",
            "It allowed a limited number of downloads, and all of them have been used. Ask the \
             sender for a new link."
                .into(),
        ),
        codes::NOT_FOUND | codes::SHARE_NOT_FOUND => (
            "This link doesn't exist",
            "Check that you copied the whole link. It may also have been removed.".into(),
        ),
        _ => ("This link could not be opened", err.message.clone()),
    }
}

/// The API says the link itself is unusable (as opposed to a wrong password or a glitch).
pub fn is_unusable(err: &ApiError) -> bool {
    matches!(
        err.code.as_str(),
        codes::SHARE_EXPIRED
            | codes::SHARE_REVOKED
            | codes::SHARE_EXHAUSTED
            | codes::NOT_FOUND
            | codes::SHARE_NOT_FOUND
    )
}

/// A short label from the file name's extension (`PDF`, `ZIP`), for files without a thumbnail.
pub fn type_badge(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && (1..=4).contains(&ext.len()) => {
            ext.to_ascii_uppercase()
        }
        _ => "FILE".to_owned(),
    }
}

/// Size and type under the file's name (`"1.2 MiB · application/pdf"`).
pub fn file_meta(size: Option<u64>, content_type: Option<String>) -> String {
    [size.map(human_size), content_type]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

/// How many downloads the link still allows, when it has a limit.
pub fn downloads_left_text(left: Option<u32>) -> Option<String> {
    match left {
        None => None,
        Some(0) => Some("No downloads left".to_owned()),
        Some(1) => Some("1 download left".to_owned()),
        Some(n) => Some(format!("{n} downloads left")),
    }
}

/// What the visitor reads once the download has started.
pub fn started_text(no_more: bool) -> &'static str {
    if no_more {
        "Your download has started. That was the last download this link allows."
    } else {
        "Your download has started."
    }
}

/// The label of the form's one button: unlocking or downloading, idle or waiting.
pub fn button_label(locked: bool, busy: bool) -> &'static str {
    match (locked, busy) {
        (true, true) => "Checking…",
        (true, false) => "Unlock",
        (false, true) => "Preparing…",
        (false, false) => "Download",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str) -> ApiError {
        ApiError {
            status: 410,
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn each_unusable_link_gets_its_own_message() {
        let titles: Vec<_> = [
            codes::SHARE_EXPIRED,
            codes::SHARE_REVOKED,
            codes::SHARE_EXHAUSTED,
            codes::NOT_FOUND,
        ]
        .iter()
        .map(|c| unusable_message(&err(c)).0)
        .collect();
        assert_eq!(
            titles,
            [
                "This link has expired",
                "This link was turned off",
                "This link has been used up",
                "This link doesn't exist"
            ]
        );
        assert!(is_unusable(&err(codes::SHARE_EXHAUSTED)));
        assert!(!is_unusable(&err(codes::WRONG_PASSWORD)));
    }

    #[test]
    fn the_file_lines_read_like_the_files_page() {
        assert_eq!(type_badge("report.pdf"), "PDF");
        assert_eq!(type_badge(".bashrc"), "FILE");
        assert_eq!(type_badge("archive.tar.gz"), "GZ");
        assert_eq!(
            file_meta(Some(1_234_567), Some("application/pdf".into())),
            "1.2 MiB · application/pdf"
        );
        assert_eq!(file_meta(None, None), "");
        assert_eq!(downloads_left_text(None), None);
        assert_eq!(downloads_left_text(Some(1)).unwrap(), "1 download left");
        assert_eq!(downloads_left_text(Some(3)).unwrap(), "3 downloads left");
        assert_eq!(button_label(true, false), "Unlock");
        assert_eq!(button_label(false, true), "Preparing…");
        assert!(started_text(true).ends_with("That was the last download this link allows."));
    }
}
