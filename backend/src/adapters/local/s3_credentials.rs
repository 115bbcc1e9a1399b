//! The embedded S3 endpoint's key pair: random for each data directory, kept in a file only its
//! owner can read (`s3-credentials`, mode 0600), made once and reused on every start, so a
//! published key pair never opens anyone's files. `ferry credentials` prints it for CLI use.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use rand::Rng as _;

/// The file's name in the data directory.
pub const FILE_NAME: &str = "s3-credentials";

const ACCESS_KEY_VAR: &str = "AWS_ACCESS_KEY_ID";
const SECRET_KEY_VAR: &str = "AWS_SECRET_ACCESS_KEY";

/// A key pair of the embedded endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl S3Credentials {
    /// A fresh pair shaped like AWS's: a 20-character access key, a 40-character secret.
    fn generate() -> Self {
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = rand::rng();
        let mut pick = |alphabet: &[u8], n: usize| -> String {
            (0..n)
                .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
                .collect()
        };
        Self {
            access_key: format!("FERRY{}", pick(UPPER, 15)),
            secret_key: pick(SECRET, 40),
        }
    }

    /// The pair as shell assignments, e.g. for `eval "$(ferry credentials)"`.
    pub fn env_lines(&self) -> String {
        format!(
            "{ACCESS_KEY_VAR}={}\n{SECRET_KEY_VAR}={}\n",
            self.access_key, self.secret_key
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let value = |name: &str| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(key, _)| key.trim() == name)
                .map(|(_, value)| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        Some(Self {
            access_key: value(ACCESS_KEY_VAR)?,
            secret_key: value(SECRET_KEY_VAR)?,
        })
    }
}

/// The data directory's key pair, made on first use. A new file is written under a temporary
/// name with mode 0600 and linked into place, so a reader never sees half of it and two
/// processes starting at once agree on one pair.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<S3Credentials> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let path = data_dir.join(FILE_NAME);
    if let Some(existing) = read(&path)? {
        return Ok(existing);
    }
    let fresh = S3Credentials::generate();
    let tmp = data_dir.join(format!(".{FILE_NAME}.tmp-{:016x}", rand::random::<u64>()));
    let written = write_private(&tmp, fresh.env_lines().as_bytes())
        .and_then(|()| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(fresh),
        // Another process linked its pair first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(&path)?.with_context(|| format!("{} holds no key pair", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

fn read(path: &Path) -> anyhow::Result<Option<S3Credentials>> {
    match std::fs::read_to_string(path) {
        Ok(text) => S3Credentials::parse(&text).map(Some).with_context(|| {
            format!(
                "{} holds no {ACCESS_KEY_VAR}/{SECRET_KEY_VAR}; delete it to make a new pair",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pair_reads_back_from_its_lines() {
        let pair = S3Credentials::generate();
        assert_eq!(pair.access_key.len(), 20);
        assert_eq!(pair.secret_key.len(), 40);
        assert_eq!(S3Credentials::parse(&pair.env_lines()), Some(pair.clone()));
        assert_ne!(S3Credentials::generate(), pair);
        assert!(!format!("{pair:?}").contains(&pair.secret_key));
        assert_eq!(S3Credentials::parse("AWS_ACCESS_KEY_ID=x\n"), None);
    }
}
