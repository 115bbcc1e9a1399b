//! Where s3s-fs keeps things in its root directory. Its file names are private to it (the
//! crate is pinned to `=0.14.1` for this reason), yet the endpoint writes some of those files
//! itself — a part's bytes, a completed object's metadata — and removes others: every such name
//! comes from [`S3sFsLayout`], and the test below drives s3s-fs itself and checks that it wrote
//! exactly the files named here, so a version that lays its files out otherwise fails it
//! instead of losing data.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use uuid::Uuid;

/// s3s-fs's file names under its (absolute) root directory.
#[derive(Clone, Debug)]
pub struct S3sFsLayout {
    root: PathBuf,
}

impl S3sFsLayout {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An object's bytes: `bucket/key` under the root.
    pub fn object(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// An object's attributes (content type, user metadata …).
    pub fn object_attributes(&self, bucket: &str, key: &str) -> PathBuf {
        self.object_file(bucket, key, ".metadata.json")
    }

    /// The attributes a multipart upload was created with; they become the object's when it
    /// completes.
    pub fn upload_attributes(&self, bucket: &str, key: &str, upload_id: &Uuid) -> PathBuf {
        self.object_file(bucket, key, &format!(".upload-{upload_id}.metadata.json"))
    }

    /// What s3s-fs records about an object's content: its ETag and checksums.
    pub fn object_info(&self, bucket: &str, key: &str) -> PathBuf {
        self.object_file(bucket, key, ".internal.json")
    }

    fn object_file(&self, bucket: &str, key: &str, suffix: &str) -> PathBuf {
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        self.root.join(format!(
            ".bucket-{}.object-{}{suffix}",
            encode(bucket),
            encode(key)
        ))
    }

    /// s3s-fs's record that a multipart upload exists (and whose it is).
    pub fn upload_record(&self, upload_id: &Uuid) -> PathBuf {
        self.root.join(format!(".upload-{upload_id}.json"))
    }

    /// A part's bytes, where s3s-fs's CompleteMultipartUpload reads them.
    pub fn part(&self, upload_id: &Uuid, number: i32) -> PathBuf {
        self.root
            .join(format!("{}part-{number}", Self::upload_prefix(upload_id)))
    }

    /// The file-name prefix of an upload's parts: s3s-fs's AbortMultipartUpload removes every
    /// file in the root whose name starts with it, so what is kept beside the parts goes under
    /// it too.
    pub fn upload_prefix(upload_id: &Uuid) -> String {
        format!(".upload_id-{upload_id}.")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use bytes::Bytes;
    use s3s::dto::*;
    use s3s::{S3, S3Request};

    use super::*;

    fn request<T>(input: T) -> S3Request<T> {
        S3Request {
            input,
            method: http::Method::PUT,
            uri: http::Uri::from_static("/"),
            headers: http::HeaderMap::new(),
            extensions: http::Extensions::new(),
            credentials: None,
            region: None,
            service: None,
            trailing_headers: None,
        }
    }

    fn blob(bytes: &'static [u8]) -> StreamingBlob {
        let chunk: Result<Bytes, std::io::Error> = Ok(Bytes::from_static(bytes));
        StreamingBlob::wrap(futures::stream::iter([chunk]))
    }

    /// Every file under `dir`, relative to it.
    fn files(dir: &Path) -> BTreeSet<PathBuf> {
        let mut found = BTreeSet::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(at) = pending.pop() {
            for entry in std::fs::read_dir(&at).expect("read dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.insert(path.strip_prefix(dir).expect("under root").to_path_buf());
                }
            }
        }
        found
    }

    fn relative(layout: &S3sFsLayout, paths: &[PathBuf]) -> BTreeSet<PathBuf> {
        paths
            .iter()
            .map(|p| {
                p.strip_prefix(layout.root())
                    .expect("under root")
                    .to_path_buf()
            })
            .collect()
    }

    #[tokio::test]
    async fn the_layout_names_exactly_the_files_s3s_fs_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("root");
        let (bucket, key, upload_key) = ("ferry-files", "files/a/0190", "files/b/0191");
        std::fs::create_dir_all(root.join(bucket)).expect("bucket dir");
        let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs");
        let layout = S3sFsLayout::new(root.clone());

        let put = PutObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .body(Some(blob(b"hello")))
            .content_length(Some(5))
            .content_type(Some("text/plain".to_owned()))
            .build()
            .expect("put input");
        fs.put_object(request(put)).await.expect("put");
        let object_files = [
            layout.object(bucket, key),
            layout.object_attributes(bucket, key),
            layout.object_info(bucket, key),
        ];
        assert_eq!(files(&root), relative(&layout, &object_files));

        let create = CreateMultipartUploadInput::builder()
            .bucket(bucket.to_owned())
            .key(upload_key.to_owned())
            .content_type(Some("image/png".to_owned()))
            .build()
            .expect("create input");
        let created = fs
            .create_multipart_upload(request(create))
            .await
            .expect("create");
        let upload_id = created.output.upload_id.expect("upload id");
        let id = Uuid::parse_str(&upload_id).expect("uuid");
        let part = UploadPartInput::builder()
            .bucket(bucket.to_owned())
            .key(upload_key.to_owned())
            .upload_id(upload_id.clone())
            .part_number(1)
            .body(Some(blob(b"part one")))
            .content_length(Some(8))
            .build()
            .expect("part input");
        fs.upload_part(request(part)).await.expect("upload part");
        let mut with_upload = object_files.to_vec();
        with_upload.extend([
            layout.upload_record(&id),
            layout.upload_attributes(bucket, upload_key, &id),
            layout.part(&id, 1),
        ]);
        assert_eq!(files(&root), relative(&layout, &with_upload));

        // What the endpoint keeps under the upload's prefix goes with an abort.
        let kept = root.join(format!(
            "{}ferry-upload.json",
            S3sFsLayout::upload_prefix(&id)
        ));
        std::fs::write(&kept, b"{}").expect("ledger file");
        let abort = AbortMultipartUploadInput::builder()
            .bucket(bucket.to_owned())
            .key(upload_key.to_owned())
            .upload_id(upload_id)
            .build()
            .expect("abort input");
        fs.abort_multipart_upload(request(abort))
            .await
            .expect("abort");
        assert!(!kept.exists());
        assert!(!layout.part(&id, 1).exists());
        assert!(!layout.upload_record(&id).exists());
        assert!(layout.object(bucket, key).exists());
    }
}
