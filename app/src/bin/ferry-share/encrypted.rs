//! What only an end-to-end encrypted link needs: its key (the fragment, read here and never
//! sent), what the page says when the key is missing or opens nothing, its files' names
//! decrypted (by the download module) and a note on what the encryption means.

use ferry_api::{PublicFile, PublicShare};
use web_sys::Element;

use crate::dom::{Icon, add, attr, clear, el, set_title, text};
use crate::page;
use crate::zipper::{self, Failure};

/// The location's fragment (without `#`): an encrypted link's key. Read here and handed to the
/// download module only; never sent.
pub fn link_secret() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let fragment = hash.strip_prefix('#').unwrap_or(&hash);
    (!fragment.is_empty()).then(|| fragment.to_owned())
}

/// Whether the link lacks its key (`k=…` in the fragment), in words. A damaged key is found
/// by the download module, which says so when it cannot open the names: the page carries no
/// decoding of its own, to stay small.
pub fn link_key_problem() -> Option<String> {
    let secret = link_secret().unwrap_or_default();
    let has_key = secret
        .split('&')
        .any(|pair| pair.strip_prefix("k=").is_some_and(|k| !k.is_empty()));
    (!has_key).then(|| ferry_app::crypto::link::LinkKeyError::Missing.to_string())
}

/// An encrypted link whose files may be listed (not waiting for its password).
pub fn encrypted_and_open(share: &PublicShare) -> bool {
    share.encrypted && share.file_count.is_some()
}

/// An encrypted link without its key: what is missing, and that nothing can be read without it.
pub fn show_key_problem(page: &Element, problem: String) {
    let card = crate::state_card();
    Icon::Lock.add_to(&card);
    add(
        &card,
        &text("h1", "", "The key to these files is not in the link"),
    );
    add(&card, &text("p", "", &problem));
    add(
        &card,
        &text(
            "p",
            "muted small",
            "The files behind it are end-to-end encrypted: they can only be opened with the \
             key that comes after # in the link the sender shared. Ferry never has that key.",
        ),
    );
    clear(page);
    add(page, &card);
}

/// The key opened none of the files: why, in words, instead of the list.
pub fn show_unopenable(reason: &str) {
    let page = page();
    set_title("Link unavailable");
    let card = el("section", "state-card");
    attr(&card, "role", "alert");
    Icon::Warning.add_to(&card);
    add(&card, &text("h1", "", "These files cannot be opened"));
    add(&card, &text("p", "", reason));
    clear(&page);
    add(&page, &card);
}

/// Replaces each encrypted file's stored name, folder, type and size with what its sealed
/// metadata says, then orders them as the link does (folders, then names). Fails, in words,
/// when the key opens none of them.
pub async fn open_names(secret: &str, files: &mut [PublicFile]) -> Result<(), String> {
    let mut opened = 0;
    let mut last_error = None;
    for file in files.iter_mut() {
        let Some(sealed) = &file.encrypted else {
            continue;
        };
        match zipper::open_meta(secret, &sealed.meta).await {
            Ok(secrets) => {
                file.name = secrets.name;
                file.folder = secrets.folder.filter(|f| !f.is_empty());
                file.content_type = secrets.content_type;
                file.size = secrets.size;
                opened += 1;
            }
            Err(Failure::Said(reason)) => {
                file.name = "Encrypted file (its name could not be decrypted)".into();
                last_error = Some(reason);
            }
            Err(Failure::Api(err)) => last_error = Some(err.message),
        }
    }
    if let (0, Some(reason)) = (opened, last_error) {
        return Err(format!(
            "The key in this link does not open its files ({reason}). Ask the sender for the \
             whole link."
        ));
    }
    files.sort_by(|a, b| (&a.folder, &a.name).cmp(&(&b.folder, &b.name)));
    Ok(())
}

/// What end-to-end encryption means for the recipient, in plain words.
pub fn encrypted_note() -> Element {
    let note = el("div", "e2ee-note");
    attr(&note, "role", "note");
    let title = el("p", "");
    Icon::Lock.add_to(&title);
    add(&title, &text("strong", "", "End-to-end encrypted"));
    add(&note, &title);
    add(
        &note,
        &text(
            "p",
            "muted small",
            "These files and their names were encrypted in the sender's browser. Ferry and AWS \
             store only scrambled data and cannot read them. The key is the part of the link \
             after #, which your browser never sends to a server; the files are decrypted here, \
             on your device, as they download.",
        ),
    );
    note
}
