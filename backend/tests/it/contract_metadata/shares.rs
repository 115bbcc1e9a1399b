//! The share behaviours of the metadata contract: downloads counted exactly once, expired and
//! revoked links, listing, deletes that take links along, other owners, and password attempts.

use super::*;

pub(super) async fn downloads_are_counted_exactly_once_each(store: &Store) {
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

pub(super) async fn expired_and_revoked_shares_are_refused(store: &Store) {
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

pub(super) async fn shares_are_listed_newest_first(store: &Store) {
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

pub(super) async fn deleting_a_file_removes_its_shares_and_releases_usage(store: &Store) {
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

pub(super) async fn other_owners_see_nothing(store: &Store) {
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

pub(super) async fn password_attempts_are_reserved_atomically(store: &Store) {
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
