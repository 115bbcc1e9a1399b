//! The files of one drop or pick of several files (or a folder), kept together so one link can
//! cover them all ("Share these 12 files") while they are still uploading: a link needs each
//! file's record, which an upload has from the moment the API accepted it.

use std::collections::{BTreeMap, BTreeSet};

use super::queue::{Phase, UploadId, UploadQueue};

#[derive(Default)]
pub struct Batch {
    members: Vec<UploadId>,
    /// The file record each member's upload created (the latest, after a retry). A map, not a
    /// list: a dropped folder may hold a thousand files.
    file_ids: BTreeMap<UploadId, String>,
    /// The one folder everything came in (`Fotos`), if it did.
    pub folder: Option<String>,
}

/// What a link of the batch would cover now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkFiles {
    /// Files with a record, in the order they were dropped.
    pub ids: Vec<String>,
    /// Uploads that will have a record once they start (queued, or asking the API).
    pub waiting: usize,
}

impl LinkFiles {
    pub fn len(&self) -> usize {
        self.ids.len() + self.waiting
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Batch {
    pub fn new(members: Vec<UploadId>, folder: Option<String>) -> Self {
        Self {
            members,
            file_ids: BTreeMap::new(),
            folder,
        }
    }

    /// Upload `id` created its file record.
    pub fn attach(&mut self, id: UploadId, file_id: String) {
        if self.members.contains(&id) {
            self.file_ids.insert(id, file_id);
        }
    }

    /// Upload `id`'s record was given up (cancelled, or failed and deleted).
    pub fn detach(&mut self, id: UploadId) {
        self.file_ids.remove(&id);
    }

    /// The files a link made now covers, and how many more it must wait for. Uploads given up
    /// (cancelled, failed, dismissed) before they had a record are left out.
    pub fn link_files(&self, queue: &UploadQueue) -> LinkFiles {
        let starting: BTreeSet<UploadId> = queue
            .iter()
            .filter(|u| matches!(u.phase, Phase::Queued | Phase::Preparing))
            .map(|u| u.id)
            .collect();
        let mut files = LinkFiles::default();
        for id in &self.members {
            if let Some(file_id) = self.file_ids.get(id) {
                files.ids.push(file_id.clone());
            } else if starting.contains(id) {
                files.waiting += 1;
            }
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::UploadError;

    #[test]
    fn a_link_waits_for_uploads_still_to_start_and_leaves_out_those_given_up() {
        let mut q = UploadQueue::new(2);
        let ids: Vec<UploadId> = (0..5).map(|i| q.add(format!("f{i}"), 10)).collect();
        let mut batch = Batch::new(ids.clone(), Some("Fotos".into()));
        let started = q.start_next(0);
        assert_eq!(
            batch.link_files(&q),
            LinkFiles {
                ids: vec![],
                waiting: 5
            }
        );

        batch.attach(ids[0], "r0".into());
        batch.attach(ids[1], "r1".into());
        batch.attach(99, "stranger".into());
        q.cancel(ids[4]);
        let files = batch.link_files(&q);
        assert_eq!(files.ids, ["r0", "r1"]);
        assert_eq!(
            files.waiting, 2,
            "two queued; the cancelled one is left out"
        );
        assert_eq!(files.len(), 4);

        // A failed upload whose record was deleted no longer counts; its retry's does.
        q.fail(started[1], UploadError::network());
        batch.detach(ids[1]);
        assert_eq!(batch.link_files(&q).ids, ["r0"]);
        q.retry(ids[1]);
        batch.attach(ids[1], "r1b".into());
        assert_eq!(batch.link_files(&q).ids, ["r0", "r1b"]);

        // Records stay after the rows leave the panel.
        q.sending(started[0], 1);
        q.finish(started[0], 2);
        q.dismiss(ids[0]);
        assert_eq!(batch.link_files(&q).ids, ["r0", "r1b"]);
        assert!(!batch.link_files(&q).is_empty());
    }
}
