//! The owner's page: names opened once per file, "Encrypted file" without a key.

use ferry_api::encryption::{ENCRYPTED_NAME, EncryptedMeta, META_VERSION};
use ferry_api::{File, FileStatus};

use super::super::keyring::{KeyRing, UNKNOWN_NAME};
use super::super::names::{SealedNames, Shown, open};
use super::*;

fn sealed_file(id: &str, key: &TransferKey, name: &str, folder: Option<&str>, size: u64) -> File {
    let secrets = FileSecrets {
        name: name.to_owned(),
        folder: folder.map(str::to_owned),
        content_type: "image/png".to_owned(),
        size,
        salt: crate::base64::encode_url(&[3; SALT_LEN]),
    };
    let blob = run(meta::seal(&Native, key, [4; SALT_LEN], &secrets)).unwrap();
    File {
        id: id.to_owned(),
        name: ENCRYPTED_NAME.to_owned(),
        size: CONTENT_RECORDS.ciphertext_size(size).unwrap(),
        content_type: "application/octet-stream".to_owned(),
        status: FileStatus::Ready,
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        thumbnail_url: None,
        sha256: None,
        folder: None,
        encrypted: Some(EncryptedMeta {
            meta: crate::base64::encode_url(&blob),
            version: META_VERSION,
        }),
        request: None,
    }
}

#[test]
fn names_open_with_the_ring_and_each_file_is_opened_once() {
    let key = TransferKey::from_bytes([5; 32]);
    let mut ring = KeyRing::default();
    let mut files: Vec<File> = (0..1_000)
        .map(|i| {
            let id = format!("f{i}");
            ring.remember(&id, &key);
            sealed_file(
                &id,
                &key,
                &format!("img {i}.png"),
                Some("photos//2026/"),
                70_000,
            )
        })
        .collect();
    let mut names = SealedNames::default();
    let batch = names.take_to_open(&files, &ring);
    assert_eq!(batch.len(), 1_000);
    // While they are being opened, nothing is handed out twice.
    assert!(names.take_to_open(&files, &ring).is_empty());
    names.remember(run(open(&Native, batch)));
    assert_eq!(names.len(), 1_000);
    assert!(names.take_to_open(&files, &ring).is_empty());

    for file in &mut files {
        names.apply(file);
        names.apply(file); // twice changes nothing
    }
    assert_eq!(files[7].name, "img 7.png");
    assert_eq!(files[7].folder.as_deref(), Some("photos/2026"));
    assert_eq!(files[7].size, 70_000);
    assert!(!names.is_locked(&files[7]));
    assert_eq!(names.name_of("f7"), Some("img 7.png"));
}

#[test]
fn without_the_key_a_file_reads_encrypted_file_with_its_plaintext_size() {
    let key = TransferKey::from_bytes([5; 32]);
    let mut file = sealed_file("x", &key, "secret.png", Some("private"), 200_000);
    let mut names = SealedNames::default();
    let mut other_device = SealedNames::default();
    assert!(
        other_device
            .take_to_open([&file], &KeyRing::default())
            .is_empty()
    );
    names.apply(&mut file);
    assert_eq!(file.name, UNKNOWN_NAME);
    assert_eq!(file.folder, None);
    assert_eq!(file.size, 200_000);
    assert!(names.is_locked(&file));
    names.apply(&mut file);
    assert_eq!((file.name.as_str(), file.size), (UNKNOWN_NAME, 200_000));

    // A key that does not open it (or a damaged blob): still "Encrypted file", and not retried.
    let mut ring = KeyRing::default();
    ring.remember("x", &TransferKey::from_bytes([6; 32]));
    let mut wrong = SealedNames::default();
    let mut file = sealed_file("x", &key, "secret.png", None, 10);
    let batch = wrong.take_to_open([&file], &ring);
    let opened = run(open(&Native, batch));
    assert_eq!(opened, vec![("x".to_owned(), Shown::Unopenable)]);
    wrong.remember(opened);
    assert!(wrong.take_to_open([&file], &ring).is_empty());
    wrong.apply(&mut file);
    assert_eq!(file.name, UNKNOWN_NAME);
    assert!(wrong.is_locked(&file));

    // Plain files are left alone.
    let mut plain = sealed_file("p", &key, "a", None, 1);
    plain.encrypted = None;
    plain.name = "plain.txt".to_owned();
    names.apply(&mut plain);
    assert_eq!(plain.name, "plain.txt");
    assert!(!names.is_locked(&plain));
}

#[test]
fn a_sealed_thumbnail_is_never_shown_as_is_and_shows_once_opened() {
    let key = TransferKey::from_bytes([5; 32]);
    let mut ring = KeyRing::default();
    ring.remember("x", &key);
    let mut file = sealed_file("x", &key, "cat.png", None, 10);
    file.thumbnail_url = Some("https://s3/thumbs/x.webp?sig".to_owned());
    let mut names = SealedNames::default();
    names.apply(&mut file);
    assert_eq!(file.thumbnail_url, None);
    assert!(names.take_thumbs_to_open(&KeyRing::default()).is_empty());
    let batch = names.take_thumbs_to_open(&ring);
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].url, "https://s3/thumbs/x.webp?sig");
    assert!(names.take_thumbs_to_open(&ring).is_empty());
    names.remember_thumb("x".to_owned(), Some("blob:https://ferry/1".to_owned()));
    // The list comes again with a fresh presigned URL: the opened copy stays.
    file.thumbnail_url = Some("https://s3/thumbs/x.webp?sig2".to_owned());
    names.apply(&mut file);
    assert_eq!(file.thumbnail_url.as_deref(), Some("blob:https://ferry/1"));
    names.apply(&mut file);
    assert_eq!(file.thumbnail_url.as_deref(), Some("blob:https://ferry/1"));
    assert!(names.take_thumbs_to_open(&ring).is_empty());

    // One that did not open shows no image, and is not fetched again.
    let mut other = sealed_file("y", &key, "dog.png", None, 10);
    ring.remember("y", &key);
    other.thumbnail_url = Some("https://s3/thumbs/y.webp".to_owned());
    names.apply(&mut other);
    assert_eq!(names.take_thumbs_to_open(&ring).len(), 1);
    names.remember_thumb("y".to_owned(), None);
    other.thumbnail_url = Some("https://s3/thumbs/y.webp".to_owned());
    names.apply(&mut other);
    assert_eq!(other.thumbnail_url, None);
    assert!(names.take_thumbs_to_open(&ring).is_empty());
}
