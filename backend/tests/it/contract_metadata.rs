//! The [`MetadataStore`] contract: one suite, run against the embedded store and against the
//! DynamoDB adapter on moto and on AWS's DynamoDB Local (the real engine's conditional writes and
//! transactions). Each behaviour uses its own users, so they can share one store.

use std::sync::Arc;
use std::time::Duration;

use crate::support::aws::dynamodb_local::DynamoDbLocal;
use crate::support::aws::{Moto, unique_name};
use crate::support::records;
use ferry::adapters::aws::{DynamoMetadataStore, create_table};
use ferry::adapters::local::store::LocalMetadataStore;
use ferry::domain::share::AttemptPolicy;
use ferry::domain::{
    ContentType, FileId, FileName, FileRecord, SealedMeta, ShareRecord, ShareToken, UserId,
};
use ferry::ports::{
    AttemptReservation, DownloadCount, MetadataError, MetadataStore, Reservation, Transition, Usage,
};
use ferry_api::FileStatus;
use time::OffsetDateTime;

type Store = Arc<dyn MetadataStore>;

mod files;
mod shares;

use files::*;
use shares::*;

fn new_user() -> UserId {
    UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap()
}

fn pending_file(owner: &UserId, size: u64) -> FileRecord {
    let now = OffsetDateTime::now_utc();
    FileRecord {
        name: FileName::parse("holiday photo.jpg").unwrap(),
        content_type: ContentType::parse("image/jpeg").unwrap(),
        ..records::pending_file(owner, size, now, now + Duration::from_secs(900))
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
        encrypted: false,
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
        encrypted_files_keep_their_sealed_metadata,
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

/// An end-to-end encrypted file: its sealed metadata (the largest allowed) comes back as it
/// went in, alone and in batch reads, and its link stays marked encrypted.
async fn encrypted_files_keep_their_sealed_metadata(store: &Store) {
    let owner = new_user();
    let blob: String = (0..ferry_api::encryption::MAX_META_CHARS)
        .map(|i| char::from(b"AZaz09-_"[i % 8]))
        .collect();
    let sealed = SealedMeta::from_stored(blob, ferry_api::encryption::META_VERSION).unwrap();
    let file = FileRecord {
        name: FileName::parse("encrypted").unwrap(),
        encrypted: Some(sealed),
        ..pending_file(&owner, 100)
    };
    store.insert_pending_file(&file, 1 << 30).await.unwrap();
    assert_eq!(
        store.file(&owner, &file.id).await.unwrap().as_ref(),
        Some(&file)
    );
    store.mark_ready(&owner, &file.id, None).await.unwrap();
    let ready = store.file(&owner, &file.id).await.unwrap().unwrap();
    assert_eq!(ready.encrypted, file.encrypted);
    let batch = store.files_by_ids(&owner, &[file.id]).await.unwrap();
    assert_eq!(batch, vec![ready.clone()]);

    let share = ShareRecord {
        encrypted: true,
        ..share_of(&ready, None)
    };
    store.insert_share(&share).await.unwrap();
    assert!(store.share(&share.token).await.unwrap().unwrap().encrypted);
    let plain = share_of(&ready, None);
    store.insert_share(&plain).await.unwrap();
    assert!(!store.share(&plain.token).await.unwrap().unwrap().encrypted);
}

mod transfers;

// ---- file requests -------------------------------------------------------------------------

mod requests;
