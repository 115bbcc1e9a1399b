//! The files page's folder structure: files grouped by the folder paths they were uploaded
//! with, and the rows a list shows for the folders that are open. Pure, so the shape of the
//! tree is tested without a browser.

use std::collections::{BTreeMap, BTreeSet};

use ferry_api::File;

/// One folder as a row: where it is, and what it holds (every file below it, at any depth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderRow {
    /// `Fotos/2026`: the key that opens and closes it.
    pub path: String,
    /// Its own name, `2026`.
    pub name: String,
    /// 0 at the top level.
    pub depth: usize,
    pub open: bool,
    pub file_count: usize,
    pub total_size: u64,
    /// Every file below it, in the order the rows list them.
    pub file_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Folder(FolderRow),
    /// Boxed: a file (with its sealed metadata and request mark) is far larger than a folder.
    File {
        file: Box<File>,
        depth: usize,
    },
}

/// What identifies a row from one rendering to the next (selection anchors, focus).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowKey {
    Folder(String),
    File(String),
}

impl RowKey {
    /// As a DOM attribute value (`d:Fotos/2026`, `f:0192…`), read back with [`RowKey::parse`].
    pub fn to_attr(&self) -> String {
        match self {
            Self::Folder(path) => format!("d:{path}"),
            Self::File(id) => format!("f:{id}"),
        }
    }

    pub fn parse(attr: &str) -> Option<Self> {
        if let Some(path) = attr.strip_prefix("d:") {
            Some(Self::Folder(path.to_owned()))
        } else {
            attr.strip_prefix("f:").map(|id| Self::File(id.to_owned()))
        }
    }
}

impl Row {
    pub fn key(&self) -> RowKey {
        match self {
            Self::Folder(folder) => RowKey::Folder(folder.path.clone()),
            Self::File { file, .. } => RowKey::File(file.id.clone()),
        }
    }

    /// The files the row stands for: itself, or everything in the folder.
    pub fn file_ids(&self) -> Vec<&str> {
        match self {
            Self::Folder(folder) => folder.file_ids.iter().map(String::as_str).collect(),
            Self::File { file, .. } => vec![file.id.as_str()],
        }
    }
}

/// The segments of a file's folder (`None`, `""` and stray slashes mean the top level).
fn segments(folder: Option<&str>) -> Vec<&str> {
    folder
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Default)]
struct Node<'a> {
    /// Keyed by (lowercased name, name): folders sort as people expect, and two folders whose
    /// names differ only in case stay apart.
    folders: BTreeMap<(String, String), Node<'a>>,
    files: Vec<&'a File>,
}

impl<'a> Node<'a> {
    fn build(files: &'a [File]) -> Self {
        let mut root = Node::default();
        for file in files {
            let mut node = &mut root;
            for segment in segments(file.folder.as_deref()) {
                node = node
                    .folders
                    .entry((segment.to_lowercase(), segment.to_owned()))
                    .or_default();
            }
            node.files.push(file);
        }
        root
    }

    /// The files of a folder listed by name; the top level keeps the library's order (newest
    /// first), as it always has.
    fn sort_files(&mut self, by_name: bool) {
        if by_name {
            self.files.sort_by(|a, b| {
                (a.name.to_lowercase(), &a.name).cmp(&(b.name.to_lowercase(), &b.name))
            });
        }
        for child in self.folders.values_mut() {
            child.sort_files(true);
        }
    }

    /// Every file below, in row order: subfolders first, then its own files.
    fn all_files(&self, out: &mut Vec<&'a File>) {
        for child in self.folders.values() {
            child.all_files(out);
        }
        out.extend(self.files.iter().copied());
    }

    fn push_rows(&self, prefix: &str, depth: usize, open: &BTreeSet<String>, out: &mut Vec<Row>) {
        for ((_, name), child) in &self.folders {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let mut below = Vec::new();
            child.all_files(&mut below);
            let is_open = open.contains(&path);
            out.push(Row::Folder(FolderRow {
                path: path.clone(),
                name: name.clone(),
                depth,
                open: is_open,
                file_count: below.len(),
                total_size: below.iter().map(|f| f.size).sum(),
                file_ids: below.iter().map(|f| f.id.clone()).collect(),
            }));
            if is_open {
                child.push_rows(&path, depth + 1, open, out);
            }
        }
        out.extend(self.files.iter().map(|file| Row::File {
            file: Box::new((*file).clone()),
            depth,
        }));
    }
}

/// The rows to show: folders first at every level, then that level's files; the contents of
/// folders in `open` (by path) follow their folder's row.
pub fn rows(files: &[File], open: &BTreeSet<String>) -> Vec<Row> {
    let mut root = Node::build(files);
    root.sort_files(false);
    let mut out = Vec::new();
    root.push_rows("", 0, open, &mut out);
    out
}

/// Every folder path that has files below it (`Fotos`, `Fotos/2026`, …).
pub fn folder_paths(files: &[File]) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for file in files {
        let mut path = String::new();
        for segment in segments(file.folder.as_deref()) {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(segment);
            paths.insert(path.clone());
        }
    }
    paths
}

/// The files in folder `path` or below it, in library order.
pub fn files_under<'a>(files: &'a [File], path: &str) -> Vec<&'a File> {
    let wanted = segments(Some(path));
    files
        .iter()
        .filter(|f| segments(f.folder.as_deref()).starts_with(&wanted))
        .collect()
}

#[cfg(test)]
mod tests {
    use ferry_api::FileStatus;

    use super::*;

    fn file(id: &str, folder: Option<&str>, name: &str, size: u64) -> File {
        File {
            id: id.into(),
            name: name.into(),
            size,
            content_type: "application/octet-stream".into(),
            status: FileStatus::Ready,
            created_at: "2026-01-01T00:00:00Z".into(),
            thumbnail_url: None,
            sha256: None,
            folder: folder.map(Into::into),
            encrypted: None,
            request: None,
        }
    }

    fn library() -> Vec<File> {
        vec![
            file("new", None, "new.txt", 1),
            file("b", Some("Fotos/2026"), "b.jpg", 10),
            file("a", Some("Fotos/2026"), "A.jpg", 20),
            file("top", Some("Fotos"), "index.html", 5),
            file("d", Some("docs"), "z.pdf", 100),
            file("old", Some(""), "old.txt", 2),
        ]
    }

    fn shape(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|row| match row {
                Row::Folder(f) => format!(
                    "{}[{}] {}×{}B{}",
                    "  ".repeat(f.depth),
                    f.path,
                    f.file_count,
                    f.total_size,
                    if f.open { " open" } else { "" }
                ),
                Row::File { file, depth } => format!("{}{}", "  ".repeat(*depth), file.name),
            })
            .collect()
    }

    #[test]
    fn closed_folders_summarise_everything_below_them() {
        let rows = rows(&library(), &BTreeSet::new());
        assert_eq!(
            shape(&rows),
            ["[docs] 1×100B", "[Fotos] 3×35B", "new.txt", "old.txt"],
            "folders first (by name, whatever the case), then top-level files in library order"
        );
    }

    #[test]
    fn open_folders_show_subfolders_then_files_by_name() {
        let open: BTreeSet<String> = ["Fotos".to_owned(), "Fotos/2026".to_owned()].into();
        let rows = rows(&library(), &open);
        assert_eq!(
            shape(&rows),
            [
                "[docs] 1×100B",
                "[Fotos] 3×35B open",
                "  [Fotos/2026] 2×30B open",
                "    A.jpg",
                "    b.jpg",
                "  index.html",
                "new.txt",
                "old.txt",
            ]
        );
        let Row::Folder(fotos) = &rows[1] else {
            panic!("a folder row")
        };
        assert_eq!(fotos.file_ids, ["a", "b", "top"], "in row order");
    }

    #[test]
    fn an_open_subfolder_of_a_closed_folder_stays_hidden() {
        let open: BTreeSet<String> = ["Fotos/2026".to_owned()].into();
        assert_eq!(
            shape(&rows(&library(), &open)),
            ["[docs] 1×100B", "[Fotos] 3×35B", "new.txt", "old.txt"]
        );
    }

    #[test]
    fn folder_paths_list_every_level_and_stray_slashes_are_ignored() {
        let mut files = library();
        files.push(file("s", Some("/docs//old/"), "s.txt", 1));
        let paths: Vec<String> = folder_paths(&files).into_iter().collect();
        assert_eq!(paths, ["Fotos", "Fotos/2026", "docs", "docs/old"]);
        let open: BTreeSet<String> = ["docs".to_owned()].into();
        assert_eq!(
            shape(&rows(&files, &open))[..3],
            ["[docs] 2×101B open", "  [docs/old] 1×1B", "  z.pdf"]
        );
    }

    #[test]
    fn row_keys_round_trip_through_attributes() {
        for key in [
            RowKey::Folder("Fotos/Čížek ü".into()),
            RowKey::File("0192-ab".into()),
        ] {
            assert_eq!(RowKey::parse(&key.to_attr()), Some(key));
        }
        assert_eq!(RowKey::parse("x:1"), None);
    }

    #[test]
    fn files_under_a_folder_include_its_subfolders_only() {
        let files = library();
        let ids = |path: &str| -> Vec<String> {
            files_under(&files, path)
                .iter()
                .map(|f| f.id.clone())
                .collect()
        };
        assert_eq!(ids("Fotos"), ["b", "a", "top"]);
        assert_eq!(ids("Fotos/2026"), ["b", "a"]);
        assert_eq!(
            ids("Foto"),
            Vec::<String>::new(),
            "a prefix of a name is not a folder"
        );
        assert_eq!(ids("docs"), ["d"]);
    }
}
