//! What the recipients' page shows for a link of many files, as plain functions: the list as
//! one block of markup (every name escaped; 1,000 rows are built in one go), grouped by folder,
//! and the words around "Download all". No DOM here, so it is tested natively.

use ferry_api::{FileStatus, PublicFile};

use crate::format::human_size;
use crate::public_share::type_badge;

/// Said beside "Download all", as the issue asks: how each choice counts against the limit.
pub const COUNTING_NOTE: &str =
    "Download all counts as one download; each single file counts as one.";

const FOLDER_ICON: &str = r#"<svg class="icon" viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" aria-hidden="true"><path d="M3 6.5A1.5 1.5 0 0 1 4.5 5h4l2 2h9A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z"></path></svg>"#;

/// `&`, `<`, `>`, `"` and `'` as entities: text from the API is safe in markup and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `"12 files · 1.4 GiB"`.
pub fn summary(count: usize, total: u64) -> String {
    let files = if count == 1 { "file" } else { "files" };
    format!("{count} {files} · {}", human_size(total))
}

/// `"1.2 GiB of 5.0 GiB · file 3 of 12"`.
pub fn progress_text(done: u64, total: u64, file: usize, files: usize) -> String {
    format!(
        "{} of {} · file {} of {}",
        human_size(done),
        human_size(total),
        file.min(files),
        files
    )
}

/// Indexes of `files` by folder, in the order folders first appear (the API lists a link's
/// files by folder path, then name); the top level is `None`.
pub fn groups(files: &[PublicFile]) -> Vec<(Option<&str>, Vec<usize>)> {
    let mut out: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let folder = file.folder.as_deref().filter(|f| !f.is_empty());
        match out.iter_mut().find(|(f, _)| *f == folder) {
            Some((_, items)) => items.push(i),
            None => out.push((folder, vec![i])),
        }
    }
    out
}

/// The class of a file's icon from its type (`image`, `video`, `audio`, `text`, `archive`).
pub fn kind(content_type: &str, name: &str) -> &'static str {
    let ext = type_badge(name);
    match content_type.split('/').next().unwrap_or_default() {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        "text" => "text",
        _ if ["ZIP", "GZ", "TGZ", "7Z", "RAR", "XZ", "BZ2", "TAR"].contains(&ext.as_str()) => {
            "archive"
        }
        _ if ext == "PDF" => "text",
        _ => "file",
    }
}

/// The whole list as markup: a heading per folder, a row per file with its icon (or
/// thumbnail), name, size and its own download button (`data-i` = index in `files`). Files
/// still arriving say so and have no button yet.
pub fn list_markup(files: &[PublicFile]) -> String {
    let mut html = String::with_capacity(files.len() * 320);
    for (folder, items) in groups(files) {
        html.push_str("<section class=\"file-group\">");
        if let Some(folder) = folder {
            html.push_str("<h2 class=\"folder-name\">");
            html.push_str(FOLDER_ICON);
            html.push_str(&escape(folder));
            html.push_str("</h2>");
        }
        html.push_str("<ul class=\"transfer-files\">");
        for i in items {
            row_markup(&mut html, i, &files[i]);
        }
        html.push_str("</ul></section>");
    }
    html
}

fn row_markup(html: &mut String, i: usize, file: &PublicFile) {
    let name = escape(&file.name);
    let ready = file.status == FileStatus::Ready;
    html.push_str(&format!(
        "<li class=\"transfer-file{}\" data-i=\"{i}\">",
        if ready { "" } else { " arriving" }
    ));
    match &file.thumbnail_url {
        Some(url) if file.encrypted.is_none() => html.push_str(&format!(
            "<img class=\"thumb\" src=\"{}\" alt=\"\" loading=\"lazy\" width=\"40\" height=\"40\">",
            escape(url)
        )),
        // The type's badge; an encrypted file's sealed thumbnail is kept on it for the download
        // module to open (`crypto::thumb_rows`), never shown as it is.
        sealed => html.push_str(&format!(
            "<span class=\"thumb badge kind-{}\" aria-hidden=\"true\"{}>{}</span>",
            kind(&file.content_type, &file.name),
            sealed
                .as_deref()
                .map(|url| format!(" data-sealed=\"{}\"", escape(url)))
                .unwrap_or_default(),
            escape(&type_badge(&file.name))
        )),
    }
    html.push_str(&format!(
        "<span class=\"transfer-name\"><span class=\"name\">{name}</span><span class=\"muted small\">{}</span></span>",
        human_size(file.size)
    ));
    if ready {
        html.push_str(&format!(
            "<button type=\"button\" class=\"button small\" data-i=\"{i}\" aria-label=\"Download {name}\">Download</button>"
        ));
    } else {
        html.push_str("<span class=\"chip pending\">Still arriving</span>");
    }
    html.push_str("</li>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, folder: Option<&str>, status: FileStatus) -> PublicFile {
        PublicFile {
            id: format!("id-{name}"),
            name: name.into(),
            folder: folder.map(str::to_owned),
            size: 1536,
            content_type: "image/png".into(),
            status,
            sha256: None,
            part_size: None,
            thumbnail_url: None,
            encrypted: None,
        }
    }

    #[test]
    fn names_from_the_api_never_become_markup() {
        let files = [file(
            "<img src=x onerror=alert(1)>.png",
            Some("a\"b/<script>"),
            FileStatus::Ready,
        )];
        let html = list_markup(&files);
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;.png"));
        assert!(html.contains("a&quot;b/&lt;script&gt;"));
        assert_eq!(escape("it's & <b>"), "it&#39;s &amp; &lt;b&gt;");
    }

    #[test]
    fn files_group_by_folder_and_arriving_ones_have_no_button() {
        let files = [
            file("top.png", None, FileStatus::Ready),
            file("1.png", Some("photos/2026"), FileStatus::Ready),
            file("2.png", Some("photos/2026"), FileStatus::Pending),
            file("x.png", Some("docs"), FileStatus::Ready),
        ];
        let g = groups(&files);
        assert_eq!(
            g,
            [
                (None, vec![0]),
                (Some("photos/2026"), vec![1, 2]),
                (Some("docs"), vec![3])
            ]
        );
        let html = list_markup(&files);
        assert_eq!(html.matches("<button").count(), 3);
        assert_eq!(html.matches("Still arriving").count(), 1);
        assert!(html.contains("data-i=\"2\""));
        assert_eq!(html.matches("folder-name").count(), 2);
    }

    #[test]
    fn words_around_download_all() {
        assert_eq!(summary(12, 1536), "12 files · 1.5 KiB");
        assert_eq!(summary(1, 0), "1 file · 0 bytes");
        assert_eq!(
            progress_text(1 << 30, 5 << 30, 3, 12),
            "1 GiB of 5 GiB · file 3 of 12"
        );
        assert_eq!(kind("video/mp4", "a.mp4"), "video");
        assert_eq!(kind("application/octet-stream", "a.tar.gz"), "archive");
        assert_eq!(kind("application/pdf", "a.pdf"), "text");
        assert_eq!(kind("application/octet-stream", "data"), "file");
    }

    #[test]
    fn an_encrypted_files_sealed_thumbnail_is_never_an_img_but_waits_on_its_icon() {
        let mut sealed = file("a.png", None, FileStatus::Ready);
        sealed.thumbnail_url = Some("https://s3.test/t/1.webp?a=1&b=\"2".into());
        sealed.encrypted = Some(ferry_api::encryption::EncryptedMeta {
            meta: "bWV0YQ".into(),
            version: 1,
        });
        let mut plain = file("b.png", None, FileStatus::Ready);
        plain.thumbnail_url = Some("https://s3.test/t/2.webp".into());
        let html = list_markup(&[sealed, plain]);
        assert_eq!(html.matches("<img").count(), 1);
        assert!(html.contains("<img class=\"thumb\" src=\"https://s3.test/t/2.webp\""));
        assert!(html.contains(
            "<span class=\"thumb badge kind-image\" aria-hidden=\"true\" \
             data-sealed=\"https://s3.test/t/1.webp?a=1&amp;b=&quot;2\">PNG</span>"
        ));
    }
}
