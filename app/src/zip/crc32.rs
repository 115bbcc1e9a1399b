//! CRC-32 (IEEE 802.3, the ZIP checksum) computed while the bytes stream past. Slice-by-8
//! tables are built once at run time rather than baked into the binary, so the recipients'
//! page stays small and still checksums at several hundred MB/s in WebAssembly.

use std::sync::OnceLock;

const POLY: u32 = 0xEDB8_8320;

type Tables = [[u32; 256]; 8];

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Box<Tables>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u32; 256]; 8]);
        for n in 0..256 {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 { POLY ^ (c >> 1) } else { c >> 1 };
            }
            t[0][n] = c;
        }
        for n in 0..256 {
            for k in 1..8 {
                let prev = t[k - 1][n];
                t[k][n] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            }
        }
        t
    })
}

/// A running CRC-32.
#[derive(Clone, Copy, Debug)]
pub struct Crc32 {
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    pub fn new() -> Self {
        Self { state: !0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let t = tables();
        let mut c = self.state;
        let mut chunks = bytes.chunks_exact(8);
        for b in &mut chunks {
            let lo = c ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            c = t[7][(lo & 0xFF) as usize]
                ^ t[6][((lo >> 8) & 0xFF) as usize]
                ^ t[5][((lo >> 16) & 0xFF) as usize]
                ^ t[4][(lo >> 24) as usize]
                ^ t[3][b[4] as usize]
                ^ t[2][b[5] as usize]
                ^ t[1][b[6] as usize]
                ^ t[0][b[7] as usize];
        }
        for &b in chunks.remainder() {
            c = (c >> 8) ^ t[0][((c ^ u32::from(b)) & 0xFF) as usize];
        }
        self.state = c;
    }

    pub fn value(&self) -> u32 {
        !self.state
    }

    /// The CRC after `len` more zero bytes, without touching them: GF(2) matrix powers, as
    /// zlib's `crc32_combine` does. Lets tests stream a sparse multi-GiB entry honestly.
    #[cfg(test)]
    pub fn update_zeros(&mut self, mut len: u64) {
        // `odd` is the operator for one zero bit; square it up to one byte, then by powers of two.
        let mut odd = [0u32; 32];
        odd[0] = POLY;
        let mut row = 1u32;
        for slot in odd.iter_mut().skip(1) {
            *slot = row;
            row <<= 1;
        }
        let two = square(&odd);
        let four = square(&two);
        let mut op = square(&four);
        while len > 0 {
            if len & 1 == 1 {
                self.state = times(&op, self.state);
            }
            len >>= 1;
            op = square(&op);
        }
    }
}

#[cfg(test)]
fn times(matrix: &[u32; 32], mut vec: u32) -> u32 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 == 1 {
            sum ^= matrix[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

#[cfg(test)]
fn square(matrix: &[u32; 32]) -> [u32; 32] {
    let mut out = [0u32; 32];
    for (n, slot) in out.iter_mut().enumerate() {
        *slot = times(matrix, matrix[n]);
    }
    out
}

/// The CRC-32 of `bytes` in one go.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn streaming_in_any_pieces_gives_the_same_value() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = crc32(&data);
        for split in [1, 3, 7, 8, 9, 64, 4097] {
            let mut c = Crc32::new();
            for piece in data.chunks(split) {
                c.update(piece);
            }
            assert_eq!(c.value(), whole, "pieces of {split}");
        }
    }

    #[test]
    fn zero_runs_match_streamed_zeros() {
        for (prefix, len) in [(&b""[..], 1u64), (b"abc", 1000), (b"ferry", 123_457)] {
            let mut streamed = Crc32::new();
            streamed.update(prefix);
            streamed.update(&vec![0u8; len as usize]);
            let mut skipped = Crc32::new();
            skipped.update(prefix);
            skipped.update_zeros(len);
            assert_eq!(skipped.value(), streamed.value(), "{len} zeros");
        }
    }
}
