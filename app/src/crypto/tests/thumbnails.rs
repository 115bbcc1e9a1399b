//! Sealed thumbnails: sizes, sealing and what does not open.

use ferry_api::encryption::MAX_THUMBNAIL_BYTES;

use super::super::thumbnail::{self, MAX_IMAGE_BYTES, fit, image_type, wanted};
use super::*;

#[test]
fn thumbnails_fit_256_pixels_and_are_never_enlarged() {
    assert_eq!(fit(4000, 3000), (256, 192));
    assert_eq!(fit(3000, 4000), (192, 256));
    assert_eq!(fit(100, 50), (100, 50));
    assert_eq!(fit(10_000, 1), (256, 1));
    assert_eq!(fit(0, 0), (1, 1));
    assert!(wanted("image/JPEG", 1e6));
    assert!(!wanted("image/svg+xml", 1e3));
    assert!(!wanted("image/png", 0.0));
    assert!(!wanted("image/png", 60.0 * 1024.0 * 1024.0));
    assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
    assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
    assert_eq!(image_type(b"<svg"), "application/octet-stream");
}

#[test]
fn a_sealed_thumbnail_opens_with_its_key_only_and_fits_the_grant() {
    let key = TransferKey::from_bytes([8; 32]);
    let image = b"RIFF\0\0\0\0WEBPVP8 pixels".repeat(50);
    let sealed = run(thumbnail::seal(&Native, &key, [1; SALT_LEN], &image)).unwrap();
    assert!(
        !sealed.windows(4).any(|w| w == b"WEBP"),
        "no plaintext in the sealed bytes"
    );
    assert_eq!(run(thumbnail::open(&Native, &key, &sealed)).unwrap(), image);
    let other = TransferKey::from_bytes([9; 32]);
    assert_eq!(
        run(thumbnail::open(&Native, &other, &sealed)),
        Err(CryptoError::Tampered)
    );
    let mut flipped = sealed.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(
        run(thumbnail::open(&Native, &key, &flipped)),
        Err(CryptoError::Tampered)
    );

    // The largest image fills the grant exactly; one byte more is refused before sealing.
    let largest = vec![0x5A; MAX_IMAGE_BYTES];
    let sealed = run(thumbnail::seal(&Native, &key, [2; SALT_LEN], &largest)).unwrap();
    assert_eq!(sealed.len() as u64, MAX_THUMBNAIL_BYTES);
    assert_eq!(
        run(thumbnail::open(&Native, &key, &sealed)).unwrap(),
        largest
    );
    let too_big = vec![0; MAX_IMAGE_BYTES + 1];
    assert!(run(thumbnail::seal(&Native, &key, [2; SALT_LEN], &too_big)).is_err());

    // A metadata blob of the same key is not a thumbnail.
    let secrets = FileSecrets {
        name: "a".into(),
        folder: None,
        content_type: "image/png".into(),
        size: 1,
        salt: crate::base64::encode_url(&[3; SALT_LEN]),
    };
    let blob = run(meta::seal(&Native, &key, [4; SALT_LEN], &secrets)).unwrap();
    assert!(matches!(
        run(thumbnail::open(&Native, &key, &blob)),
        Err(CryptoError::Malformed(_))
    ));
}
