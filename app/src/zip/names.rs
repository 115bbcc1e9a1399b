//! Paths inside the ZIP: made safe to extract anywhere (relative, no `..`, no control
//! characters, no drive letters) and unique, as an unzip on a case-insensitive disk sees them
//! (`a.txt` twice becomes `a.txt` and `a (2).txt`). Case is folded for ASCII only: Unicode's
//! case tables would double the recipients' page's download for a rare clash.

use std::collections::{HashMap, HashSet};

/// `path` relative and harmless: separators unified to `/`, empty, `.` and `..` segments and a
/// leading drive (`C:`) dropped, control characters replaced. Never empty.
pub fn safe_path(path: &str) -> String {
    let mut segments: Vec<String> = Vec::new();
    for (i, segment) in path.split(['/', '\\']).enumerate() {
        if segment.is_empty() || segment == "." || segment == ".." {
            continue;
        }
        let drive = segment.len() == 2
            && segment.ends_with(':')
            && segment.as_bytes()[0].is_ascii_alphabetic();
        if i == 0 && drive {
            continue;
        }
        let clean: String = segment
            .chars()
            .map(|c| if c.is_control() { '_' } else { c })
            .collect();
        segments.push(clean);
    }
    if segments.is_empty() {
        "file".to_owned()
    } else {
        segments.join("/")
    }
}

/// The paths handed out so far, compared without ASCII case.
#[derive(Debug, Default)]
pub struct UniquePaths {
    files: HashSet<String>,
    folders: HashSet<String>,
    /// A folder whose name a file already took, and the name it goes under instead.
    moved_folders: HashMap<String, String>,
}

impl UniquePaths {
    /// A safe path for `path` that no earlier file or folder has.
    pub fn claim(&mut self, path: &str) -> String {
        let path = safe_path(path);
        let (folder, name) = match path.rsplit_once('/') {
            Some((folder, name)) => (self.claim_folder(folder), name.to_owned()),
            None => (String::new(), path),
        };
        let within = |name: &str| {
            if folder.is_empty() {
                name.to_owned()
            } else {
                format!("{folder}/{name}")
            }
        };
        let mut candidate = within(&name);
        let mut n = 2;
        while self.taken(&candidate) {
            candidate = within(&numbered(&name, n, true));
            n += 1;
        }
        self.files.insert(candidate.to_ascii_lowercase());
        candidate
    }

    fn taken(&self, path: &str) -> bool {
        let key = path.to_ascii_lowercase();
        self.files.contains(&key) || self.folders.contains(&key)
    }

    /// The folder `folder` is written under: itself, or, where a file took one of its
    /// segments' names, that segment numbered (`a (2)/b.txt`), the same for every later file.
    fn claim_folder(&mut self, folder: &str) -> String {
        let mut out = String::new();
        for segment in folder.split('/') {
            let wanted = if out.is_empty() {
                segment.to_owned()
            } else {
                format!("{out}/{segment}")
            };
            let key = wanted.to_ascii_lowercase();
            out = if let Some(moved) = self.moved_folders.get(&key) {
                moved.clone()
            } else if self.files.contains(&key) {
                let base = out.clone();
                let mut n = 2;
                let moved = loop {
                    let name = numbered(segment, n, false);
                    let candidate = if base.is_empty() {
                        name
                    } else {
                        format!("{base}/{name}")
                    };
                    if !self.taken(&candidate) {
                        break candidate;
                    }
                    n += 1;
                };
                self.moved_folders.insert(key, moved.clone());
                moved
            } else {
                wanted
            };
            self.folders.insert(out.to_ascii_lowercase());
        }
        out
    }
}

/// `name (n).ext` for a file (the extension stays last), `name (n)` for a folder.
fn numbered(name: &str, n: u32, keep_extension: bool) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if keep_extension && !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{name} ({n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_become_relative_and_harmless() {
        assert_eq!(safe_path("/etc/passwd"), "etc/passwd");
        assert_eq!(safe_path("../../x/../y.txt"), "x/y.txt");
        assert_eq!(safe_path("C:\\Windows\\win.ini"), "Windows/win.ini");
        assert_eq!(safe_path("a/./b//c.txt"), "a/b/c.txt");
        assert_eq!(safe_path("bad\u{0}name\n.txt"), "bad_name_.txt");
        assert_eq!(safe_path(".."), "file");
        assert_eq!(safe_path(""), "file");
        assert_eq!(safe_path("fotos/été/ça.jpg"), "fotos/été/ça.jpg");
        assert_eq!(safe_path("notes/a:b.txt"), "notes/a:b.txt");
    }

    #[test]
    fn duplicates_are_numbered_before_the_extension() {
        let mut paths = UniquePaths::default();
        assert_eq!(paths.claim("a.txt"), "a.txt");
        assert_eq!(paths.claim("a.txt"), "a (2).txt");
        assert_eq!(paths.claim("A.TXT"), "A (3).TXT");
        assert_eq!(paths.claim("dir/a.txt"), "dir/a.txt");
        assert_eq!(paths.claim("dir/a.txt"), "dir/a (2).txt");
        assert_eq!(paths.claim(".bashrc"), ".bashrc");
        assert_eq!(paths.claim(".bashrc"), ".bashrc (2)");
        assert_eq!(paths.claim("archive.tar.gz"), "archive.tar.gz");
        assert_eq!(paths.claim("archive.tar.gz"), "archive.tar (2).gz");
    }

    #[test]
    fn a_file_and_a_folder_never_share_a_name() {
        let mut paths = UniquePaths::default();
        assert_eq!(paths.claim("photos/1.jpg"), "photos/1.jpg");
        assert_eq!(paths.claim("photos"), "photos (2)");
        assert_eq!(paths.claim("report"), "report");
        assert_eq!(paths.claim("report/page.txt"), "report (2)/page.txt");
        assert_eq!(paths.claim("Report/other.txt"), "report (2)/other.txt");
        assert_eq!(paths.claim("report/deep/x.txt"), "report (2)/deep/x.txt");
    }
}
