//! The file behaviours of the metadata contract: atomic quota reservations (also under
//! concurrency), conditional state changes, listing, stale and multipart uploads, and the cap on
//! unfinished uploads with the index that follows them out of `pending`.

use super::*;

pub(super) async fn quota_is_reserved_atomically(store: &Store) {
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

pub(super) async fn concurrent_reservations_never_overshoot_the_quota(store: &Store) {
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

pub(super) async fn state_changes_are_conditional(store: &Store) {
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

pub(super) async fn files_are_listed_newest_first_across_pages(store: &Store) {
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

pub(super) async fn stale_pending_files_are_found(store: &Store) {
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

pub(super) async fn multipart_uploads_keep_their_id_and_checksum(store: &Store) {
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

/// Announces `file` under a cap of `max_pending` unfinished uploads (and a roomy quota).
pub(super) async fn reserve(
    store: &Store,
    file: &FileRecord,
    max_pending: u64,
) -> Result<(), MetadataError> {
    let bounds = Reservation {
        quota: 1 << 40,
        max_pending,
    };
    store.reserve_pending_file(file, bounds).await
}

pub(super) async fn pending_uploads_are_capped_even_when_announced_at_once(store: &Store) {
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

pub(super) async fn the_stale_index_follows_every_way_out_of_pending(store: &Store) {
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
