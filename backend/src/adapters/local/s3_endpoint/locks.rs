//! The endpoint's locks, in memory: per key (conditional writes), per part (its bytes and its
//! ledger entry change together) and per upload ([`Assembly`]: the assembly file's gate, slots
//! and stride). Each map keeps only the entries a request still holds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;

/// Held while one part's bytes and ledger entry are written (or, per key, while a conditional
/// write checks and writes).
pub type PartLock = Arc<tokio::sync::Mutex<()>>;

/// What the endpoint keeps in memory about one multipart upload's assembly file (the ledger
/// keeps the rest).
#[derive(Debug, Default)]
pub struct Assembly {
    /// Held shared while a part is written (by the writing thread, which may outlive its
    /// request), alone by a completion that finishes the object in the file, so the file is
    /// never cut or moved under a write. Completion never waits for it: when a part is being
    /// written (or a connection hangs mid-part) it copies the parts out instead.
    pub gate: Arc<tokio::sync::RwLock<()>>,
    /// Slots being written now: another copy of the same part meanwhile goes elsewhere.
    pub writing: std::sync::Mutex<HashSet<i32>>,
    /// Serialises the stride's claim.
    pub stride: tokio::sync::Mutex<()>,
    /// Writers of the assembly file take turns (see [`super::part_files::Destination::Slot`]).
    pub turns: Arc<std::sync::Mutex<()>>,
}

/// A slot of the assembly file that one request is writing; let go when dropped.
pub struct SlotClaim {
    pub assembly: Arc<Assembly>,
    pub number: i32,
}

impl Drop for SlotClaim {
    fn drop(&mut self) {
        self.assembly
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.number);
    }
}

/// The locks of the requests in flight.
#[derive(Debug, Default)]
pub struct Locks {
    /// One lock per part being written, so the part's bytes and its ledger entry always describe
    /// the same upload of it even when a retry races the original.
    parts: std::sync::Mutex<HashMap<(Uuid, i32), PartLock>>,
    /// Uploads with a request in flight.
    assemblies: std::sync::Mutex<HashMap<Uuid, Arc<Assembly>>>,
    /// Held by a conditional write (`If-None-Match: *`) from its check until its object is in
    /// place, so two such writes of one key cannot both pass the check.
    keys: std::sync::Mutex<HashMap<String, PartLock>>,
}

impl Locks {
    /// The in-memory state of `upload_id`'s assembly.
    pub fn assembly(&self, upload_id: Uuid) -> Arc<Assembly> {
        Arc::clone(pruned(&self.assemblies).entry(upload_id).or_default())
    }

    pub fn key(&self, key: &str) -> PartLock {
        Arc::clone(pruned(&self.keys).entry(key.to_owned()).or_default())
    }

    pub fn part(&self, upload_id: Uuid, number: i32) -> PartLock {
        Arc::clone(pruned(&self.parts).entry((upload_id, number)).or_default())
    }

    /// The locks of parts 1..=`count`, in that order.
    pub fn parts(&self, upload_id: Uuid, count: usize) -> Vec<PartLock> {
        let mut locks = pruned(&self.parts);
        (1..=i32::try_from(count).unwrap_or(i32::MAX))
            .map(|number| Arc::clone(locks.entry((upload_id, number)).or_default()))
            .collect()
    }
}

/// A map of per-upload state shared by the requests in flight, locked, with the entries no
/// request holds any more dropped first: it stays as small as the uploads in flight.
fn pruned<K, V>(
    map: &std::sync::Mutex<HashMap<K, Arc<V>>>,
) -> std::sync::MutexGuard<'_, HashMap<K, Arc<V>>> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.retain(|_, entry| Arc::strong_count(entry) > 1);
    map
}
