//! QR codes for share links, as inline SVG markup (no canvas, no image request).

use qrcode::QrCode;
use qrcode::render::svg;

/// An SVG QR code of `text`, black on white (scanners need the contrast in both themes), or
/// `None` if the text is too long to encode.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let markup = code
        .render::<svg::Color>()
        .min_dimensions(184, 184)
        .dark_color(svg::Color("#111111"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // Drop the XML declaration: the markup goes inside an HTML element.
    markup.find("<svg").map(|start| markup[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::qr_svg;

    #[test]
    fn share_links_become_inline_svg() {
        let svg = qr_svg("https://ferry.example.com/s/AbCdEfGhIjKlMnOpQrStUv").unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("#111111") && svg.ends_with("</svg>"));
        assert!(qr_svg(&"x".repeat(10_000)).is_none());
    }
}
