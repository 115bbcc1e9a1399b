//! QR codes for share links, as inline SVG markup (no canvas, no image request).
//!
//! A small encoder of its own (byte mode, error correction level M, versions 1 to 40, the
//! mask with the lowest penalty) instead of the `qrcode` crate, whose general encoder cost
//! about 11 KB of the compressed first load. The tests check every module against `qrcode`.

/// Per version 1..=40 at level M: (EC codewords per block, blocks of the short kind, data
/// codewords in a short block, blocks of the long kind, which hold one codeword more).
const BLOCKS_M: [(u8, u8, u8, u8); 40] = [
    (10, 1, 16, 0),
    (16, 1, 28, 0),
    (26, 1, 44, 0),
    (18, 2, 32, 0),
    (24, 2, 43, 0),
    (16, 4, 27, 0),
    (18, 4, 31, 0),
    (22, 2, 38, 2),
    (22, 3, 36, 2),
    (26, 4, 43, 1),
    (30, 1, 50, 4),
    (22, 6, 36, 2),
    (22, 8, 37, 1),
    (24, 4, 40, 5),
    (24, 5, 41, 5),
    (28, 7, 45, 3),
    (28, 10, 46, 1),
    (26, 9, 43, 4),
    (26, 3, 44, 11),
    (26, 3, 41, 13),
    (26, 17, 42, 0),
    (28, 17, 46, 0),
    (28, 4, 47, 14),
    (28, 6, 45, 14),
    (28, 8, 47, 13),
    (28, 19, 46, 4),
    (28, 22, 45, 3),
    (28, 3, 45, 23),
    (28, 21, 45, 7),
    (28, 19, 47, 10),
    (28, 2, 46, 29),
    (28, 10, 46, 23),
    (28, 14, 46, 21),
    (28, 14, 46, 23),
    (28, 12, 47, 26),
    (28, 6, 47, 34),
    (28, 29, 46, 14),
    (28, 13, 46, 32),
    (28, 40, 47, 7),
    (28, 18, 47, 31),
];

/// A square of modules; `true` is dark.
struct Matrix {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Matrix {
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        self.dark[y * self.size + x] = dark;
        self.function[y * self.size + x] = true;
    }

    fn get(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.size + x]
    }
}

/// Multiplication in GF(256) modulo x^8 + x^4 + x^3 + x^2 + 1.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        a = (a << 1) ^ if a & 0x80 != 0 { 0x1d } else { 0 };
        b >>= 1;
    }
    product
}

/// Reed-Solomon error-correction codewords of `data`.
fn ec_codewords(data: &[u8], len: usize) -> Vec<u8> {
    // Generator polynomial (x - α^0)…(x - α^(len-1)), highest coefficient (1) left out.
    let mut generator = vec![0u8; len];
    generator[len - 1] = 1;
    let mut root = 1u8;
    for _ in 0..len {
        for j in 0..len {
            generator[j] = gf_mul(generator[j], root) ^ generator.get(j + 1).copied().unwrap_or(0);
        }
        root = gf_mul(root, 2);
    }
    let mut rest = vec![0u8; len];
    for &byte in data {
        let factor = byte ^ rest.remove(0);
        rest.push(0);
        for (r, g) in rest.iter_mut().zip(&generator) {
            *r ^= gf_mul(*g, factor);
        }
    }
    rest
}

/// The codewords of `text` in byte mode for `version`, interleaved, or `None` if it does
/// not fit.
fn codewords(text: &[u8], version: usize) -> Option<Vec<u8>> {
    let (ec_len, short_blocks, short_len, long_blocks) = BLOCKS_M[version - 1];
    let (ec_len, short_blocks, short_len, long_blocks) = (
        usize::from(ec_len),
        usize::from(short_blocks),
        usize::from(short_len),
        usize::from(long_blocks),
    );
    let capacity = short_blocks * short_len + long_blocks * (short_len + 1);
    let count_bits = if version < 10 { 8 } else { 16 };
    if 4 + count_bits + 8 * text.len() > 8 * capacity {
        return None;
    }
    let mut bits: Vec<bool> = Vec::with_capacity(8 * capacity);
    let mut push =
        |value: usize, n: usize| (0..n).rev().for_each(|i| bits.push(value >> i & 1 != 0));
    push(0b0100, 4);
    push(text.len(), count_bits);
    text.iter().for_each(|&b| push(usize::from(b), 8));
    let terminator = (8 * capacity - bits.len()).min(4);
    bits.extend(std::iter::repeat_n(false, terminator));
    bits.resize(bits.len().div_ceil(8) * 8, false);
    let mut data: Vec<u8> = bits
        .chunks(8)
        .map(|byte| byte.iter().fold(0, |acc, &b| acc << 1 | u8::from(b)))
        .collect();
    for pad in [0xec, 0x11].into_iter().cycle() {
        if data.len() == capacity {
            break;
        }
        data.push(pad);
    }
    // Split into blocks, then interleave data codewords, then EC codewords.
    let mut blocks = Vec::new();
    let mut at = 0;
    for i in 0..short_blocks + long_blocks {
        let len = short_len + usize::from(i >= short_blocks);
        blocks.push((
            &data[at..at + len],
            ec_codewords(&data[at..at + len], ec_len),
        ));
        at += len;
    }
    let mut out = Vec::with_capacity(capacity + ec_len * blocks.len());
    for i in 0..=short_len {
        out.extend(blocks.iter().filter_map(|(d, _)| d.get(i)));
    }
    for i in 0..ec_len {
        out.extend(blocks.iter().map(|(_, ec)| ec[i]));
    }
    Some(out)
}

fn draw_format(m: &mut Matrix, mask: usize) {
    // Level M is 00; then the mask; BCH(15, 5) remainder; XOR 0x5412.
    let data = mask as u32;
    let mut rem = data;
    for _ in 0..10 {
        rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    }
    let bits = (data << 10 | rem) ^ 0x5412;
    let bit = |i: usize| bits >> i & 1 != 0;
    let size = m.size;
    for i in 0..6 {
        m.set(8, i, bit(i));
    }
    m.set(8, 7, bit(6));
    m.set(8, 8, bit(7));
    m.set(7, 8, bit(8));
    for i in 9..15 {
        m.set(14 - i, 8, bit(i));
    }
    for i in 0..8 {
        m.set(size - 1 - i, 8, bit(i));
    }
    for i in 8..15 {
        m.set(8, size - 15 + i, bit(i));
    }
    m.set(8, size - 8, true);
}

/// Function patterns, reserved format areas and version information.
fn draw_patterns(version: usize) -> Matrix {
    let size = version * 4 + 17;
    let mut m = Matrix {
        size,
        dark: vec![false; size * size],
        function: vec![false; size * size],
    };
    for i in 0..size {
        m.set(6, i, i % 2 == 0);
        m.set(i, 6, i % 2 == 0);
    }
    for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
        for dy in -4i32..=4 {
            for dx in -4i32..=4 {
                let (x, y) = (cx as i32 + dx, cy as i32 + dy);
                if (0..size as i32).contains(&x) && (0..size as i32).contains(&y) {
                    let d = dx.abs().max(dy.abs());
                    m.set(x as usize, y as usize, d != 2 && d != 4);
                }
            }
        }
    }
    if version > 1 {
        let count = version / 7 + 2;
        let step = if version == 32 {
            26
        } else {
            (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
        };
        let mut positions = vec![6];
        positions.extend((0..count - 1).rev().map(|i| size - 7 - i * step));
        for (i, &cx) in positions.iter().enumerate() {
            for (j, &cy) in positions.iter().enumerate() {
                let corner = (i == 0 && (j == 0 || j == count - 1)) || (i == count - 1 && j == 0);
                if corner {
                    continue;
                }
                for dy in -2i32..=2 {
                    for dx in -2i32..=2 {
                        let d = dx.abs().max(dy.abs());
                        m.set((cx as i32 + dx) as usize, (cy as i32 + dy) as usize, d != 1);
                    }
                }
            }
        }
    }
    draw_format(&mut m, 0);
    if version >= 7 {
        let mut rem = version as u32;
        for _ in 0..12 {
            rem = (rem << 1) ^ ((rem >> 11) * 0x1f25);
        }
        let bits = (version as u32) << 12 | rem;
        for i in 0..18 {
            let (a, b) = (size - 11 + i % 3, i / 3);
            m.set(a, b, bits >> i & 1 != 0);
            m.set(b, a, bits >> i & 1 != 0);
        }
    }
    m
}

fn draw_codewords(m: &mut Matrix, data: &[u8]) {
    let size = m.size;
    let mut i = 0;
    let mut right = size - 1;
    while right >= 1 {
        if right == 6 {
            right = 5;
        }
        for vert in 0..size {
            for j in 0..2 {
                let x = right - j;
                let upward = (right + 1) & 2 == 0;
                let y = if upward { size - 1 - vert } else { vert };
                if !m.function[y * size + x] && i < data.len() * 8 {
                    m.dark[y * size + x] = data[i >> 3] >> (7 - (i & 7)) & 1 != 0;
                    i += 1;
                }
            }
        }
        if right < 2 {
            break;
        }
        right -= 2;
    }
}

fn apply_mask(m: &mut Matrix, mask: usize) {
    for y in 0..m.size {
        for x in 0..m.size {
            let invert = match mask {
                0 => (x + y) % 2 == 0,
                1 => y % 2 == 0,
                2 => x % 3 == 0,
                3 => (x + y) % 3 == 0,
                4 => (x / 3 + y / 2) % 2 == 0,
                5 => x * y % 2 + x * y % 3 == 0,
                6 => (x * y % 2 + x * y % 3) % 2 == 0,
                _ => ((x + y) % 2 + x * y % 3) % 2 == 0,
            };
            let at = y * m.size + x;
            m.dark[at] ^= invert && !m.function[at];
        }
    }
}

/// The mask penalty as the `qrcode` crate scores it (so the same mask, and the same code, is
/// chosen): runs of five or more, 2×2 blocks, finder-like patterns, dark/light balance.
fn penalty(m: &Matrix) -> usize {
    const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
    let size = m.size;
    let mut score = 0;
    for horizontal in [true, false] {
        for a in 0..size {
            let line: Vec<bool> = (0..size)
                .map(|b| if horizontal { m.get(b, a) } else { m.get(a, b) })
                .collect();
            let mut run = 1;
            for b in 1..=size {
                if b < size && line[b] == line[b - 1] {
                    run += 1;
                } else {
                    if run >= 5 {
                        score += run - 2;
                    }
                    run = 1;
                }
            }
            let light =
                |from: usize, to: usize| (from..to).all(|k| !line.get(k).copied().unwrap_or(false));
            for j in 0..size - 6 {
                if line[j..j + 7] == FINDER
                    && (light(j.saturating_sub(4), j) || light(j + 7, j + 11))
                {
                    score += 40;
                }
            }
        }
    }
    for y in 0..size - 1 {
        for x in 0..size - 1 {
            let c = m.get(x, y);
            if c == m.get(x + 1, y) && c == m.get(x, y + 1) && c == m.get(x + 1, y + 1) {
                score += 3;
            }
        }
    }
    let dark = m.dark.iter().filter(|d| **d).count();
    score + (dark * 200 / (size * size)).abs_diff(100)
}

/// The modules of a QR code of `text` (row by row, `true` dark) and its width, or `None` if
/// the text is too long.
fn encode(text: &[u8]) -> Option<(Vec<bool>, usize)> {
    let (version, data) = (1..=40).find_map(|v| codewords(text, v).map(|d| (v, d)))?;
    let mut base = draw_patterns(version);
    draw_codewords(&mut base, &data);
    let mut best: Option<(usize, Matrix)> = None;
    for mask in 0..8 {
        let mut m = Matrix {
            size: base.size,
            dark: base.dark.clone(),
            function: base.function.clone(),
        };
        apply_mask(&mut m, mask);
        draw_format(&mut m, mask);
        let score = penalty(&m);
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, m));
        }
    }
    best.map(|(_, m)| (m.dark, m.size))
}

/// An SVG QR code of `text`, black on white (scanners need the contrast in both themes), or
/// `None` if the text is too long to encode. At least 184 px square, quiet zone included.
pub fn qr_svg(text: &str) -> Option<String> {
    use std::fmt::Write;

    let (dark, size) = encode(text.as_bytes())?;
    let quiet = 4;
    let unit = 184usize.div_ceil(size + 2 * quiet);
    let w = (size + 2 * quiet) * unit;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{w}\" \
         viewBox=\"0 0 {w} {w}\" shape-rendering=\"crispEdges\"><rect x=\"0\" y=\"0\" \
         width=\"{w}\" height=\"{w}\" fill=\"#ffffff\"/><path fill=\"#111111\" d=\""
    );
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = ((i % size + quiet) * unit, (i / size + quiet) * unit);
        let _ = write!(svg, "M{x} {y}h{unit}v{unit}H{x}V{y}");
    }
    svg.push_str("\"/></svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::bits::Bits;
    use qrcode::canvas::{Canvas, MaskPattern};
    use qrcode::{Color, EcLevel, Version};

    const MASKS: [MaskPattern; 8] = [
        MaskPattern::Checkerboard,
        MaskPattern::HorizontalLines,
        MaskPattern::VerticalLines,
        MaskPattern::DiagonalLines,
        MaskPattern::LargeCheckerboard,
        MaskPattern::Fields,
        MaskPattern::Diamonds,
        MaskPattern::Meadow,
    ];

    /// Every module, for every mask, as the `qrcode` crate draws the same bits.
    #[test]
    fn modules_match_the_qrcode_crate() {
        let texts: Vec<String> = [1usize, 14, 15, 30, 60, 100, 150, 230, 400, 700, 1200, 2300]
            .iter()
            .map(|n| {
                (0..*n)
                    .map(|i| char::from(b"https://ferry.example.com/s/AbCd-_0123456789"[i % 44]))
                    .collect()
            })
            .collect();
        for text in &texts {
            let version = (1..=40)
                .find(|v| codewords(text.as_bytes(), *v).is_some())
                .unwrap();
            let mut bits = Bits::new(Version::Normal(version as i16));
            bits.push_byte_data(text.as_bytes()).unwrap();
            bits.push_terminator(EcLevel::M).unwrap();
            let (data, ec) = qrcode::ec::construct_codewords(
                &bits.into_bytes(),
                Version::Normal(version as i16),
                EcLevel::M,
            )
            .unwrap();
            let ours = codewords(text.as_bytes(), version).unwrap();
            assert_eq!(
                ours,
                [data.clone(), ec.clone()].concat(),
                "codewords, v{version}"
            );
            for (mask, pattern) in MASKS.into_iter().enumerate() {
                let mut canvas = Canvas::new(Version::Normal(version as i16), EcLevel::M);
                canvas.draw_all_functional_patterns();
                canvas.draw_data(&data, &ec);
                canvas.apply_mask(pattern);
                let theirs: Vec<bool> = canvas
                    .into_colors()
                    .into_iter()
                    .map(|c| c == Color::Dark)
                    .collect();
                let mut m = draw_patterns(version);
                draw_codewords(&mut m, &ours);
                apply_mask(&mut m, mask);
                draw_format(&mut m, mask);
                assert!(m.dark == theirs, "v{version} mask {mask}");
            }
        }
    }

    /// The same code as `qrcode` makes: its version (byte data), mask and rendering.
    #[test]
    fn share_links_render_as_qrcode_rendered_them() {
        use qrcode::render::svg;
        for text in [
            "https://ferry.example.com/s/AbCdEfGhIjKlMnOpQrStUv",
            "http://127.0.0.1:41234/s/x-_Y",
            "https://files.example.org/s/0123456789abcdefghijkl?utm=1",
        ] {
            let version = (1..=40)
                .find(|v| codewords(text.as_bytes(), *v).is_some())
                .unwrap();
            let mut bits = Bits::new(Version::Normal(version as i16));
            bits.push_byte_data(text.as_bytes()).unwrap();
            bits.push_terminator(EcLevel::M).unwrap();
            let code = qrcode::QrCode::with_bits(bits, EcLevel::M).unwrap();
            let markup = code
                .render::<svg::Color>()
                .min_dimensions(184, 184)
                .dark_color(svg::Color("#111111"))
                .light_color(svg::Color("#ffffff"))
                .quiet_zone(true)
                .build();
            let theirs = &markup[markup.find("<svg").unwrap()..];
            assert_eq!(qr_svg(text).as_deref(), Some(theirs), "{text}");
        }
    }

    #[test]
    fn share_links_become_inline_svg() {
        let svg = qr_svg("https://ferry.example.com/s/AbCdEfGhIjKlMnOpQrStUv").unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("#111111") && svg.ends_with("</svg>"));
        assert!(qr_svg(&"x".repeat(10_000)).is_none());
    }
}
