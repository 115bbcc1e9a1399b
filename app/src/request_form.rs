//! The rules of file requests that need no browser: what the owner's form accepts, how a
//! request's use and limits read, and what a guest is told when the API refuses.

use ferry_api::requests::{MAX_MESSAGE_CHARS, MAX_TITLE_CHARS};
use ferry_api::share::PASSWORD_CHARS;
use ferry_api::{CreateRequest, FileRequest, RequestRef, RequestState, codes, human_size};

const MB: u64 = 1024 * 1024;

/// The size limits offered (bytes, label).
pub const SIZE_CHOICES: [(u64, &str); 4] = [
    (100 * MB, "100 MB"),
    (1024 * MB, "1 GB"),
    (5 * 1024 * MB, "5 GB"),
    (20 * 1024 * MB, "20 GB"),
];

/// What the form holds, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestForm {
    pub title: String,
    pub message: String,
    pub expires_in_seconds: u64,
    pub max_files: String,
    pub max_bytes: u64,
    pub password: String,
}

/// The request to create, or what to fix first.
pub fn validate(form: &RequestForm, max_files: u32) -> Result<CreateRequest, String> {
    let title = form.title.trim();
    if title.is_empty() {
        return Err("Give the request a title.".to_owned());
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("A title has at most {MAX_TITLE_CHARS} characters."));
    }
    if form.message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(format!(
            "A message has at most {MAX_MESSAGE_CHARS} characters."
        ));
    }
    let files = match form.max_files.trim().parse::<u32>() {
        Ok(n) if (1..=max_files).contains(&n) => n,
        _ => return Err(format!("Allow between 1 and {max_files} files.")),
    };
    let pw = &form.password;
    if !pw.is_empty() && !PASSWORD_CHARS.contains(&pw.chars().count()) {
        return Err("A password needs 8 to 128 characters.".to_owned());
    }
    Ok(CreateRequest {
        title: title.to_owned(),
        message: form.message.trim().to_owned(),
        expires_in_seconds: Some(form.expires_in_seconds),
        max_files: files,
        max_bytes: form.max_bytes.max(1),
        password: (!pw.is_empty()).then(|| pw.clone()),
    })
}

/// A request's state in words.
pub fn state_label(state: RequestState) -> &'static str {
    match state {
        RequestState::Open => "Open",
        RequestState::Closed => "Closed",
        RequestState::Expired => "Expired",
    }
}

/// `"3 of 10 files · 12 MB of 1 GB"`.
pub fn received_text(request: &FileRequest) -> String {
    format!(
        "{} of {} files · {} of {}",
        request.files_received,
        request.max_files,
        human_size(request.bytes_received),
        human_size(request.max_bytes)
    )
}

/// What a guest is told when the request or an upload is refused (by code), or `None` for a
/// refusal the uploader explains itself.
pub fn guest_refusal(code: &str) -> Option<&'static str> {
    Some(match code {
        codes::REQUEST_NOT_FOUND => {
            "This request does not exist, or its owner deleted it. Ask them for a new link."
        }
        codes::REQUEST_CLOSED => "This request is closed: its owner is not accepting files now.",
        codes::REQUEST_EXPIRED => "This request has expired and no longer accepts files.",
        codes::REQUEST_FULL => "This request has received all the files it accepts.",
        codes::REQUEST_TOO_LARGE => "This file is larger than the space this request has left.",
        codes::QUOTA_EXCEEDED => "The owner of this request has no space left for more files.",
        _ => return None,
    })
}

/// What a guest is told about a request that is not open.
pub fn closed_text(state: RequestState) -> Option<&'static str> {
    match state {
        RequestState::Open => None,
        RequestState::Closed => guest_refusal(codes::REQUEST_CLOSED),
        RequestState::Expired => guest_refusal(codes::REQUEST_EXPIRED),
    }
}

/// `"5 files and 1 GB left"`, from what the request shows.
pub fn left_text(files_left: Option<u32>, bytes_left: Option<u64>) -> Option<String> {
    match (files_left, bytes_left) {
        (Some(1), Some(bytes)) => Some(format!("1 file and {} left", human_size(bytes))),
        (Some(files), Some(bytes)) => Some(format!("{files} files and {} left", human_size(bytes))),
        _ => None,
    }
}

/// How a file received through a request is marked: `Via “Scans” · from Ana: “the last ones”`.
pub fn arrival_text(from: &RequestRef) -> String {
    let mut text = format!("Via “{}”", from.title);
    match (&from.guest_name, &from.guest_note) {
        (Some(name), Some(note)) => text.push_str(&format!(" · from {name}: “{note}”")),
        (Some(name), None) => text.push_str(&format!(" · from {name}")),
        (None, Some(note)) => text.push_str(&format!(" · “{note}”")),
        (None, None) => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> RequestForm {
        RequestForm {
            title: "  Scans  ".into(),
            message: "Please send them\n".into(),
            expires_in_seconds: 86_400,
            max_files: "10".into(),
            max_bytes: SIZE_CHOICES[1].0,
            password: String::new(),
        }
    }

    #[test]
    fn a_valid_form_becomes_a_request() {
        let req = validate(&form(), 1000).unwrap();
        assert_eq!(req.title, "Scans");
        assert_eq!(req.message, "Please send them");
        assert_eq!(req.max_files, 10);
        assert_eq!(req.max_bytes, 1024 * MB);
        assert_eq!(req.expires_in_seconds, Some(86_400));
        assert_eq!(req.password, None);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut f = form();
        f.title = "   ".into();
        assert!(validate(&f, 1000).unwrap_err().contains("title"));
        let mut f = form();
        f.max_files = "0".into();
        assert!(validate(&f, 1000).unwrap_err().contains("files"));
        f.max_files = "1001".into();
        assert!(validate(&f, 1000).is_err());
        f.max_files = "many".into();
        assert!(validate(&f, 1000).is_err());
        let mut f = form();
        f.password = "short".into();
        assert!(validate(&f, 1000).unwrap_err().contains("password"));
        f.password = "long enough".into();
        assert_eq!(
            validate(&f, 1000).unwrap().password.as_deref(),
            Some("long enough")
        );
        let mut f = form();
        f.title = "x".repeat(MAX_TITLE_CHARS + 1);
        assert!(validate(&f, 1000).is_err());
    }

    #[test]
    fn refusals_read_as_sentences_and_others_are_left_to_the_uploader() {
        assert!(
            guest_refusal(codes::REQUEST_CLOSED)
                .unwrap()
                .contains("closed")
        );
        assert!(
            guest_refusal(codes::REQUEST_EXPIRED)
                .unwrap()
                .contains("expired")
        );
        assert!(
            guest_refusal(codes::REQUEST_FULL)
                .unwrap()
                .contains("all the files")
        );
        assert!(
            guest_refusal(codes::REQUEST_TOO_LARGE)
                .unwrap()
                .contains("larger")
        );
        assert_eq!(guest_refusal(codes::INTERNAL), None);
        assert_eq!(closed_text(RequestState::Open), None);
        assert!(
            closed_text(RequestState::Closed)
                .unwrap()
                .contains("closed")
        );
    }

    #[test]
    fn limits_left_read_naturally() {
        assert_eq!(
            left_text(Some(1), Some(MB)).unwrap(),
            format!("1 file and {} left", human_size(MB))
        );
        assert!(left_text(Some(4), Some(MB)).unwrap().starts_with("4 files"));
        assert_eq!(left_text(None, None), None);
    }

    #[test]
    fn arrivals_name_the_request_and_what_the_guest_said() {
        let mut from = RequestRef {
            token: "t".into(),
            title: "Scans".into(),
            guest_name: None,
            guest_note: None,
        };
        assert_eq!(arrival_text(&from), "Via “Scans”");
        from.guest_name = Some("Ana".into());
        assert_eq!(arrival_text(&from), "Via “Scans” · from Ana");
        from.guest_note = Some("the last ones".into());
        assert_eq!(
            arrival_text(&from),
            "Via “Scans” · from Ana: “the last ones”"
        );
        from.guest_name = None;
        assert_eq!(arrival_text(&from), "Via “Scans” · “the last ones”");
    }
}
