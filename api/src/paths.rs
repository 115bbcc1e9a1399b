//! Folder paths of dropped or picked folders: the rules the app applies before uploading and the
//! API applies again (with NFC normalisation, which the app leaves to the server).

/// Most segments in a folder path.
pub const MAX_FOLDER_DEPTH: usize = 32;
/// Longest folder path, in UTF-8 bytes.
pub const MAX_FOLDER_BYTES: usize = 1_024;

/// Files an operating system leaves in folders that nobody means to share.
const OS_CLUTTER: [&str; 5] = [
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    "ehthumbs.db",
    ".localized",
];

/// Whether a file name is operating-system clutter (`.DS_Store`, `Thumbs.db`, `desktop.ini`,
/// AppleDouble `._*` files), skipped when a folder is uploaded.
pub fn is_os_clutter(name: &str) -> bool {
    OS_CLUTTER.iter().any(|c| c.eq_ignore_ascii_case(name)) || name.starts_with("._")
}

/// Splits a relative path as browsers give it (`photos/2026/img 1.jpg`, `webkitRelativePath`)
/// into its folder (`photos/2026`, `None` at the top) and its name. Empty segments are dropped,
/// so `a//b.txt` reads as `a/b.txt`; a path without a name gives `None`.
pub fn split_relative_path(path: &str) -> Option<(Option<String>, String)> {
    let mut segments: Vec<&str> = path.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
    let name = segments.pop()?.to_owned();
    let folder = (!segments.is_empty()).then(|| segments.join("/"));
    Some((folder, name))
}

/// `folder/name`, or `name` at the top level: a file's path inside a transfer or a ZIP.
pub fn join(folder: Option<&str>, name: &str) -> String {
    match folder.filter(|f| !f.is_empty()) {
        Some(folder) => format!("{folder}/{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clutter_is_recognised_whatever_its_case() {
        assert!(is_os_clutter(".DS_Store"));
        assert!(is_os_clutter("thumbs.db"));
        assert!(is_os_clutter("Desktop.ini"));
        assert!(is_os_clutter("._IMG_0001.JPG"));
        assert!(!is_os_clutter("DS_Store.txt"));
        assert!(!is_os_clutter("notes.txt"));
    }

    #[test]
    fn relative_paths_split_into_folder_and_name() {
        assert_eq!(
            split_relative_path("photos/2026/img 1.jpg"),
            Some((Some("photos/2026".to_owned()), "img 1.jpg".to_owned()))
        );
        assert_eq!(
            split_relative_path("a.txt"),
            Some((None, "a.txt".to_owned()))
        );
        assert_eq!(
            split_relative_path("a//b\\c.txt"),
            Some((Some("a/b".to_owned()), "c.txt".to_owned()))
        );
        assert_eq!(split_relative_path("//"), None);
    }

    #[test]
    fn join_leaves_top_level_names_alone() {
        assert_eq!(join(Some("a/b"), "c"), "a/b/c");
        assert_eq!(join(Some(""), "c"), "c");
        assert_eq!(join(None, "c"), "c");
    }
}
