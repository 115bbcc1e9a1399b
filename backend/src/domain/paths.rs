//! Folder paths of uploaded folders (`photos/2026`): validated segment by segment with the rules
//! of [`FileName`], stored for display and for the paths inside a ZIP, never used to build keys.

use std::cmp::Ordering;
use std::fmt;

use ferry_api::paths::{MAX_FOLDER_BYTES, MAX_FOLDER_DEPTH};
use serde::{Deserialize, Serialize};

use super::names::check_stored_name;
use super::{FileName, NameError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("The folder path must be relative: it cannot start with \"/\".")]
    Absolute,
    #[error("The folder path has an empty segment (\"//\" or a trailing \"/\").")]
    EmptySegment,
    #[error("The folder path cannot contain \".\" or \"..\".")]
    Dots,
    #[error("The folder path has more than {MAX_FOLDER_DEPTH} folders.")]
    TooDeep,
    #[error("The folder path is longer than {MAX_FOLDER_BYTES} bytes.")]
    TooLong,
    #[error("A folder name in the path is not valid: {0}")]
    Segment(NameError),
}

/// A relative folder path: 1 to [`MAX_FOLDER_DEPTH`] segments joined by `/`, each a valid
/// [`FileName`] (NFC, trimmed, no control characters, no separators or look-alikes, not `.` or
/// `..`), at most [`MAX_FOLDER_BYTES`] bytes in all. The top level is no path (`None`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FolderPath(String);

impl FolderPath {
    /// `None` for an absent or empty path (the top level), the checked path otherwise.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, PathError> {
        match raw {
            None | Some("") => Ok(None),
            Some(raw) => Self::parse(raw).map(Some),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if raw.starts_with('/') {
            return Err(PathError::Absolute);
        }
        let mut segments = Vec::new();
        for segment in raw.split('/') {
            if segment.is_empty() {
                return Err(PathError::EmptySegment);
            }
            if segments.len() == MAX_FOLDER_DEPTH {
                return Err(PathError::TooDeep);
            }
            let name = FileName::parse(segment).map_err(segment_error)?;
            segments.push(String::from(name));
        }
        let path = segments.join("/");
        if path.len() > MAX_FOLDER_BYTES {
            return Err(PathError::TooLong);
        }
        Ok(Self(path))
    }

    /// A path read back from Ferry's own store, which only holds paths [`FolderPath::parse`]
    /// made: segments are not normalised again, but each is checked as
    /// [`FileName::from_stored`] checks a name, and the depth and length as on input.
    pub fn from_stored(raw: &str) -> Result<Self, PathError> {
        if raw.len() > MAX_FOLDER_BYTES {
            return Err(PathError::TooLong);
        }
        for (depth, segment) in raw.split('/').enumerate() {
            if depth == MAX_FOLDER_DEPTH {
                return Err(PathError::TooDeep);
            }
            check_stored_name(segment).map_err(segment_error)?;
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The outermost folder (`photos` of `photos/2026`).
    pub fn top(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

/// A segment's fault as the path's: `.`/`..` and empty segments have their own codes.
fn segment_error(err: NameError) -> PathError {
    match err {
        NameError::Dots => PathError::Dots,
        NameError::Empty => PathError::EmptySegment,
        other => PathError::Segment(other),
    }
}

/// The order a transfer lists its files in: top-level files first, then folder by folder
/// (segment by segment, so `a/b` comes before `a b`), each folder's files by name.
pub fn listing_order(a: (Option<&FolderPath>, &str), b: (Option<&FolderPath>, &str)) -> Ordering {
    fn segments(p: Option<&FolderPath>) -> Option<Vec<&str>> {
        p.map(|p| p.segments().collect())
    }
    segments(a.0).cmp(&segments(b.0)).then_with(|| a.1.cmp(b.1))
}

impl TryFrom<String> for FolderPath {
    type Error = PathError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FolderPath> for String {
    fn from(value: FolderPath) -> Self {
        value.0
    }
}

impl fmt::Display for FolderPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_relative_paths_and_normalises_each_segment() {
        assert_eq!(
            FolderPath::parse("photos/2026").unwrap().as_str(),
            "photos/2026"
        );
        assert_eq!(
            FolderPath::parse(" photos / re\u{301}sume\u{301} ")
                .unwrap()
                .as_str(),
            "photos/résumé"
        );
        assert_eq!(FolderPath::parse(".git/x").unwrap().top(), ".git");
        assert_eq!(FolderPath::parse_optional(None), Ok(None));
        assert_eq!(FolderPath::parse_optional(Some("")), Ok(None));
        let deepest = vec!["d"; MAX_FOLDER_DEPTH].join("/");
        assert!(FolderPath::parse(&deepest).is_ok());
    }

    #[test]
    fn refuses_paths_that_could_escape_or_confuse() {
        let cases = [
            ("/abs", PathError::Absolute),
            ("a//b", PathError::EmptySegment),
            ("a/", PathError::EmptySegment),
            ("a/ /b", PathError::EmptySegment),
            ("../x", PathError::Dots),
            ("a/./b", PathError::Dots),
            ("a/..", PathError::Dots),
            ("a\\b", PathError::Segment(NameError::Separator)),
            ("a\u{FF0F}b", PathError::Segment(NameError::Separator)),
            ("a/b\nc", PathError::Segment(NameError::Control)),
        ];
        for (raw, err) in cases {
            assert_eq!(FolderPath::parse(raw), Err(err), "{raw:?}");
        }
        let too_deep = vec!["d"; MAX_FOLDER_DEPTH + 1].join("/");
        assert_eq!(FolderPath::parse(&too_deep), Err(PathError::TooDeep));
        let too_long = vec!["x".repeat(200); 6].join("/");
        assert_eq!(FolderPath::parse(&too_long), Err(PathError::TooLong));
        assert!(matches!(
            FolderPath::parse(&"é".repeat(128)),
            Err(PathError::Segment(NameError::TooLong))
        ));
    }

    #[test]
    fn files_list_top_level_first_then_folder_by_folder() {
        let p = |s: &str| FolderPath::parse(s).unwrap();
        let (ab, a_b, a) = (p("a/b"), p("a b"), p("a"));
        let mut files = [
            (Some(&a_b), "z"),
            (Some(&ab), "y"),
            (None, "x"),
            (Some(&a), "w"),
            (Some(&a), "v"),
        ];
        files.sort_by(|x, y| listing_order(*x, *y));
        let names: Vec<&str> = files.iter().map(|(_, n)| *n).collect();
        assert_eq!(names, ["x", "v", "w", "y", "z"]);
    }

    #[test]
    fn stored_paths_are_checked_for_damage_not_normalised_again() {
        let decomposed = "photos/Cafe\u{301}";
        assert_eq!(
            FolderPath::from_stored(decomposed).unwrap().as_str(),
            decomposed
        );
        assert_eq!(FolderPath::from_stored("/a"), Err(PathError::EmptySegment));
        assert_eq!(
            FolderPath::from_stored("a//b"),
            Err(PathError::EmptySegment)
        );
        assert_eq!(FolderPath::from_stored("a/../b"), Err(PathError::Dots));
        assert!(matches!(
            FolderPath::from_stored("a/b\\c"),
            Err(PathError::Segment(NameError::Separator))
        ));
        let deep = vec!["a"; MAX_FOLDER_DEPTH + 1].join("/");
        assert_eq!(FolderPath::from_stored(&deep), Err(PathError::TooDeep));
        let long = vec!["x".repeat(200); MAX_FOLDER_BYTES / 200 + 1].join("/");
        assert_eq!(FolderPath::from_stored(&long), Err(PathError::TooLong));
    }
}
