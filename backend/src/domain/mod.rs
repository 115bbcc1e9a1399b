//! Pure rules of the domain: identifiers, names and folder paths, records, share policy and
//! password hashing.
//! No I/O.

pub mod archive;
mod argon;
mod ids;
mod names;
pub mod parts;
pub mod password;
mod paths;
mod records;
pub mod requests;
pub mod share;

pub use ids::{
    FileId, IdError, ShareToken, UserId, file_object_key, parse_file_object_key, random_secret,
    thumbnail_object_key,
};
pub use names::{ContentType, FileName, NameError, content_disposition};
pub use paths::{FolderPath, PathError, listing_order};
pub use records::{FileRecord, ShareRecord, ShareRecordTerms, Shrunk};
