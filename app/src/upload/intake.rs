//! Files coming in: each with the path it had in a dropped or picked folder, operating-system
//! clutter left out, the rest queued in its folder; and the batch a drop of several files
//! makes, so one link can cover them.

use ferry_api::paths::{is_os_clutter, split_relative_path};
use leptos::prelude::*;

use super::batch::{Batch, LinkFiles};
use super::encryption::stored_size;
use super::queue::UploadId;
use super::runner::Uploader;
use super::session::identity_of;

/// A dropped, picked or pasted file.
pub struct Incoming {
    pub file: web_sys::File,
    /// Its path inside a dropped or picked folder (`Fotos/2026/img 1.jpg`); empty for a file
    /// on its own.
    pub path: String,
}

/// What becomes of one incoming file.
#[derive(Debug, PartialEq, Eq)]
pub enum Intake {
    /// `.DS_Store` and the like: nobody means to share them.
    Clutter,
    /// Uploaded under `name`, in `folder` (`None`: on its own).
    Upload {
        folder: Option<String>,
        name: String,
    },
}

/// Sorts one incoming file out by its folder path (empty for a file on its own) and name.
pub fn classify(path: &str, name: &str) -> Intake {
    let (folder, name) = split_relative_path(path).unwrap_or((None, name.to_owned()));
    if is_os_clutter(&name) {
        Intake::Clutter
    } else {
        Intake::Upload { folder, name }
    }
}

/// The top-level folder every file came in, if they all came in the same one.
pub fn common_folder<'a>(folders: impl IntoIterator<Item = Option<&'a str>>) -> Option<String> {
    let mut common: Option<&str> = None;
    for folder in folders {
        let top = folder?.split('/').next()?;
        match common {
            None => common = Some(top),
            Some(seen) if seen == top => {}
            Some(_) => return None,
        }
    }
    common.map(str::to_owned)
}

impl Uploader {
    /// Queues every file that is not clutter. Several files, or any from a folder, become the
    /// batch that "Share these N files" covers.
    pub fn add(&self, files: Vec<Incoming>) {
        let mut added: Vec<(UploadId, Option<String>)> = Vec::new();
        let mut skipped = 0;
        let mut taken = Vec::new();
        for Incoming { file, path } in files {
            match classify(&path, &file.name()) {
                Intake::Upload { folder, name } => taken.push((file, folder, name)),
                Intake::Clutter => skipped += 1,
            }
        }
        // Encrypted: one transfer key for the whole drop, so one link carries it.
        let key = (self.encrypt.get_untracked() && !taken.is_empty()).then(|| {
            let identities: Vec<_> = taken
                .iter()
                .map(|(file, folder, _)| identity_of(file, folder.clone()))
                .collect();
            self.drop_key(&identities)
        });
        for (file, folder, name) in taken {
            let size = stored_size(file.size() as u64, key.is_some());
            let queued = folder.clone();
            if let Some(id) = self.queue.try_update(|q| q.add_in(queued, name, size)) {
                self.sources.update_value(|s| {
                    s.insert(id, file);
                });
                if let Some(key) = &key {
                    self.keys.update_value(|k| k.insert(id, key.clone()));
                }
                added.push((id, folder));
            }
        }
        self.skipped.set(skipped);
        if added.len() > 1 || added.iter().any(|(_, folder)| folder.is_some()) {
            let folder = common_folder(added.iter().map(|(_, f)| f.as_deref()));
            let members = added.into_iter().map(|(id, _)| id).collect();
            self.batch.set(Some(Batch::new(members, folder)));
        }
        self.pump();
    }

    /// Upload `id` created the file record `file_id`.
    pub(super) fn attach_record(&self, id: UploadId, file_id: String) {
        self.batch_attach(id, file_id.clone());
        self.records.update(|r| {
            r.insert(id, file_id);
        });
    }

    pub(super) fn batch_attach(&self, id: UploadId, file_id: String) {
        self.batch.update(|b| {
            if let Some(b) = b {
                b.attach(id, file_id);
            }
        });
    }

    pub(super) fn batch_detach(&self, id: UploadId) {
        self.batch.update(|b| {
            if let Some(b) = b {
                b.detach(id);
            }
        });
    }

    /// What a link of the last batch would cover now (tracked: it changes as uploads start).
    pub fn batch_files(&self) -> LinkFiles {
        self.batch.with(|b| {
            b.as_ref()
                .map(|b| self.queue.with(|q| b.link_files(q)))
                .unwrap_or_default()
        })
    }

    /// Puts the "Share these N files" step away.
    pub fn forget_batch(&self) {
        self.batch.set(None);
        self.skipped.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(folder: Option<&str>, name: &str) -> Intake {
        Intake::Upload {
            folder: folder.map(Into::into),
            name: name.into(),
        }
    }

    #[test]
    fn folder_files_keep_their_path_and_clutter_is_left_out() {
        assert_eq!(
            classify("Fotos/2026/Čížek ü.jpg", "Čížek ü.jpg"),
            upload(Some("Fotos/2026"), "Čížek ü.jpg")
        );
        assert_eq!(classify("", "notes.txt"), upload(None, "notes.txt"));
        assert_eq!(classify("Fotos/.DS_Store", ".DS_Store"), Intake::Clutter);
        assert_eq!(classify("", "Thumbs.db"), Intake::Clutter);
        assert_eq!(classify("a/._x.jpg", "._x.jpg"), Intake::Clutter);
        // The path is what the browser says; refusing bad paths is the server's word.
        assert_eq!(
            classify("a/../b.txt", "b.txt"),
            upload(Some("a/.."), "b.txt")
        );
    }

    #[test]
    fn a_batch_names_its_folder_only_when_everything_came_in_one() {
        assert_eq!(
            common_folder([Some("Fotos/2026"), Some("Fotos")]),
            Some("Fotos".into())
        );
        assert_eq!(common_folder([Some("Fotos"), None]), None);
        assert_eq!(common_folder([Some("Fotos"), Some("Docs")]), None);
        assert_eq!(common_folder([None, None]), None);
        assert_eq!(common_folder([]), None);
    }
}
