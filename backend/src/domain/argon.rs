//! Argon2id password hashing with reused work memory.
//!
//! Each hash needs [`M_COST_KIB`] of memory. Allocating it per hash left the process about that
//! much bigger after every sign-in: glibc keeps freed blocks of this size in the thread's arena,
//! and the blocking pool's threads (and the small allocations interleaved with the big ones)
//! made it grow by a hash's memory at almost every sign-in, hundreds of MiB after a few dozen.
//! The memory now comes from a pool of at most [`KEEP`] buffers that are never freed: the
//! process holds at most `KEEP × M_COST_KIB`, however many people sign in.
//!
//! Parameters: Argon2id, m = 9 MiB, t = 4, p = 1: one of OWASP's equivalent minimum
//! configurations (Password Storage Cheat Sheet: m=19456/t=2, m=12288/t=3, m=9216/t=4, …), about
//! the same CPU time as m=19 MiB/t=2 (36 MiB of memory passes against 38) with less than half
//! the memory held per hash. Hashes carry their parameters (PHC strings), so hashes made with
//! other parameters (Ferry's earlier m=19456/t=2) still verify.

use std::sync::Mutex;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;

/// Work memory of one hash, in KiB.
pub const M_COST_KIB: u32 = 9 * 1024;
/// Passes over that memory.
pub const T_COST: u32 = 4;
/// Buffers kept for reuse (more hashes at once than this allocate and free their own; the
/// password gate lets as many run at once as there are cores).
pub const KEEP: usize = 4;
const OUTPUT_LEN: usize = 32;

static POOL: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

fn params() -> Result<Params, argon2::Error> {
    Params::new(M_COST_KIB, T_COST, 1, Some(OUTPUT_LEN))
}

/// Runs `job` with at least `blocks` blocks of work memory from the pool.
fn with_memory<T>(blocks: usize, job: impl FnOnce(&mut [Block]) -> T) -> T {
    let taken = POOL.lock().map(|mut pool| pool.pop()).unwrap_or(None);
    let mut memory = taken.unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = job(&mut memory[..blocks]);
    if let Ok(mut pool) = POOL.lock()
        && pool.len() < KEEP
    {
        pool.push(memory);
    }
    result
}

fn run(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    with_memory(argon.params().block_count(), |memory| {
        argon.hash_password_into_with_memory(password, salt, out, memory)
    })
}

/// Hashes `password` with a random salt; the PHC string (`$argon2id$v=19$m=…`).
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    let params = params()?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    let mut raw_salt = [0u8; 64];
    run(
        &argon,
        password.as_bytes(),
        salt.decode_b64(&mut raw_salt)?,
        &mut out,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a PHC string made by [`hash`] (or by the `argon2` crate with any
/// parameters); a malformed hash never matches. The comparison is constant-time.
pub fn verify(password: &str, hash: &str) -> bool {
    let check = || -> Result<bool, argon2::password_hash::Error> {
        let parsed = PasswordHash::new(hash)?;
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(&parsed)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let argon = Argon2::new(algorithm, version, params);
        let mut raw_salt = [0u8; 64];
        let mut out = vec![0u8; expected.len()];
        run(
            &argon,
            password.as_bytes(),
            salt.decode_b64(&mut raw_salt)?,
            &mut out,
        )?;
        Ok(Output::new(&out)? == expected)
    };
    check().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_verify_here_and_with_the_argon2_crate_and_back() {
        let ours = hash("correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=9216,t=4,p=1$"), "{ours}");
        assert!(verify("correct horse", &ours));
        assert!(!verify("correct horsf", &ours));
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // A hash made the way Ferry made them before (the crate's defaults, m = 19 MiB).
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let before = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(before.contains("m=19456,t=2"), "{before}");
        assert!(verify("correct horse", &before));
        assert!(!verify("wrong", &before));
        assert!(!verify(
            "correct horse",
            "$argon2id$v=19$m=12288,t=3,p=1$c2FsdA$aGFzaA"
        ));
        assert!(!verify("correct horse", "not a hash"));
    }

    #[test]
    fn work_memory_is_reused_not_grown() {
        for _ in 0..KEEP + 2 {
            assert!(verify("pw", &hash("pw").unwrap()));
        }
        let pool = POOL.lock().unwrap();
        assert!(pool.len() <= KEEP);
    }
}
