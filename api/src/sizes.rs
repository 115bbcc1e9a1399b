//! Sizes in words for people, the same in the app and in the API's messages: binary units
//! labelled as such (`"1.5 MiB"`).

const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/// Bytes in binary units with one decimal below 100 (`"1.5 MiB"`, `"240 KiB"`, `"12 bytes"`).
pub fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        return if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        };
    }
    // Integer arithmetic throughout: the value is `bytes / 2^shift`, rounded as `{:.1}` rounds
    // (half to even on the exact value). Formatting an `f64` would link the float printer into
    // the app's wasm.
    let mut unit = 0;
    let mut shift = 10;
    while (bytes >> shift) >= 1024 && unit < UNITS.len() - 1 {
        shift += 10;
        unit += 1;
    }
    // Rounding may carry into the next unit (1023.96 KiB reads as "1024 KiB" otherwise).
    if u128::from(bytes) * 20 >= 20_479u128 << shift && unit < UNITS.len() - 1 {
        shift += 10;
        unit += 1;
    }
    if u128::from(bytes) < 100u128 << shift {
        let tenths = round_shifted(u128::from(bytes) * 10, shift);
        match tenths % 10 {
            0 => format!("{} {}", tenths / 10, UNITS[unit]),
            frac => format!("{}.{frac} {}", tenths / 10, UNITS[unit]),
        }
    } else {
        format!(
            "{} {}",
            round_shifted(u128::from(bytes), shift),
            UNITS[unit]
        )
    }
}

/// `n / 2^shift` rounded half to even, as float formatting rounds an exact value.
fn round_shifted(n: u128, shift: u32) -> u64 {
    let (q, r, half) = (n >> shift, n & ((1 << shift) - 1), 1u128 << (shift - 1));
    (q + u128::from(r > half || (r == half && q % 2 == 1))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moved from the app's `format.rs`; the labels were KB/MB/GB for powers of 1024 while
    /// the API said KiB/MiB/GiB, and now both say the latter.
    #[test]
    fn sizes_use_friendly_units() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1024), "1 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(250 * 1024), "250 KiB");
        assert_eq!(human_size(1024 * 1024 - 1), "1 MiB");
        assert_eq!(human_size(52_428_800), "50 MiB");
        assert_eq!(human_size(5 << 30), "5 GiB");
        assert_eq!(human_size(u64::MAX), "16384 PiB");
    }

    /// Moved from the backend's `human_bytes`, which these messages used before: the same
    /// binary units (it wrote "1 bytes" and "5.0 GiB"; the shared formatter drops the ".0").
    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 << 30), "5 GiB");
    }

    /// What `human_size` showed when it formatted an `f64` (exact below 2^53 bytes).
    fn float_size(bytes: u64) -> String {
        if bytes < 1024 {
            return human_size(bytes);
        }
        let mut value = bytes as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if value >= 1023.95 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if value < 100.0 {
            format!("{value:.1} {}", UNITS[unit]).replace(".0 ", " ")
        } else {
            format!("{value:.0} {}", UNITS[unit])
        }
    }

    #[test]
    fn sizes_round_as_float_formatting_did() {
        let mut sizes: Vec<u64> = (0..300_000).collect();
        for shift in [10u32, 20, 30, 40, 50] {
            for k in [1u64, 5, 99, 100, 101, 1023, 1024] {
                let base = k << shift;
                for d in 0..2_000u64 {
                    sizes.extend([base + d, base.saturating_sub(d)]);
                }
                // Around the halves and twentieths where rounding ties or carries.
                for t in 0..200u64 {
                    let at = ((k * 20 + t) << shift) / 20;
                    sizes.extend((at.saturating_sub(3)..at + 3).collect::<Vec<_>>());
                }
            }
        }
        for bytes in sizes.into_iter().filter(|b| *b < 1 << 53) {
            assert_eq!(human_size(bytes), float_size(bytes), "{bytes} bytes");
        }
    }
}
