//! Which files are selected in the files list: rows ticked one by one, ranges from the last
//! row ticked (shift-click, Shift+arrows), folders standing for every file below them, select
//! all and clear. Pure, so the range rules are tested without a browser.

use std::collections::BTreeSet;

use crate::file_tree::{Row, RowKey};

/// How a folder's checkbox looks: none, some or all of its files selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Off,
    Mixed,
    On,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    ids: BTreeSet<String>,
    /// The row a range starts from: the last one ticked or unticked on its own.
    anchor: Option<RowKey>,
}

impl Selection {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// The selected file ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.ids.iter().cloned().collect()
    }

    fn set<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>, on: bool) {
        for id in ids {
            if on {
                self.ids.insert(id.to_owned());
            } else {
                self.ids.remove(id);
            }
        }
    }

    /// One row ticked (`on`) or unticked on its own; it becomes the anchor of the next range.
    pub fn toggle(&mut self, row: &Row, on: bool) {
        self.set(row.file_ids(), on);
        self.anchor = Some(row.key());
    }

    /// Every row from the anchor to `to` (both included, either direction) takes `on`. With
    /// no anchor in sight (none yet, or its folder closed since) only `to` does, and becomes
    /// the anchor. The anchor stays, so a range can be stretched or shrunk.
    pub fn extend(&mut self, rows: &[Row], to: &RowKey, on: bool) {
        let Some(end) = rows.iter().position(|r| &r.key() == to) else {
            return;
        };
        let start = self
            .anchor
            .as_ref()
            .and_then(|anchor| rows.iter().position(|r| &r.key() == anchor));
        let Some(start) = start else {
            return self.toggle(&rows[end], on);
        };
        let (from, until) = (start.min(end), start.max(end));
        for row in &rows[from..=until] {
            self.set(row.file_ids(), on);
        }
    }

    /// Everything in `ids` (every file the page knows).
    pub fn select_all<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        self.set(ids, true);
    }

    pub fn clear(&mut self) {
        self.ids.clear();
        self.anchor = None;
    }

    /// Forgets files no longer listed (deleted here or elsewhere).
    pub fn retain<'a>(&mut self, known: impl IntoIterator<Item = &'a str>) {
        let known: BTreeSet<&str> = known.into_iter().collect();
        self.ids.retain(|id| known.contains(id.as_str()));
    }

    /// Whether none, some or all of `ids` are selected (an empty folder reads as off).
    pub fn check_of<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Check {
        let (mut on, mut total) = (0usize, 0usize);
        for id in ids {
            total += 1;
            on += usize::from(self.ids.contains(id));
        }
        match on {
            0 => Check::Off,
            n if n == total => Check::On,
            _ => Check::Mixed,
        }
    }
}

#[cfg(test)]
mod tests {
    use ferry_api::{File, FileStatus};

    use super::*;
    use crate::file_tree::FolderRow;

    fn file_row(id: &str) -> Row {
        Row::File {
            file: Box::new(File {
                id: id.into(),
                name: format!("{id}.txt"),
                size: 1,
                content_type: "text/plain".into(),
                status: FileStatus::Ready,
                created_at: "2026-01-01T00:00:00Z".into(),
                thumbnail_url: None,
                sha256: None,
                folder: None,
                encrypted: None,
                request: None,
            }),
            depth: 0,
        }
    }

    fn folder_row(path: &str, ids: &[&str]) -> Row {
        Row::Folder(FolderRow {
            path: path.into(),
            name: path.into(),
            depth: 0,
            open: false,
            file_count: ids.len(),
            total_size: ids.len() as u64,
            file_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    fn rows() -> Vec<Row> {
        vec![
            folder_row("Fotos", &["f1", "f2"]),
            file_row("a"),
            file_row("b"),
            file_row("c"),
            file_row("d"),
        ]
    }

    fn key(id: &str) -> RowKey {
        RowKey::File(id.into())
    }

    #[test]
    fn a_range_runs_from_the_anchor_in_either_direction() {
        let rows = rows();
        let mut s = Selection::default();
        s.toggle(&rows[3], true); // c
        s.extend(&rows, &key("a"), true);
        assert_eq!(s.ids(), ["a", "b", "c"]);
        s.extend(&rows, &key("d"), true);
        assert_eq!(s.ids(), ["a", "b", "c", "d"], "the anchor stays on c");
    }

    #[test]
    fn a_range_over_a_folder_takes_every_file_in_it() {
        let rows = rows();
        let mut s = Selection::default();
        s.toggle(&rows[2], true); // b
        s.extend(&rows, &RowKey::Folder("Fotos".into()), true);
        assert_eq!(s.ids(), ["a", "b", "f1", "f2"]);
        assert_eq!(s.check_of(["f1", "f2"]), Check::On);
    }

    #[test]
    fn shift_unticking_clears_the_range() {
        let rows = rows();
        let mut s = Selection::default();
        s.select_all(["a", "b", "c", "d", "f1", "f2"]);
        s.toggle(&rows[1], false); // a
        s.extend(&rows, &key("c"), false);
        assert_eq!(s.ids(), ["d", "f1", "f2"]);
    }

    #[test]
    fn without_an_anchor_a_range_is_just_the_row() {
        let rows = rows();
        let mut s = Selection::default();
        s.extend(&rows, &key("b"), true);
        assert_eq!(s.ids(), ["b"]);
        s.extend(&rows, &key("d"), true);
        assert_eq!(s.ids(), ["b", "c", "d"], "b became the anchor");

        // An anchor no longer shown (its folder closed) counts as none.
        let mut s = Selection::default();
        s.toggle(&file_row("hidden"), true);
        s.extend(&rows, &key("c"), true);
        assert_eq!(s.ids(), ["c", "hidden"]);
        s.extend(&rows, &key("nowhere"), true);
        assert_eq!(s.len(), 2, "an unknown row changes nothing");
    }

    #[test]
    fn folders_read_off_mixed_or_on() {
        let mut s = Selection::default();
        assert_eq!(s.check_of(["f1", "f2"]), Check::Off);
        s.toggle(&file_row("f1"), true);
        assert_eq!(s.check_of(["f1", "f2"]), Check::Mixed);
        assert_eq!(s.check_of([]), Check::Off);
        s.toggle(&folder_row("Fotos", &["f1", "f2"]), true);
        assert_eq!(s.check_of(["f1", "f2"]), Check::On);
        s.toggle(&folder_row("Fotos", &["f1", "f2"]), false);
        assert!(s.is_empty());
    }

    #[test]
    fn deleted_files_leave_the_selection_and_clear_forgets_everything() {
        let mut s = Selection::default();
        s.select_all(["a", "b", "c"]);
        s.retain(["a", "c", "z"]);
        assert_eq!(s.ids(), ["a", "c"]);
        assert!(s.contains("a") && !s.contains("b"));
        s.clear();
        assert!(s.is_empty());
        s.extend(&rows(), &key("d"), true);
        assert_eq!(s.ids(), ["d"], "clear forgot the anchor too");
    }
}
