//! The [`MetadataStore`] contract for links of many files, on the embedded store and on the
//! DynamoDB adapter (moto and DynamoDB Local): a 1,000-file link stored, opened and listed,
//! files read in batches, links shrinking as files are deleted, the one-file records of before
//! still read, and the download count atomic under concurrency.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use ferry::domain::{FolderPath, ShareRecordTerms};

use super::*;

fn terms(max_downloads: Option<u32>) -> ShareRecordTerms {
    let now = OffsetDateTime::now_utc();
    ShareRecordTerms {
        created_at: now,
        expires_at: now + Duration::from_secs(3600),
        max_downloads,
        password_hash: None,
    }
}

fn link(files: &[FileRecord], max_downloads: Option<u32>) -> ShareRecord {
    ShareRecord::of_files(ShareToken::generate(), files, terms(max_downloads)).unwrap()
}

/// A thousand pending files of one owner, in seven folders, not yet stored.
fn a_thousand_files() -> Vec<FileRecord> {
    let owner = new_user();
    (0..1000u64)
        .map(|i| {
            let mut file = pending_file(&owner, 1 + i);
            file.folder = Some(FolderPath::parse(&format!("photos/{}", i % 7)).unwrap());
            file
        })
        .collect()
}

/// `files` (from [`a_thousand_files`], stored) behind one link: stored, opened, read and
/// listed whole. Returns the link.
async fn a_thousand_file_link_is_stored_opened_and_listed(
    store: &Store,
    files: &[FileRecord],
) -> ShareRecord {
    let owner = files[0].owner.clone();
    let share = link(files, Some(3));
    store.insert_share(&share).await.unwrap();

    let opened = store.share(&share.token).await.unwrap().unwrap();
    assert_eq!(opened, share);
    assert_eq!(opened.file_count(), 1000);
    assert_eq!(opened.total_size, Some((1..=1000).sum()));

    let mut read = store.files_by_ids(&owner, &opened.file_ids).await.unwrap();
    read.sort_by_key(|f| f.id);
    assert_eq!(read, files, "every file, with its folder");

    let listed = store.list_shares(&owner).await.unwrap();
    assert_eq!(listed, vec![share.clone()]);
    share
}

async fn files_are_read_by_id_for_their_owner_only(store: &Store) {
    let owner = new_user();
    let a = ready_file(store, &owner, 1).await;
    let b = ready_file(store, &owner, 2).await;
    let theirs = ready_file(store, &new_user(), 3).await;
    let ids = [a.id, theirs.id, FileId::new(), b.id, a.id];
    let mut read = store.files_by_ids(&owner, &ids).await.unwrap();
    read.sort_by_key(|f| f.id);
    assert_eq!(
        read,
        vec![a, b],
        "another's, unknown and repeated ids are left out"
    );
    assert_eq!(store.files_by_ids(&owner, &[]).await.unwrap(), vec![]);
}

async fn deleting_files_shrinks_every_link_of_theirs(store: &Store) {
    let owner = new_user();
    let a = ready_file(store, &owner, 100).await;
    let b = ready_file(store, &owner, 20).await;
    let c = ready_file(store, &owner, 3).await;
    let all = link(&[a.clone(), b.clone(), c.clone()], None);
    let only_a = link(std::slice::from_ref(&a), None);
    let b_and_c = link(&[b.clone(), c.clone()], None);
    for share in [&all, &only_a, &b_and_c] {
        store.insert_share(share).await.unwrap();
    }
    let stranger = ready_file(store, &new_user(), 1).await;

    let removed = store
        .delete_files(&owner, &[a.id, b.id, stranger.id, FileId::new()])
        .await
        .unwrap();
    let mut removed: Vec<FileId> = removed.iter().map(|f| f.id).collect();
    removed.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(removed, expected, "only the owner's files that exist");
    assert!(
        store
            .file(&stranger.owner, &stranger.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.usage(&owner).await.unwrap(),
        Usage {
            bytes_used: 3,
            file_count: 1
        }
    );

    let all_now = store.share(&all.token).await.unwrap().unwrap();
    assert_eq!(all_now.file_ids, vec![c.id]);
    assert_eq!(all_now.total_size, Some(3));
    assert_eq!(all_now.file_name, c.name, "the first file is now c");
    assert_eq!(
        store.share(&only_a.token).await.unwrap(),
        None,
        "a one-file link goes"
    );
    let pair_now = store.share(&b_and_c.token).await.unwrap().unwrap();
    assert_eq!(
        (pair_now.file_ids.clone(), pair_now.total_size),
        (vec![c.id], Some(3))
    );

    // The last file: links of several stay, empty, so their recipients learn the files are gone.
    assert_eq!(
        store
            .delete_file(&owner, &c.id)
            .await
            .unwrap()
            .map(|f| f.id),
        Some(c.id)
    );
    let mut listed: Vec<_> = store
        .list_shares(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.token.to_string(), s.file_count(), s.total_size))
        .collect();
    listed.sort();
    let mut expected = vec![
        (all.token.to_string(), 0, Some(0)),
        (b_and_c.token.to_string(), 0, Some(0)),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(store.usage(&owner).await.unwrap(), Usage::default());
    assert_eq!(
        store.delete_files(&owner, &[a.id, c.id]).await.unwrap(),
        vec![],
        "deleting again removes nothing"
    );
}

async fn concurrent_deletes_each_take_their_file_out(store: &Store) {
    let owner = new_user();
    let mut files = Vec::new();
    for size in [1, 2, 4, 8] {
        files.push(ready_file(store, &owner, size).await);
    }
    let share = link(&files, None);
    store.insert_share(&share).await.unwrap();
    let deletes = files.iter().map(|f| {
        let (store, owner, id) = (Arc::clone(store), owner.clone(), f.id);
        tokio::spawn(async move { store.delete_file(&owner, &id).await })
    });
    for outcome in futures::future::join_all(deletes).await {
        assert!(outcome.unwrap().unwrap().is_some());
    }
    let now = store.share(&share.token).await.unwrap().unwrap();
    assert_eq!((now.file_count(), now.total_size), (0, Some(0)));
    assert_eq!(store.usage(&owner).await.unwrap(), Usage::default());
}

async fn a_link_of_many_files_counts_downloads_atomically(store: &Store) {
    let owner = new_user();
    let mut files = Vec::new();
    for _ in 0..3 {
        files.push(ready_file(store, &owner, 10).await);
    }
    let share = link(&files, Some(5));
    store.insert_share(&share).await.unwrap();
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
    let counted = results
        .iter()
        .filter(|r| matches!(r, DownloadCount::Counted(s) if s.file_ids == share.file_ids))
        .count();
    let exhausted = results
        .iter()
        .filter(|r| **r == DownloadCount::Exhausted)
        .count();
    assert_eq!((counted, exhausted), (5, 15), "{results:?}");
    assert_eq!(
        store.share(&share.token).await.unwrap().unwrap().downloads,
        5
    );
}

/// A one-file share as stores wrote them before links of several files (its owner `owner`,
/// its file `file`) reads, lists, counts and goes with its file as it always did.
async fn a_one_file_share_of_before_still_works(
    store: &Store,
    owner: &UserId,
    file: &FileRecord,
    token: &ShareToken,
) {
    let share = store
        .share(token)
        .await
        .unwrap()
        .expect("the old share reads");
    assert_eq!(share.file_ids, vec![file.id]);
    assert_eq!((share.total_size, share.access.clone()), (None, None));
    assert!(!share.keep_when_empty);
    let listed = store.list_shares(owner).await.unwrap();
    assert_eq!(listed.iter().map(|s| &s.token).collect::<Vec<_>>(), [token]);
    assert!(matches!(
        store
            .count_download(token, OffsetDateTime::now_utc())
            .await
            .unwrap(),
        DownloadCount::Counted(s) if s.downloads == 1 && s.file_ids == vec![file.id]
    ));
    store.delete_file(owner, &file.id).await.unwrap();
    assert_eq!(store.share(token).await.unwrap(), None);
    assert_eq!(store.list_shares(owner).await.unwrap(), vec![]);
}

/// Every behaviour of links of many files, in turn.
async fn transfers_contract(store: &Store) {
    macro_rules! run {
        ($($behaviour:ident),* $(,)?) => {$(
            eprintln!("transfers contract: {}", stringify!($behaviour));
            $behaviour(store).await;
        )*};
    }
    run!(
        files_are_read_by_id_for_their_owner_only,
        deleting_files_shrinks_every_link_of_theirs,
        concurrent_deletes_each_take_their_file_out,
        a_link_of_many_files_counts_downloads_atomically,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_store_meets_the_transfers_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.redb");
    // A one-file share written the way earlier versions did, before the store opens.
    let owner = new_user();
    let file = pending_file(&owner, 9);
    let token = ShareToken::generate();
    {
        const SHARES: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("shares");
        const USER_SHARES: redb::TableDefinition<&str, ()> =
            redb::TableDefinition::new("user_shares");
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        let old = serde_json::json!({
            "token": token.as_str(), "owner": owner.as_str(), "file_id": file.id.to_string(),
            "file_name": file.name.as_str(), "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2126-01-01T00:00:00Z", "max_downloads": null, "downloads": 0,
            "password_hash": null, "revoked": false
        });
        txn.open_table(SHARES)
            .unwrap()
            .insert(token.as_str(), old.to_string().as_bytes())
            .unwrap();
        txn.open_table(USER_SHARES)
            .unwrap()
            .insert(format!("{owner}/{token}").as_str(), ())
            .unwrap();
        txn.commit().unwrap();
    }
    let store: Store = Arc::new(LocalMetadataStore::open(&path).unwrap());
    store.insert_pending_file(&file, 100).await.unwrap();
    a_one_file_share_of_before_still_works(&store, &owner, &file, &token).await;
    transfers_contract(&store).await;
    let files = a_thousand_files();
    for file in &files {
        store.insert_pending_file(file, u64::MAX / 2).await.unwrap();
    }
    a_thousand_file_link_is_stored_opened_and_listed(&store, &files).await;
}

/// Counts the requests a DynamoDB client sends.
#[derive(Clone, Debug, Default)]
struct CountRequests(Arc<AtomicUsize>);

impl aws_sdk_dynamodb::config::Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _config: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The transfers contract on a new table, then the DynamoDB specifics: a one-file share item
/// of before, and the requests opening a 1,000-file link takes.
async fn dynamodb_transfers_contract(client: aws_sdk_dynamodb::Client) {
    let table = unique_name("ferry");
    create_table(&client, &table).await.unwrap();
    let store: Store = Arc::new(DynamoMetadataStore::new(client.clone(), table.clone()));

    let owner = new_user();
    let file = ready_file(&store, &owner, 9).await;
    let token = ShareToken::generate();
    let now = OffsetDateTime::now_utc();
    let nanos = |t: OffsetDateTime| AttributeValue::N(t.unix_timestamp_nanos().to_string());
    let s = |v: String| AttributeValue::S(v);
    let expires = now + Duration::from_secs(3600);
    client
        .put_item()
        .table_name(&table)
        .item("PK", s(format!("SHARE#{token}")))
        .item("SK", s("SHARE".into()))
        .item("token", s(token.to_string()))
        .item("owner", s(owner.to_string()))
        .item("file_id", s(file.id.to_string()))
        .item("file_name", s(file.name.to_string()))
        .item("created_at", nanos(now))
        .item("expires_at", nanos(expires))
        .item("downloads", AttributeValue::N("0".into()))
        .item("revoked", AttributeValue::Bool(false))
        .item(
            "ttl",
            AttributeValue::N(expires.unix_timestamp().to_string()),
        )
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(&table)
        .item("PK", s(format!("USER#{owner}")))
        .item(
            "SK",
            s(format!("SHARE#{:020}#{token}", now.unix_timestamp_nanos())),
        )
        .item("token", s(token.to_string()))
        .item("file_id", s(file.id.to_string()))
        .item(
            "ttl",
            AttributeValue::N(expires.unix_timestamp().to_string()),
        )
        .send()
        .await
        .unwrap();
    a_one_file_share_of_before_still_works(&store, &owner, &file, &token).await;

    transfers_contract(&store).await;

    // An upload DynamoDB's TTL removed (seen on the stream by ferry-events) leaves its links.
    let dynamo = DynamoMetadataStore::new(client.clone(), table.clone());
    let owner = new_user();
    let arrived = ready_file(&store, &owner, 1).await;
    let abandoned = pending_file(&owner, 2);
    store.insert_pending_file(&abandoned, 100).await.unwrap();
    let share = link(&[abandoned.clone(), arrived.clone()], None);
    store.insert_share(&share).await.unwrap();
    client
        .delete_item()
        .table_name(&table)
        .key("PK", s(format!("USER#{owner}")))
        .key("SK", s(format!("FILE#{}", abandoned.id)))
        .send()
        .await
        .unwrap();
    assert!(dynamo.release_expired_upload(&abandoned).await.unwrap());
    let now = store.share(&share.token).await.unwrap().unwrap();
    assert_eq!(now.file_ids, vec![arrived.id]);
    assert_eq!(
        (now.total_size, now.file_name.clone()),
        (Some(1), arrived.name.clone())
    );

    // A thousand file items written 25 at a time (announcing each would take a thousand
    // transactions, minutes on moto), in the adapter's layout.
    let files = a_thousand_files();
    for chunk in files.chunks(25) {
        let writes = chunk.iter().map(|f| {
            let item = [
                ("PK", s(format!("USER#{}", f.owner))),
                ("SK", s(format!("FILE#{}", f.id))),
                ("owner", s(f.owner.to_string())),
                ("id", s(f.id.to_string())),
                ("name", s(f.name.to_string())),
                ("size", AttributeValue::N(f.size.to_string())),
                ("content_type", s(f.content_type.as_str().to_owned())),
                ("status", s("pending".into())),
                ("object_key", s(f.object_key())),
                ("created_at", nanos(f.created_at)),
                ("upload_expires_at", nanos(f.upload_expires_at)),
                ("folder", s(f.folder.as_ref().unwrap().to_string())),
            ];
            let put = aws_sdk_dynamodb::types::PutRequest::builder()
                .set_item(Some(
                    item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                ))
                .build()
                .unwrap();
            aws_sdk_dynamodb::types::WriteRequest::builder()
                .put_request(put)
                .build()
        });
        let out = client
            .batch_write_item()
            .request_items(&table, writes.collect())
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items.unwrap_or_default().is_empty());
    }
    let share = a_thousand_file_link_is_stored_opened_and_listed(&store, &files).await;

    // Opening it: one GetItem and ten BatchGetItem calls, not a thousand GetItems.
    let counter = CountRequests::default();
    let counted = aws_sdk_dynamodb::Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .build(),
    );
    let counted: Store = Arc::new(DynamoMetadataStore::new(counted, table));
    let opened = counted.share(&share.token).await.unwrap().unwrap();
    let read = counted
        .files_by_ids(&files[0].owner, &opened.file_ids)
        .await
        .unwrap();
    assert_eq!(read.len(), 1000);
    let requests = counter.0.load(Ordering::SeqCst);
    assert!((11..=15).contains(&requests), "{requests} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_meets_the_transfers_contract_on_moto() {
    let Some(moto) = Moto::start("dynamodb_store_meets_the_transfers_contract_on_moto").await
    else {
        return;
    };
    dynamodb_transfers_contract(moto.dynamodb().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_meets_the_transfers_contract_on_dynamodb_local() {
    let Some(local) =
        DynamoDbLocal::start("dynamodb_store_meets_the_transfers_contract_on_dynamodb_local").await
    else {
        return;
    };
    dynamodb_transfers_contract(local.dynamodb().await).await;
}
