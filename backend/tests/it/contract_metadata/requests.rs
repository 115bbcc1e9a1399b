//! The [`RequestStore`] contract (file requests) on the embedded store and on the DynamoDB
//! adapter (moto and DynamoDB Local): requests stored, listed, closed and deleted per owner;
//! guests' uploads reserved atomically against the request's files and bytes and the owner's
//! quota, so concurrent guests never exceed them; refusals for closed, expired and unknown
//! guests; reservations given back; guests' names and notes on their files.

use ferry::domain::requests::{GuestId, GuestMark, GuestRecord, RequestRecord, new_guest_key};
use ferry::ports::RequestRefusal;

use super::*;

fn request_of(owner: &UserId, max_files: u32, max_bytes: u64) -> RequestRecord {
    let now = OffsetDateTime::now_utc();
    RequestRecord {
        token: ShareToken::generate(),
        owner: owner.clone(),
        title: "Scans, please".into(),
        message: "All pages.\nThanks!".into(),
        created_at: now,
        expires_at: now + Duration::from_secs(3600),
        max_files,
        max_bytes,
        files_left: max_files,
        bytes_left: max_bytes,
        password_hash: None,
        access: None,
        closed: false,
    }
}

async fn new_guest(store: &Store, request: &RequestRecord) -> GuestId {
    let (_, id) = new_guest_key();
    let guest = GuestRecord {
        token: request.token.clone(),
        guest: id.clone(),
        created_at: OffsetDateTime::now_utc(),
        name: None,
        note: None,
        file_ids: Vec::new(),
    };
    store.insert_guest(&guest).await.unwrap();
    assert!(matches!(
        store.insert_guest(&guest).await,
        Err(MetadataError::AlreadyExists)
    ));
    id
}

fn guest_file(request: &RequestRecord, guest: &GuestId, size: u64) -> FileRecord {
    let mut file = pending_file(&request.owner, size);
    file.guest = Some(GuestMark {
        request: request.token.clone(),
        title: request.title.clone(),
        guest: guest.clone(),
        name: None,
        note: None,
    });
    file
}

const ROOMY: u64 = 1 << 40;

async fn requests_are_kept_per_owner_closed_and_deleted(store: &Store) {
    let (owner, other) = (new_user(), new_user());
    let first = request_of(&owner, 5, 100);
    store.insert_request(&first).await.unwrap();
    let mut second = request_of(&owner, 2, 10);
    second.created_at = first.created_at + Duration::from_secs(1);
    store.insert_request(&second).await.unwrap();
    assert!(matches!(
        store.insert_request(&first).await,
        Err(MetadataError::AlreadyExists)
    ));
    assert_eq!(
        store.request(&first.token).await.unwrap(),
        Some(first.clone())
    );
    let listed: Vec<_> = store
        .list_requests(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.token)
        .collect();
    assert_eq!(listed, vec![second.token.clone(), first.token.clone()]);
    assert!(store.list_requests(&other).await.unwrap().is_empty());

    assert_eq!(
        store
            .set_request_closed(&other, &first.token, true)
            .await
            .unwrap(),
        Transition::Missing
    );
    assert_eq!(
        store
            .set_request_closed(&owner, &first.token, true)
            .await
            .unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store
            .set_request_closed(&owner, &first.token, true)
            .await
            .unwrap(),
        Transition::Unchanged
    );
    assert!(store.request(&first.token).await.unwrap().unwrap().closed);
    assert_eq!(
        store
            .set_request_closed(&owner, &first.token, false)
            .await
            .unwrap(),
        Transition::Applied
    );

    let guest = new_guest(store, &first).await;
    assert_eq!(
        store.delete_request(&other, &first.token).await.unwrap(),
        Transition::Missing
    );
    assert_eq!(
        store.delete_request(&owner, &first.token).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(store.request(&first.token).await.unwrap(), None);
    assert_eq!(store.guest(&first.token, &guest).await.unwrap(), None);
    assert_eq!(store.list_requests(&owner).await.unwrap().len(), 1);
}

async fn twenty_guests_against_five_files_get_exactly_five(store: &Store) {
    let owner = new_user();
    let request = request_of(&owner, 5, 1_000_000);
    store.insert_request(&request).await.unwrap();
    let mut guests = Vec::new();
    for _ in 0..20 {
        guests.push(new_guest(store, &request).await);
    }
    let outcomes = futures::future::join_all(guests.iter().map(|guest| {
        let store = Arc::clone(store);
        let file = guest_file(&request, guest, 10);
        let now = OffsetDateTime::now_utc();
        async move { store.reserve_request_file(&file, ROOMY, now).await }
    }))
    .await;
    let granted = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(granted, 5, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(RequestRefusal::Full))),
        "{outcomes:?}"
    );
    let after = store.request(&request.token).await.unwrap().unwrap();
    assert_eq!((after.files_left, after.bytes_left), (0, 1_000_000 - 50));
    assert_eq!(store.usage(&owner).await.unwrap().bytes_used, 50);
    let mut recorded = 0;
    for guest in &guests {
        recorded += store
            .guest(&request.token, guest)
            .await
            .unwrap()
            .unwrap()
            .file_ids
            .len();
    }
    assert_eq!(recorded, 5, "each granted file is on its guest's record");
}

async fn the_size_limit_holds_under_concurrency(store: &Store) {
    let owner = new_user();
    let request = request_of(&owner, 100, 100);
    store.insert_request(&request).await.unwrap();
    let guest = new_guest(store, &request).await;
    let outcomes = futures::future::join_all((0..12).map(|_| {
        let store = Arc::clone(store);
        let file = guest_file(&request, &guest, 30);
        async move {
            store
                .reserve_request_file(&file, ROOMY, OffsetDateTime::now_utc())
                .await
        }
    }))
    .await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        3,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(RequestRefusal::TooLarge { bytes_left: 10 })))
    );
    let after = store.request(&request.token).await.unwrap().unwrap();
    assert_eq!(after.bytes_received(), 90);
    assert_eq!(store.usage(&owner).await.unwrap().bytes_used, 90);
}

async fn closed_expired_and_unknown_are_refused_and_nothing_is_taken(store: &Store) {
    let owner = new_user();
    let request = request_of(&owner, 5, 100);
    store.insert_request(&request).await.unwrap();
    let guest = new_guest(store, &request).await;
    let now = OffsetDateTime::now_utc();

    let (_, stranger) = new_guest_key();
    let refusal = store
        .reserve_request_file(&guest_file(&request, &stranger, 1), ROOMY, now)
        .await;
    assert!(
        matches!(refusal, Err(RequestRefusal::UnknownGuest)),
        "{refusal:?}"
    );

    let refusal = store
        .reserve_request_file(&guest_file(&request, &guest, 20), 10, now)
        .await;
    assert!(
        matches!(
            refusal,
            Err(RequestRefusal::QuotaExceeded { quota: 10, .. })
        ),
        "{refusal:?}"
    );

    let later = request.expires_at + Duration::from_secs(1);
    let refusal = store
        .reserve_request_file(&guest_file(&request, &guest, 1), ROOMY, later)
        .await;
    assert!(
        matches!(refusal, Err(RequestRefusal::Expired)),
        "{refusal:?}"
    );

    store
        .set_request_closed(&owner, &request.token, true)
        .await
        .unwrap();
    let refusal = store
        .reserve_request_file(&guest_file(&request, &guest, 1), ROOMY, now)
        .await;
    assert!(
        matches!(refusal, Err(RequestRefusal::Closed)),
        "{refusal:?}"
    );

    // Another owner's file cannot be put in this request.
    store
        .set_request_closed(&owner, &request.token, false)
        .await
        .unwrap();
    let mut foreign = guest_file(&request, &guest, 1);
    foreign.owner = new_user();
    let refusal = store.reserve_request_file(&foreign, ROOMY, now).await;
    assert!(
        matches!(refusal, Err(RequestRefusal::NotFound)),
        "{refusal:?}"
    );

    let after = store.request(&request.token).await.unwrap().unwrap();
    assert_eq!((after.files_left, after.bytes_left), (5, 100));
    assert_eq!(store.usage(&owner).await.unwrap(), Usage::default());
}

async fn deleted_guest_files_give_their_place_back_and_carry_notes(store: &Store) {
    let owner = new_user();
    let request = request_of(&owner, 2, 100);
    store.insert_request(&request).await.unwrap();
    let guest = new_guest(store, &request).await;
    let now = OffsetDateTime::now_utc();
    let first = guest_file(&request, &guest, 60);
    let second = guest_file(&request, &guest, 40);
    store
        .reserve_request_file(&first, ROOMY, now)
        .await
        .unwrap();
    store
        .reserve_request_file(&second, ROOMY, now)
        .await
        .unwrap();
    let refusal = store
        .reserve_request_file(&guest_file(&request, &guest, 1), ROOMY, now)
        .await;
    assert!(matches!(refusal, Err(RequestRefusal::Full)), "{refusal:?}");

    let mark = GuestMark {
        name: Some("Ann".into()),
        note: Some("Pages 1–3".into()),
        ..first.guest.clone().unwrap()
    };
    assert_eq!(
        store
            .set_guest_note(&owner, &[first.id, second.id], &mark)
            .await
            .unwrap(),
        Transition::Applied
    );
    let record = store.guest(&request.token, &guest).await.unwrap().unwrap();
    assert_eq!(record.name.as_deref(), Some("Ann"));
    assert_eq!(record.file_ids, vec![first.id, second.id]);
    let stored = store.file(&owner, &second.id).await.unwrap().unwrap();
    assert_eq!(stored.guest, Some(mark));

    let removed = store.delete_file(&owner, &first.id).await.unwrap();
    store.release_guest_files(removed.as_slice()).await.unwrap();
    let after = store.request(&request.token).await.unwrap().unwrap();
    assert_eq!((after.files_left, after.bytes_left), (1, 60));
    store
        .reserve_request_file(&guest_file(&request, &guest, 50), ROOMY, now)
        .await
        .unwrap();
}

async fn requests_contract(store: Store) {
    macro_rules! run {
        ($($behaviour:ident),* $(,)?) => {$(
            eprintln!("requests contract: {}", stringify!($behaviour));
            $behaviour(&store).await;
        )*};
    }
    run!(
        requests_are_kept_per_owner_closed_and_deleted,
        twenty_guests_against_five_files_get_exactly_five,
        the_size_limit_holds_under_concurrency,
        closed_expired_and_unknown_are_refused_and_nothing_is_taken,
        deleted_guest_files_give_their_place_back_and_carry_notes,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_store_meets_the_requests_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalMetadataStore::open(&dir.path().join("meta.redb")).unwrap();
    requests_contract(Arc::new(store)).await;
}

async fn dynamodb_requests_contract(client: aws_sdk_dynamodb::Client) {
    let table = unique_name("ferry");
    create_table(&client, &table).await.unwrap();
    requests_contract(Arc::new(DynamoMetadataStore::new(client, table))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_meets_the_requests_contract_on_moto() {
    let Some(moto) = Moto::start("dynamodb_store_meets_the_requests_contract_on_moto").await else {
        return;
    };
    dynamodb_requests_contract(moto.dynamodb().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_meets_the_requests_contract_on_dynamodb_local() {
    let Some(local) =
        DynamoDbLocal::start("dynamodb_store_meets_the_requests_contract_on_dynamodb_local").await
    else {
        return;
    };
    dynamodb_requests_contract(local.dynamodb().await).await;
}
