//! Carrying on an upload that was cut off: what object storage holds, checked against what
//! this browser remembers, decides which parts count as stored.

use ferry_api::{CompletedPart, UploadedPart};

use super::{PartScheduler, State};

impl PartScheduler {
    /// Takes in what object storage already holds (`GET /parts`) and, from an earlier session
    /// in this browser, the checksums of the parts sent then. A part counts as stored when its
    /// size is right and its checksum is known and agrees; everything else is sent (again).
    /// Returns how many parts are stored.
    pub fn reconcile(&mut self, stored: &[UploadedPart], known: &[CompletedPart]) -> u32 {
        let plan = self.plan;
        for (i, part) in self.parts.iter_mut().enumerate() {
            let number = i as u32 + 1;
            let held = stored.iter().find(|p| p.number == number);
            let local = known.iter().find(|p| p.number == number).map(|p| &p.sha256);
            let sha = match (held.and_then(|p| p.sha256.clone()), local, &part.sha256) {
                (Some(server), Some(mine), _) if &server != mine => None,
                (Some(server), _, _) => Some(server),
                (None, Some(mine), _) => Some(mine.clone()),
                (None, None, mine) => mine.clone(),
            };
            match (held, sha) {
                (Some(held), Some(sha)) if plan.part_len(number) == Some(held.size) => {
                    part.sha256 = Some(sha);
                    part.state = State::Done {
                        etag: held.etag.clone(),
                    };
                }
                _ => {
                    if matches!(part.state, State::Done { .. }) || held.is_some() {
                        part.sha256 = None;
                        part.state = State::Todo;
                    }
                }
            }
        }
        self.completing = false;
        self.done_parts()
    }
}
