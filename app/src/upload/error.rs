//! Why an upload failed, in words for the person who dropped the file, and what the API's and
//! storage's refusals mean for the upload.

use ferry_api::codes;

use crate::api_client::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    TooLarge,
    OverQuota,
    InvalidName,
    /// The folder path was refused (`invalid_path`).
    InvalidPath,
    /// The connection dropped or storage could not be reached.
    Network,
    /// The presigned URL lapsed before the bytes arrived.
    Expired,
    /// Signed out meanwhile.
    SignedOut,
    Other,
}

/// Why an upload failed, in words for the person who dropped the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadError {
    pub kind: ErrorKind,
    pub message: String,
}

impl UploadError {
    pub fn network() -> Self {
        Self {
            kind: ErrorKind::Network,
            message: "The connection was interrupted. Check your network and retry.".to_owned(),
        }
    }

    /// A refusal from object storage, by HTTP status.
    pub fn from_storage_status(status: u16) -> Self {
        match status {
            0 => Self::network(),
            403 => Self {
                kind: ErrorKind::Expired,
                message:
                    "The upload link expired before the file was sent. Retry to get a new one."
                        .to_owned(),
            },
            _ => Self {
                kind: ErrorKind::Other,
                message: format!("Storage refused the file (HTTP {status}). Retry in a moment."),
            },
        }
    }

    /// An API refusal of `POST /api/uploads`.
    pub fn from_api(err: &ApiError) -> Self {
        if err.code == codes::INVALID_PATH {
            return Self {
                kind: ErrorKind::InvalidPath,
                message: format!("Folder path not allowed: {}", err.message),
            };
        }
        let kind = match err.code.as_str() {
            codes::FILE_TOO_LARGE => ErrorKind::TooLarge,
            codes::QUOTA_EXCEEDED => ErrorKind::OverQuota,
            codes::INVALID_NAME | codes::INVALID_SIZE => ErrorKind::InvalidName,
            codes::UNAUTHORIZED => ErrorKind::SignedOut,
            _ if err.is_network() => ErrorKind::Network,
            _ => ErrorKind::Other,
        };
        Self {
            kind,
            message: err.message.clone(),
        }
    }

    /// Trying again can help (not for a file that will never fit the rules).
    pub fn retryable(&self) -> bool {
        !matches!(
            self.kind,
            ErrorKind::TooLarge | ErrorKind::InvalidName | ErrorKind::InvalidPath
        )
    }
}

/// The server no longer knows the multipart upload (abandoned and cleaned up, or deleted
/// elsewhere): a retry starts afresh.
pub fn upload_gone(err: &ApiError) -> bool {
    err.status == 404 || err.code == codes::UPLOAD_EXPIRED || err.code == codes::NOT_MULTIPART
}

impl UploadError {
    fn other(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Other,
            message: message.into(),
        }
    }

    /// The file could not be read before its upload started.
    pub fn unreadable() -> Self {
        Self::other("The file could not be read. It may have been moved or changed; pick it again.")
    }

    /// The API's part layout does not fit the file.
    pub fn odd_layout() -> Self {
        Self::other(
            "Ferry answered with a part layout that does not fit the file. Retry in a moment.",
        )
    }

    /// The multipart upload was cleaned up on the server.
    pub fn cleaned_up() -> Self {
        Self::other(
            "The unfinished upload was cleaned up on the server. Retry to send the file again.",
        )
    }

    /// Storage stored a part but did not show its ETag.
    pub fn no_etag() -> Self {
        Self::other(
            "Storage did not show the part's ETag (a CORS setting); the upload cannot be \
             completed.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, code: &str) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: "no".into(),
        }
    }

    #[test]
    fn an_upload_is_gone_when_the_server_no_longer_knows_it() {
        assert!(upload_gone(&refusal(404, codes::NOT_FOUND)));
        assert!(upload_gone(&refusal(410, codes::UPLOAD_EXPIRED)));
        assert!(upload_gone(&refusal(409, codes::NOT_MULTIPART)));
        assert!(!upload_gone(&refusal(409, codes::UPLOAD_CLOSED)));
        assert!(!upload_gone(&refusal(400, codes::PART_MISSING)));
        assert!(!upload_gone(&ApiError::network("offline")));
    }

    #[test]
    fn the_runner_s_own_failures_are_retryable() {
        for err in [
            UploadError::unreadable(),
            UploadError::odd_layout(),
            UploadError::cleaned_up(),
            UploadError::no_etag(),
        ] {
            assert_eq!(err.kind, ErrorKind::Other);
            assert!(err.retryable(), "{}", err.message);
        }
    }

    #[test]
    fn a_refused_folder_path_says_so_and_is_not_retried() {
        let err = UploadError::from_api(&ApiError {
            status: 400,
            code: codes::INVALID_PATH.into(),
            message: "A folder name may not be “..”.".into(),
        });
        assert_eq!(err.kind, ErrorKind::InvalidPath);
        assert_eq!(
            err.message,
            "Folder path not allowed: A folder name may not be “..”."
        );
        assert!(!err.retryable());
    }
}
