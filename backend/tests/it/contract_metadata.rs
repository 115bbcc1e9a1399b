//! The [`MetadataStore`] contract: one suite, run against the embedded store and against the
//! DynamoDB adapter on moto and on AWS's DynamoDB Local (the real engine's conditional writes and
//! transactions). Each behaviour uses its own users, so they can share one store.

use std::sync::Arc;
use std::time::Duration;

use crate::support::aws::dynamodb_local::DynamoDbLocal;
use crate::support::aws::{Moto, unique_name};
use ferry::adapters::aws::{DynamoMetadataStore, create_table};
use ferry::adapters::local::store::LocalMetadataStore;
use ferry::domain::share::AttemptPolicy;
use ferry::domain::{ContentType, FileId, FileName, FileRecord, ShareRecord, ShareToken, UserId};
use ferry::ports::{
    AttemptReservation, DownloadCount, MetadataError, MetadataStore, Reservation, Transition, Usage,
};
use ferry_api::FileStatus;
use time::OffsetDateTime;

type Store = Arc<dyn MetadataStore>;

fn new_user() -> UserId {
    UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap()
}

fn pending_file(owner: &UserId, size: u64) -> FileRecord {
    let now = OffsetDateTime::now_utc();
    FileRecord {
        owner: owner.clone(),
        id: FileId::new(),
        name: FileName::parse("holiday photo.jpg").unwrap(),
        size,
        content_type: ContentType::parse("image/jpeg").unwrap(),
        status: FileStatus::Pending,
        created_at: now,
        upload_expires_at: now + Duration::from_secs(900),
        sha256: None,
        thumbnail_key: None,
        multipart_upload_id: None,
        part_size: None,
        folder: None,
        guest: None,
    }
}

fn share_of(file: &FileRecord, max_downloads: Option<u32>) -> ShareRecord {
    let now = OffsetDateTime::now_utc();
    ShareRecord {
        token: ShareToken::generate(),
        owner: file.owner.clone(),
        file_ids: vec![file.id],
        file_name: file.name.clone(),
        total_size: Some(file.size),
        created_at: now,
        expires_at: now + Duration::from_secs(3600),
        max_downloads,
        downloads: 0,
        password_hash: None,
        revoked: false,
        access: None,
        keep_when_empty: false,
    }
}

/// A ready file of `size` bytes, with quota to spare.
async fn ready_file(store: &Store, owner: &UserId, size: u64) -> FileRecord {
    let mut file = pending_file(owner, size);
    store
        .insert_pending_file(&file, u64::MAX / 2)
        .await
        .unwrap();
    assert_eq!(
        store.mark_ready(owner, &file.id, None).await.unwrap(),
        Transition::Applied
    );
    file.status = FileStatus::Ready;
    file
}

async fn quota_is_reserved_atomically(store: &Store) {
    let owner = new_user();
    let a = pending_file(&owner, 600);
    store.insert_pending_file(&a, 1000).await.unwrap();
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 600,
            file_count: 1
        }
    );

    let too_big = pending_file(&owner, 500);
    match store.insert_pending_file(&too_big, 1000).await {
        Err(MetadataError::QuotaExceeded {
            used: 600,
            quota: 1000,
        }) => {}
        other => panic!("expected QuotaExceeded(600 of 1000), got {other:?}"),
    }
    assert_eq!(
        store.file(&owner, &too_big.id).await.unwrap(),
        None,
        "nothing recorded"
    );

    let exact = pending_file(&owner, 400);
    store.insert_pending_file(&exact, 1000).await.unwrap();
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 1000,
            file_count: 2
        }
    );
    assert!(matches!(
        store
            .insert_pending_file(&pending_file(&owner, 1), 1000)
            .await,
        Err(MetadataError::QuotaExceeded {
            used: 1000,
            quota: 1000
        })
    ));
    assert!(matches!(
        store
            .insert_pending_file(&pending_file(&new_user(), 2000), 1000)
            .await,
        Err(MetadataError::QuotaExceeded {
            used: 0,
            quota: 1000
        })
    ));
    assert!(matches!(
        store.insert_pending_file(&a, 1_000_000).await,
        Err(MetadataError::AlreadyExists)
    ));
    assert_eq!(
        store.usage(&owner).await.unwrap().bytes_used,
        1000,
        "a refused insert reserves nothing"
    );

    // A failed upload gives its bytes back, once.
    assert_eq!(
        store.mark_failed(&owner, &exact.id).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 600,
            file_count: 1
        }
    );
    assert_eq!(
        store.mark_failed(&owner, &exact.id).await.unwrap(),
        Transition::Unchanged
    );
    assert_eq!(store.usage(&owner).await.unwrap().bytes_used, 600);
    assert_eq!(
        store.mark_failed(&owner, &FileId::new()).await.unwrap(),
        Transition::Missing
    );
    assert_eq!(
        store.file(&owner, &exact.id).await.unwrap().unwrap().status,
        FileStatus::Failed
    );
}

async fn concurrent_reservations_never_overshoot_the_quota(store: &Store) {
    let owner = new_user();
    let attempts = (0..10).map(|_| {
        let store = Arc::clone(store);
        let file = pending_file(&owner, 300);
        tokio::spawn(async move { store.insert_pending_file(&file, 1000).await })
    });
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(MetadataError::QuotaExceeded { .. }))))
        .count();
    assert_eq!((ok, refused), (3, 7), "{results:?}");
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 900,
            file_count: 3
        }
    );
}

async fn state_changes_are_conditional(store: &Store) {
    let owner = new_user();
    let file = pending_file(&owner, 42);
    store.insert_pending_file(&file, 1000).await.unwrap();
    assert_eq!(
        store.file(&owner, &file.id).await.unwrap().as_ref(),
        Some(&file)
    );

    let sha = "0f".repeat(32);
    assert_eq!(
        store
            .mark_ready(&owner, &file.id, Some(&sha))
            .await
            .unwrap(),
        Transition::Applied
    );
    // The duplicate event, and a late failure, change nothing.
    assert_eq!(
        store
            .mark_ready(&owner, &file.id, Some(&sha))
            .await
            .unwrap(),
        Transition::Unchanged
    );
    assert_eq!(
        store.mark_failed(&owner, &file.id).await.unwrap(),
        Transition::Unchanged
    );
    let stored = store.file(&owner, &file.id).await.unwrap().unwrap();
    assert_eq!(stored.status, FileStatus::Ready);
    assert_eq!(stored.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 42,
            file_count: 1
        }
    );

    let thumb = format!("thumbs/{owner}/{}.webp", file.id);
    assert_eq!(
        store.set_thumbnail(&owner, &file.id, &thumb).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.set_thumbnail(&owner, &file.id, &thumb).await.unwrap(),
        Transition::Unchanged
    );
    let stored = store.file(&owner, &file.id).await.unwrap().unwrap();
    assert_eq!(stored.thumbnail_key.as_deref(), Some(thumb.as_str()));

    let unknown = FileId::new();
    assert_eq!(
        store.mark_ready(&owner, &unknown, None).await.unwrap(),
        Transition::Missing
    );
    assert_eq!(
        store.set_thumbnail(&owner, &unknown, &thumb).await.unwrap(),
        Transition::Missing
    );
    assert_eq!(store.file(&owner, &unknown).await.unwrap(), None);
}

async fn files_are_listed_newest_first_across_pages(store: &Store) {
    let owner = new_user();
    let mut ids = Vec::new();
    for _ in 0..7 {
        let file = pending_file(&owner, 1);
        store.insert_pending_file(&file, 1000).await.unwrap();
        ids.push(file.id);
    }
    ids.reverse();

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store.list_files(&owner, 3, after.as_ref()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|f| f.id));
        match page.last {
            Some(last) => {
                assert_eq!(Some(&last), page.items.last().map(|f| &f.id));
                after = Some(last);
            }
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen, ids);
    assert_eq!(pages, 3);

    let whole = store.list_files(&owner, 7, None).await.unwrap();
    assert_eq!(whole.items.len(), 7);
    assert_eq!(whole.last, None, "no cursor when nothing follows");
    let tail = store.list_files(&owner, 10, Some(&ids[5])).await.unwrap();
    assert_eq!(
        tail.items.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![ids[6]]
    );
}

async fn downloads_are_counted_exactly_once_each(store: &Store) {
    let owner = new_user();
    let file = ready_file(store, &owner, 10).await;
    let share = share_of(&file, Some(5));
    store.insert_share(&share).await.unwrap();
    assert!(matches!(
        store.insert_share(&share).await,
        Err(MetadataError::AlreadyExists)
    ));

    let now = OffsetDateTime::now_utc();
    let attempts = (0..20).map(|_| {
        let (store, token) = (Arc::clone(store), share.token.clone());
        tokio::spawn(async move { store.count_download(&token, now).await })
    });
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let counted: Vec<u32> = results
        .iter()
        .filter_map(|r| match r {
            DownloadCount::Counted(s) => Some(s.downloads),
            _ => None,
        })
        .collect();
    assert_eq!(counted.len(), 5, "{results:?}");
    let mut counts = counted.clone();
    counts.sort_unstable();
    assert_eq!(counts, vec![1, 2, 3, 4, 5], "each count sees its own total");
    assert_eq!(
        results
            .iter()
            .filter(|r| **r == DownloadCount::Exhausted)
            .count(),
        15
    );
    assert_eq!(
        store.share(&share.token).await.unwrap().unwrap().downloads,
        5
    );

    let unlimited = share_of(&file, None);
    store.insert_share(&unlimited).await.unwrap();
    for expected in 1..=3 {
        match store.count_download(&unlimited.token, now).await.unwrap() {
            DownloadCount::Counted(s) => assert_eq!(s.downloads, expected),
            other => panic!("expected a count, got {other:?}"),
        }
    }
}

async fn expired_and_revoked_shares_are_refused(store: &Store) {
    let owner = new_user();
    let file = ready_file(store, &owner, 10).await;
    let share = share_of(&file, None);
    store.insert_share(&share).await.unwrap();
    assert_eq!(
        store.share(&share.token).await.unwrap().as_ref(),
        Some(&share)
    );

    let later = share.expires_at + Duration::from_secs(1);
    assert_eq!(
        store.count_download(&share.token, later).await.unwrap(),
        DownloadCount::Expired
    );
    assert_eq!(
        store
            .count_download(&share.token, share.expires_at)
            .await
            .unwrap(),
        DownloadCount::Expired,
        "a link is dead at its expiry instant"
    );

    let stranger = new_user();
    assert_eq!(
        store.revoke_share(&stranger, &share.token).await.unwrap(),
        Transition::Missing
    );
    assert_eq!(
        store.revoke_share(&owner, &share.token).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.revoke_share(&owner, &share.token).await.unwrap(),
        Transition::Unchanged
    );
    assert!(store.share(&share.token).await.unwrap().unwrap().revoked);
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        store.count_download(&share.token, now).await.unwrap(),
        DownloadCount::Revoked
    );

    let unknown = ShareToken::generate();
    assert_eq!(
        store.count_download(&unknown, now).await.unwrap(),
        DownloadCount::NotFound
    );
    assert_eq!(
        store.revoke_share(&owner, &unknown).await.unwrap(),
        Transition::Missing
    );
    assert_eq!(store.share(&unknown).await.unwrap(), None);
}

async fn shares_are_listed_newest_first(store: &Store) {
    let owner = new_user();
    let file = ready_file(store, &owner, 10).await;
    let mut tokens = Vec::new();
    for i in 0..3u64 {
        let mut share = share_of(&file, Some(2));
        share.created_at -= Duration::from_secs(100 - i);
        store.insert_share(&share).await.unwrap();
        tokens.push(share.token);
    }
    tokens.reverse();
    let listed = store.list_shares(&owner).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.token.clone()).collect::<Vec<_>>(),
        tokens
    );
}

async fn deleting_a_file_removes_its_shares_and_releases_usage(store: &Store) {
    let owner = new_user();
    let doomed = ready_file(store, &owner, 100).await;
    let kept = ready_file(store, &owner, 7).await;
    let doomed_shares = [share_of(&doomed, None), share_of(&doomed, Some(3))];
    for share in &doomed_shares {
        store.insert_share(share).await.unwrap();
    }
    let kept_share = share_of(&kept, None);
    store.insert_share(&kept_share).await.unwrap();
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 107,
            file_count: 2
        }
    );

    let removed = store.delete_file(&owner, &doomed.id).await.unwrap();
    assert_eq!(removed.map(|f| f.id), Some(doomed.id));
    assert_eq!(store.file(&owner, &doomed.id).await.unwrap(), None);
    for share in &doomed_shares {
        assert_eq!(store.share(&share.token).await.unwrap(), None);
    }
    assert!(store.share(&kept_share.token).await.unwrap().is_some());
    let listed = store.list_shares(&owner).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.token.clone()).collect::<Vec<_>>(),
        vec![kept_share.token]
    );
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 7,
            file_count: 1
        }
    );
    assert_eq!(store.delete_file(&owner, &doomed.id).await.unwrap(), None);
    assert_eq!(
        store.usage(&owner).await.unwrap().bytes_used,
        7,
        "deleting twice releases once"
    );

    // A failed upload already gave its bytes back; deleting it gives nothing more.
    let failed = pending_file(&owner, 50);
    store.insert_pending_file(&failed, 1000).await.unwrap();
    store.mark_failed(&owner, &failed.id).await.unwrap();
    store.delete_file(&owner, &failed.id).await.unwrap();
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 7,
            file_count: 1
        }
    );
}

async fn other_owners_see_nothing(store: &Store) {
    let owner = new_user();
    let file = ready_file(store, &owner, 10).await;
    let share = share_of(&file, None);
    store.insert_share(&share).await.unwrap();

    let stranger = new_user();
    assert_eq!(store.file(&stranger, &file.id).await.unwrap(), None);
    assert!(
        store
            .list_files(&stranger, 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(store.list_shares(&stranger).await.unwrap().is_empty());
    assert_eq!(store.usage(&stranger).await.unwrap(), Usage::default());
    assert_eq!(
        store.mark_ready(&stranger, &file.id, None).await.unwrap(),
        Transition::Missing
    );
    assert_eq!(store.delete_file(&stranger, &file.id).await.unwrap(), None);
    assert!(
        store.file(&owner, &file.id).await.unwrap().is_some(),
        "the owner's file is untouched"
    );
    assert!(store.share(&share.token).await.unwrap().is_some());
}

async fn stale_pending_files_are_found(store: &Store) {
    let owner = new_user();
    let mut stale = pending_file(&owner, 5);
    stale.upload_expires_at = OffsetDateTime::now_utc() - Duration::from_secs(60);
    store.insert_pending_file(&stale, 1000).await.unwrap();
    let fresh = pending_file(&owner, 5);
    store.insert_pending_file(&fresh, 1000).await.unwrap();
    let mut done = pending_file(&owner, 5);
    done.upload_expires_at = stale.upload_expires_at;
    store.insert_pending_file(&done, 1000).await.unwrap();
    store.mark_ready(&owner, &done.id, None).await.unwrap();

    let found = store
        .stale_pending_files(OffsetDateTime::now_utc(), 1000)
        .await
        .unwrap();
    let mine: Vec<_> = found
        .iter()
        .filter(|f| f.owner == owner)
        .map(|f| f.id)
        .collect();
    assert_eq!(mine, vec![stale.id]);
    assert!(found.iter().all(|f| f.status == FileStatus::Pending));
    let one = store
        .stale_pending_files(OffsetDateTime::now_utc(), 1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1, "the limit is respected");
}

async fn multipart_uploads_keep_their_id_and_checksum(store: &Store) {
    let owner = new_user();
    let file = FileRecord {
        multipart_upload_id: Some("2~upload-id.with/odd=chars".to_owned()),
        part_size: Some(8 << 20),
        ..pending_file(&owner, 20 << 20)
    };
    store.insert_pending_file(&file, 1 << 30).await.unwrap();
    assert_eq!(
        store.file(&owner, &file.id).await.unwrap(),
        Some(file.clone())
    );

    // Completion records the composite checksum while the file is still pending …
    let composite = format!("{}-3", "A".repeat(43) + "=");
    assert_eq!(
        store
            .set_sha256(&owner, &file.id, &composite)
            .await
            .unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store
            .set_sha256(&owner, &file.id, &composite)
            .await
            .unwrap(),
        Transition::Unchanged
    );
    // … and the object-created event that follows keeps it.
    assert_eq!(
        store
            .mark_ready(&owner, &file.id, Some(&composite))
            .await
            .unwrap(),
        Transition::Applied
    );
    let stored = store.file(&owner, &file.id).await.unwrap().unwrap();
    assert_eq!(stored.status, FileStatus::Ready);
    assert_eq!(stored.sha256.as_deref(), Some(composite.as_str()));
    assert_eq!(stored.multipart_upload_id, file.multipart_upload_id);
    assert_eq!(stored.part_size, Some(8 << 20));
    assert_eq!(
        store
            .set_sha256(&owner, &FileId::new(), &composite)
            .await
            .unwrap(),
        Transition::Missing
    );
}

/// Every behaviour of the contract, in turn.
async fn metadata_contract(store: Store) {
    macro_rules! run {
        ($($behaviour:ident),* $(,)?) => {$(
            eprintln!("contract: {}", stringify!($behaviour));
            $behaviour(&store).await;
        )*};
    }
    run!(
        quota_is_reserved_atomically,
        concurrent_reservations_never_overshoot_the_quota,
        state_changes_are_conditional,
        files_are_listed_newest_first_across_pages,
        downloads_are_counted_exactly_once_each,
        expired_and_revoked_shares_are_refused,
        shares_are_listed_newest_first,
        deleting_a_file_removes_its_shares_and_releases_usage,
        other_owners_see_nothing,
        stale_pending_files_are_found,
        multipart_uploads_keep_their_id_and_checksum,
        pending_uploads_are_capped_even_when_announced_at_once,
        the_stale_index_follows_every_way_out_of_pending,
        password_attempts_are_reserved_atomically,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_store_meets_the_metadata_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalMetadataStore::open(&dir.path().join("meta.redb")).unwrap();
    metadata_contract(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_meets_the_metadata_contract_on_moto() {
    let Some(moto) = Moto::start("dynamodb_store_meets_the_metadata_contract_on_moto").await else {
        return;
    };
    dynamodb_contract(moto.dynamodb().await).await;
}

/// Creates a table (and checks that creating it again leaves it alone), then runs the contract
/// against the DynamoDB adapter on it.
async fn dynamodb_contract(client: aws_sdk_dynamodb::Client) {
    let table = unique_name("ferry");
    assert!(
        create_table(&client, &table).await.unwrap(),
        "a new table is created"
    );
    assert!(
        !create_table(&client, &table).await.unwrap(),
        "an existing one is left alone"
    );
    metadata_contract(Arc::new(DynamoMetadataStore::new(client, table))).await;
}

/// Announces `file` under a cap of `max_pending` unfinished uploads (and a roomy quota).
async fn reserve(store: &Store, file: &FileRecord, max_pending: u64) -> Result<(), MetadataError> {
    let bounds = Reservation {
        quota: 1 << 40,
        max_pending,
    };
    store.reserve_pending_file(file, bounds).await
}

async fn pending_uploads_are_capped_even_when_announced_at_once(store: &Store) {
    const CAP: u64 = 3;
    let owner = new_user();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, file) = (Arc::clone(store), pending_file(&owner, 1));
            tokio::spawn(async move {
                let outcome = reserve(&store, &file, CAP).await;
                (file, outcome)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (file, Ok(())) => accepted.push(file),
            (_, Err(MetadataError::TooManyPending { max: CAP })) => {}
            (_, Err(other)) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted.len(), CAP as usize, "exactly the cap is accepted");
    // Refused announcements reserved nothing.
    assert_eq!(store.usage(&owner).await.unwrap().file_count, CAP);
    let another = pending_file(&owner, 1);
    assert!(matches!(
        reserve(store, &another, CAP).await,
        Err(MetadataError::TooManyPending { max: CAP })
    ));

    // Every way out of `pending` frees a place: ready, failed, deleted.
    let [ready, failed, deleted] = [&accepted[0], &accepted[1], &accepted[2]];
    store.mark_ready(&owner, &ready.id, None).await.unwrap();
    reserve(store, &pending_file(&owner, 1), CAP).await.unwrap();
    store.mark_failed(&owner, &failed.id).await.unwrap();
    reserve(store, &pending_file(&owner, 1), CAP).await.unwrap();
    store.delete_file(&owner, &deleted.id).await.unwrap();
    reserve(store, &pending_file(&owner, 1), CAP).await.unwrap();
    assert!(matches!(
        reserve(store, &another, CAP).await,
        Err(MetadataError::TooManyPending { max: CAP })
    ));
    // Deleting a file that is no longer pending frees nothing more.
    store.delete_file(&owner, &ready.id).await.unwrap();
    assert!(matches!(
        reserve(store, &another, CAP).await,
        Err(MetadataError::TooManyPending { max: CAP })
    ));
    // The cap is per user.
    reserve(store, &pending_file(&new_user(), 1), CAP)
        .await
        .unwrap();
}

async fn the_stale_index_follows_every_way_out_of_pending(store: &Store) {
    let owner = new_user();
    let expired = OffsetDateTime::now_utc() - Duration::from_secs(60);
    let mut stale = Vec::new();
    for _ in 0..5 {
        let mut file = pending_file(&owner, 5);
        file.upload_expires_at = expired;
        store.insert_pending_file(&file, 1 << 30).await.unwrap();
        stale.push(file);
    }
    let stale_ids = async || {
        let mut ids: Vec<FileId> = store
            .stale_pending_files(OffsetDateTime::now_utc(), 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|f| f.owner == owner)
            .map(|f| f.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(stale_ids().await.len(), 5);

    store.mark_ready(&owner, &stale[0].id, None).await.unwrap();
    store.mark_failed(&owner, &stale[1].id).await.unwrap();
    store.delete_file(&owner, &stale[2].id).await.unwrap();
    let mut left = vec![stale[3].id, stale[4].id];
    left.sort();
    assert_eq!(stale_ids().await, left);

    // A repeated transition changes nothing, in the index either.
    store.mark_ready(&owner, &stale[0].id, None).await.unwrap();
    store.mark_failed(&owner, &stale[0].id).await.unwrap();
    assert_eq!(stale_ids().await, left);

    store.delete_file(&owner, &stale[3].id).await.unwrap();
    store.mark_ready(&owner, &stale[4].id, None).await.unwrap();
    assert!(stale_ids().await.is_empty());
}

async fn password_attempts_are_reserved_atomically(store: &Store) {
    let policy = AttemptPolicy {
        max: 5,
        window: Duration::from_secs(300),
    };
    let owner = new_user();
    let file = ready_file(store, &owner, 10).await;
    let share = ShareRecord {
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        ..share_of(&file, Some(3))
    };
    store.insert_share(&share).await.unwrap();
    let token = share.token.clone();
    let reserve = |at: OffsetDateTime| {
        let (store, token) = (Arc::clone(store), token.clone());
        async move {
            store
                .reserve_password_attempt(&token, at, policy)
                .await
                .unwrap()
        }
    };

    // Concurrent guesses: exactly `max` get through, all in one window.
    let now = OffsetDateTime::now_utc();
    let results = futures::future::join_all((0..24).map(|_| tokio::spawn(reserve(now)))).await;
    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    let granted = AttemptReservation::Granted { window: now };
    let refused = AttemptReservation::Refused {
        retry_at: now + Duration::from_secs(300),
    };
    assert_eq!(
        results.iter().filter(|r| **r == granted).count(),
        5,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|r| **r == refused).count(),
        19,
        "{results:?}"
    );
    assert_eq!(
        store.share(&token).await.unwrap().as_ref(),
        Some(&share),
        "the share itself is unchanged"
    );

    // A refund gives one attempt back, in its own window only.
    let soon = now + Duration::from_secs(10);
    store.refund_password_attempt(&token, now).await.unwrap();
    assert_eq!(reserve(soon).await, granted);
    assert_eq!(reserve(soon).await, refused);
    store
        .refund_password_attempt(&token, now - Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(reserve(soon).await, refused, "a refund of another window");

    // When the window closes, the next attempt opens a new one; old refunds do not reach it.
    let later = now + Duration::from_secs(300);
    let next = AttemptReservation::Granted { window: later };
    assert_eq!(reserve(later).await, next);
    store.refund_password_attempt(&token, now).await.unwrap();
    for _ in 0..4 {
        assert_eq!(reserve(later).await, next);
    }
    assert_eq!(
        reserve(later).await,
        AttemptReservation::Refused {
            retry_at: later + Duration::from_secs(300)
        }
    );

    // Each link counts alone; unknown links are not found, and a refund creates nothing.
    let other = share_of(&file, None);
    store.insert_share(&other).await.unwrap();
    assert_eq!(
        store
            .reserve_password_attempt(&other.token, soon, policy)
            .await
            .unwrap(),
        AttemptReservation::Granted { window: soon }
    );
    let unknown = ShareToken::generate();
    assert_eq!(
        store
            .reserve_password_attempt(&unknown, now, policy)
            .await
            .unwrap(),
        AttemptReservation::NotFound
    );
    store.refund_password_attempt(&unknown, now).await.unwrap();
    assert_eq!(store.share(&unknown).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_meets_the_metadata_contract_on_dynamodb_local() {
    let Some(local) =
        DynamoDbLocal::start("dynamodb_store_meets_the_metadata_contract_on_dynamodb_local").await
    else {
        return;
    };
    dynamodb_contract(local.dynamodb().await).await;
}

/// The marker that an expired upload's quota was given back lives seven days from the store's
/// clock (not the system's), and makes a redelivered stream record release nothing.
#[tokio::test]
async fn release_markers_expire_by_the_stores_clock_on_dynamodb_local() {
    use aws_sdk_dynamodb::types::AttributeValue;

    let Some(local) =
        DynamoDbLocal::start("release_markers_expire_by_the_stores_clock_on_dynamodb_local").await
    else {
        return;
    };
    let client = local.dynamodb().await;
    let table = unique_name("ferry");
    create_table(&client, &table).await.unwrap();
    // A month ahead of the system's clock: a marker whose time has passed may be removed at
    // once (DynamoDB Local applies TTL).
    let then = OffsetDateTime::now_utc() + Duration::from_secs(30 * 86_400);
    let clock = Arc::new(ferry::ports::ManualClock::new(then));
    let store = DynamoMetadataStore::new(client.clone(), table.clone()).with_clock(clock.clone());
    let owner = new_user();
    let file = pending_file(&owner, 5);
    store.insert_pending_file(&file, 100).await.unwrap();

    assert!(store.release_expired_upload(&file).await.unwrap());
    assert_eq!(store.usage(&owner).await.unwrap().bytes_used, 0);
    let marker = client
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S(format!("USER#{owner}")))
        .key("SK", AttributeValue::S(format!("RELEASED#{}", file.id)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the marker is stored");
    let week = Duration::from_secs(7 * 86_400);
    assert_eq!(
        marker.get("ttl"),
        Some(&AttributeValue::N(
            (then + week).unix_timestamp().to_string()
        ))
    );

    clock.advance(Duration::from_secs(3600));
    assert!(
        !store.release_expired_upload(&file).await.unwrap(),
        "released once"
    );
    assert_eq!(store.usage(&owner).await.unwrap().bytes_used, 0);
}

// ---- links of many files -------------------------------------------------------------------

mod transfers;

// ---- file requests -------------------------------------------------------------------------

mod requests;
