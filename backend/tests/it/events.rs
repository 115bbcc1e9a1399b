//! The object-created handler and the sweeper against the embedded S3 endpoint and store: every
//! outcome, and that repeating an event changes nothing.

use crate::support::embedded_s3;
use crate::support::faulty::{Fault, FaultyObjectStore, Op};
use crate::support::records::pending_file;

use std::sync::Arc;

use bytes::Bytes;
use ferry::adapters::local::s3_endpoint::S3Endpoint;
use ferry::adapters::local::store::LocalMetadataStore;
use ferry::adapters::s3::S3ObjectStore;
use ferry::config::Limits;
use ferry::domain::{ContentType, FileId, FileRecord, UserId, file_object_key};
use ferry::lambda::events_function::EventsFunction;
use ferry::ports::{MetadataStore, ObjectStore, Usage};
use ferry::upload_events::{self as events, EventContext, Outcome};
use ferry::work_gate::WorkGate;
use ferry_api::FileStatus;
use time::OffsetDateTime;

struct Harness {
    ctx: EventContext,
    meta: Arc<LocalMetadataStore>,
    objects: Arc<S3ObjectStore>,
    _s3: S3Endpoint,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (s3, objects) = embedded_s3::start(dir.path().join("s3")).await;
    let meta = Arc::new(LocalMetadataStore::open(&dir.path().join("meta.redb")).unwrap());
    let ctx = EventContext {
        objects: objects.clone(),
        meta: meta.clone(),
        limits: Arc::new(Limits::default()),
        images: Arc::new(WorkGate::for_images()),
    };
    Harness {
        ctx,
        meta,
        objects,
        _s3: s3,
        _dir: dir,
    }
}

fn pending(owner: &str, size: u64, now: OffsetDateTime) -> FileRecord {
    let owner = UserId::parse(owner).unwrap();
    pending_file(&owner, size, now, now + time::Duration::hours(1))
}

impl Harness {
    async fn announce(&self, size: u64) -> FileRecord {
        let file = pending("owner-1", size, OffsetDateTime::now_utc());
        self.meta.insert_pending_file(&file, 1 << 30).await.unwrap();
        file
    }

    async fn store(&self, key: &str, len: usize) {
        self.objects
            .put(key, Bytes::from(vec![1u8; len]), "application/octet-stream")
            .await
            .unwrap();
    }

    async fn status(&self, file: &FileRecord) -> Option<FileStatus> {
        self.meta
            .file(&file.owner, &file.id)
            .await
            .unwrap()
            .map(|f| f.status)
    }

    async fn usage(&self, file: &FileRecord) -> Usage {
        self.meta.usage(&file.owner).await.unwrap()
    }
}

#[tokio::test]
async fn a_matching_upload_becomes_ready_once() {
    let h = harness().await;
    let file = h.announce(100).await;
    h.store(&file.object_key(), 100).await;
    assert_eq!(
        events::object_created(&h.ctx, &file.object_key())
            .await
            .unwrap(),
        Outcome::Ready
    );
    assert_eq!(h.status(&file).await, Some(FileStatus::Ready));
    // S3 delivers at least once: the duplicate changes nothing.
    let again = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(again, Outcome::AlreadyHandled);
    assert_eq!(
        h.usage(&file).await,
        Usage {
            bytes_used: 100,
            file_count: 1
        }
    );
}

#[tokio::test]
async fn a_size_mismatch_fails_the_file_deletes_the_bytes_and_frees_the_quota() {
    let h = harness().await;
    let file = h.announce(100).await;
    h.store(&file.object_key(), 99).await;
    let outcome = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Rejected);
    assert_eq!(h.status(&file).await, Some(FileStatus::Failed));
    assert_eq!(h.objects.head(&file.object_key()).await.unwrap(), None);
    assert_eq!(h.usage(&file).await, Usage::default());
    let again = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(again, Outcome::AlreadyHandled);
    assert_eq!(
        h.usage(&file).await,
        Usage::default(),
        "released once, not twice"
    );
}

#[tokio::test]
async fn objects_without_a_record_are_removed_and_other_keys_ignored() {
    let h = harness().await;
    let orphan = file_object_key(&UserId::parse("nobody").unwrap(), &FileId::new());
    h.store(&orphan, 10).await;
    assert_eq!(
        events::object_created(&h.ctx, &orphan).await.unwrap(),
        Outcome::Orphan
    );
    assert_eq!(h.objects.head(&orphan).await.unwrap(), None);

    for key in [
        "thumbs/owner-1/x.webp",
        "files/owner-1",
        "files/../etc/passwd",
        "other/key",
    ] {
        assert_eq!(
            events::object_created(&h.ctx, key).await.unwrap(),
            Outcome::Ignored,
            "{key}"
        );
    }
}

#[tokio::test]
async fn an_event_for_bytes_that_are_gone_changes_nothing() {
    let h = harness().await;
    let file = h.announce(10).await;
    let outcome = events::object_created(&h.ctx, &file.object_key())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::AlreadyHandled);
    assert_eq!(h.status(&file).await, Some(FileStatus::Pending));
}

#[tokio::test]
async fn the_sweeper_removes_only_expired_pending_uploads() {
    let h = harness().await;
    let now = OffsetDateTime::now_utc();
    let mut stale = pending("owner-1", 10, now - time::Duration::hours(3));
    stale.upload_expires_at = now - time::Duration::hours(1);
    h.meta.insert_pending_file(&stale, 1 << 30).await.unwrap();
    h.store(&stale.object_key(), 5).await; // a partial upload that never completed properly
    let fresh = h.announce(20).await;
    let ready = h.announce(30).await;
    h.store(&ready.object_key(), 30).await;
    events::object_created(&h.ctx, &ready.object_key())
        .await
        .unwrap();

    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 1);
    assert_eq!(h.status(&stale).await, None);
    assert_eq!(h.objects.head(&stale.object_key()).await.unwrap(), None);
    assert_eq!(h.status(&fresh).await, Some(FileStatus::Pending));
    assert_eq!(h.status(&ready).await, Some(FileStatus::Ready));
    assert_eq!(
        h.usage(&ready).await,
        Usage {
            bytes_used: 50,
            file_count: 2
        }
    );
    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 0);
}

#[tokio::test]
async fn one_upload_the_sweeper_cannot_remove_does_not_hold_up_the_others() {
    let mut h = harness().await;
    let now = OffsetDateTime::now_utc();
    let mut stale = Vec::new();
    for _ in 0..3 {
        let mut file = pending("owner-1", 10, now - time::Duration::hours(3));
        file.upload_expires_at = now - time::Duration::hours(1);
        h.meta.insert_pending_file(&file, 1 << 30).await.unwrap();
        stale.push(file);
    }
    let stuck = stale[1].clone();
    let objects = FaultyObjectStore::new(h.objects.clone());
    objects.arm(Fault::on(Op::Delete).for_key(&stuck.object_key()).always());
    h.ctx.objects = objects.clone();

    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 2);
    assert_eq!(h.status(&stale[0]).await, None);
    assert_eq!(h.status(&stale[2]).await, None);
    // Still pending and still counted, for the next sweep.
    assert_eq!(h.status(&stuck).await, Some(FileStatus::Pending));
    assert_eq!(h.usage(&stuck).await.file_count, 1);

    objects.heal();
    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 1);
    assert_eq!(h.status(&stuck).await, None);
}

#[tokio::test]
async fn the_sweeper_never_removes_an_upload_whose_bytes_are_all_stored() {
    let h = harness().await;
    let now = OffsetDateTime::now_utc();
    // Stored in full, but its object-created event was lost (the process stopped in between).
    let mut stored = pending("owner-1", 10, now - time::Duration::hours(3));
    stored.upload_expires_at = now - time::Duration::hours(1);
    h.meta.insert_pending_file(&stored, 1 << 30).await.unwrap();
    h.store(&stored.object_key(), 10).await;

    assert_eq!(events::sweep_stale_uploads(&h.ctx, now).await.unwrap(), 0);
    assert_eq!(h.status(&stored).await, Some(FileStatus::Ready));
    assert_eq!(
        h.objects
            .head(&stored.object_key())
            .await
            .unwrap()
            .map(|o| o.size),
        Some(10)
    );
    assert_eq!(
        h.usage(&stored).await,
        Usage {
            bytes_used: 10,
            file_count: 1
        }
    );
}

/// Packs bits the way DEFLATE does: fields from the least significant bit, Huffman codes from
/// their most significant bit.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    len: u32,
}

impl Bits {
    fn field(&mut self, value: u64, bits: u32) {
        self.acc |= value << self.len;
        self.len += bits;
        while self.len >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.len -= 8;
        }
    }

    fn code(&mut self, code: u64, bits: u32) {
        let reversed = (0..bits).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
        self.field(reversed, bits);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A valid `side` × `side` 8-bit grey PNG of black pixels, compressed to about 1/160 of a byte
/// per pixel without ever holding the pixels: zlib with one fixed-Huffman block made of
/// 258-byte back-references.
fn png_bomb(side: u32) -> Vec<u8> {
    let raw = u64::from(side) * (u64::from(side) + 1); // a filter byte per row, then the row
    let literals = 1 + (raw - 1) % 258;
    let mut bits = Bits::default();
    bits.field(1, 1); // the last block
    bits.field(1, 2); // fixed Huffman codes
    for _ in 0..literals {
        bits.code(0x30, 8); // literal 0
    }
    for _ in 0..(raw - literals) / 258 {
        bits.code(0xC5, 8); // length 258
        bits.code(0, 5); // distance 1
    }
    bits.code(0, 7); // end of block
    let mut idat = vec![0x78, 0x01];
    idat.extend(bits.finish());
    let adler = ((raw % 65_521) << 16) | 1; // every byte is zero
    idat.extend((adler as u32).to_be_bytes());
    ferry::thumbnail::grey_png(side, side, &idat)
}

fn photo(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// An SQS message carrying S3's notification that `key` was created.
fn sqs_message(id: &str, key: &str, size: usize) -> serde_json::Value {
    let notification = serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:01.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"}, "responseElements": {},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "ferry-uploads",
               "bucket": {"name": "ferry-files", "arn": "arn:aws:s3:::ferry-files"},
               "object": {"key": key, "size": size}}
    }]});
    serde_json::json!({
        "messageId": id, "receiptHandle": "handle", "body": notification.to_string(),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "md5OfBody": "00000000000000000000000000000000", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ferry-events",
        "awsRegion": "us-east-1"
    })
}

#[tokio::test]
async fn an_image_bomb_gets_no_thumbnail_and_does_not_fail_its_batch() {
    let h = harness().await;
    let now = OffsetDateTime::now_utc();
    let mut uploads = Vec::new();
    for bytes in [png_bomb(16_000), photo(600, 400)] {
        let file = FileRecord {
            content_type: ContentType::parse("image/png").unwrap(),
            ..pending("owner-1", bytes.len() as u64, now)
        };
        h.meta.insert_pending_file(&file, 1 << 30).await.unwrap();
        h.objects
            .put(&file.object_key(), Bytes::from(bytes), "image/png")
            .await
            .unwrap();
        uploads.push(file);
    }
    let [bomb, good] = [&uploads[0], &uploads[1]];
    assert!(
        bomb.size < 2 << 20,
        "the bomb is small: {} bytes",
        bomb.size
    );

    let function = EventsFunction::new(h.ctx.clone(), None);
    let batch = serde_json::json!({"Records": [
        sqs_message("bomb", &bomb.object_key(), bomb.size as usize),
        sqs_message("good", &good.object_key(), good.size as usize),
    ]});
    let response = function.handle(batch).await.unwrap();

    assert!(
        response.batch_item_failures.is_empty(),
        "nothing is retried: {:?}",
        response.batch_item_failures
    );
    let good = h.meta.file(&good.owner, &good.id).await.unwrap().unwrap();
    assert_eq!(good.status, FileStatus::Ready);
    let thumbnail = good.thumbnail_key.expect("the good image has a thumbnail");
    assert!(h.objects.head(&thumbnail).await.unwrap().is_some());
    let bomb = h.meta.file(&bomb.owner, &bomb.id).await.unwrap().unwrap();
    assert_eq!(bomb.status, FileStatus::Ready, "the upload itself is fine");
    assert_eq!(bomb.thumbnail_key, None, "refused without decoding");
}

#[test]
fn the_test_bomb_is_a_real_png_of_the_claimed_size() {
    // Decoded only at a modest size: the 16000 × 16000 one would take 256 MB.
    let image = image::load_from_memory(&png_bomb(300)).unwrap();
    assert_eq!((image.width(), image.height()), (300, 300));
    assert!(image.to_luma8().pixels().all(|p| p.0 == [0]));
    let header = image::ImageReader::new(std::io::Cursor::new(png_bomb(16_000)))
        .with_guessed_format()
        .unwrap()
        .into_dimensions()
        .unwrap();
    assert_eq!(header, (16_000, 16_000));
}
