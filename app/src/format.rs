//! How sizes, dates and durations read to people: plain functions, tested natively.

/// Sizes read the same here and in the API's messages (binary units: `"1.5 MiB"`).
pub use ferry_api::human_size;

/// A percentage (0 to 100) with `decimals` (0 or 1) decimals, as `format!("{:.1}")` would show
/// it, without linking the float printer.
pub fn percent_text(percent: f64, decimals: u32) -> String {
    if decimals == 0 {
        format!("{}", percent.round_ties_even() as u64)
    } else {
        let tenths = (percent * 10.0).round_ties_even() as u64;
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// A progress bar's scale: `percent` (0 to 100, clamped) as a fraction with four decimals
/// (`"0.4250"`), within 1/10 000 of `format!("{:.4}", percent / 100.0)`, without linking the
/// float printer.
pub fn fraction_text(percent: f64) -> String {
    let percent = if percent.is_nan() {
        0.0
    } else {
        percent.clamp(0.0, 100.0)
    };
    let units = (percent * 100.0).round_ties_even() as u32;
    format!("{}.{:04}", units / 10_000, units % 10_000)
}

/// A transfer rate such as `"3.2 MiB/s"`.
pub fn human_speed(bytes_per_second: f64) -> String {
    if !bytes_per_second.is_finite() || bytes_per_second <= 0.0 {
        return "—".to_owned();
    }
    format!("{}/s", human_size(bytes_per_second.round() as u64))
}

/// A short duration: `"8 s"`, `"2 min 5 s"`, `"1 h 20 min"`, `"3 days"`.
pub fn human_duration(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3_599 => {
            let (m, s) = (seconds / 60, seconds % 60);
            if s == 0 || m >= 10 {
                format!("{m} min")
            } else {
                format!("{m} min {s} s")
            }
        }
        3_600..=86_399 => {
            let (h, m) = (seconds / 3_600, (seconds % 3_600) / 60);
            if m == 0 {
                format!("{h} h")
            } else {
                format!("{h} h {m} min")
            }
        }
        _ => plural(seconds / 86_400, "day"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `then` relative to `now` (both Unix milliseconds): `"just now"`, `"5 minutes ago"`,
/// `"in 3 days"`, `"yesterday"`. Beyond a month it gives the calendar date.
pub fn relative_time(then_ms: i64, now_ms: i64) -> String {
    let delta = (now_ms - then_ms) / 1000;
    let future = delta < 0;
    let secs = delta.unsigned_abs();
    let phrase = match secs {
        0..=44 => {
            return if future {
                "in a few seconds".to_owned()
            } else {
                "just now".to_owned()
            };
        }
        45..=89 => "1 minute".to_owned(),
        90..=3_569 => plural((secs + 30) / 60, "minute"),
        3_570..=5_399 => "1 hour".to_owned(),
        5_400..=79_199 => plural((secs + 1_800) / 3_600, "hour"),
        79_200..=129_599 => {
            return if future {
                "tomorrow".to_owned()
            } else {
                "yesterday".to_owned()
            };
        }
        129_600..=2_591_999 => plural((secs + 43_200) / 86_400, "day"),
        _ => return calendar_date(then_ms),
    };
    if future {
        format!("in {phrase}")
    } else {
        format!("{phrase} ago")
    }
}

/// `"12 Mar 2026"` for a Unix-milliseconds instant (UTC).
pub fn calendar_date(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{d} {} {y}", MONTHS[(m - 1) as usize])
}

/// Parses the API's RFC 3339 UTC timestamps (`2026-01-02T03:04:05Z`, optional fraction,
/// `Z` or a numeric offset) into Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_read_as_float_formatting_did() {
        for (sent, total) in [
            (0u64, 7u64),
            (1, 3),
            (2, 3),
            (1, 8),
            (3, 8),
            (1, 2),
            (7, 7),
            (5, 200),
        ] {
            let p = sent as f64 * 100.0 / total as f64;
            assert_eq!(percent_text(p, 0), format!("{p:.0}"));
            assert_eq!(percent_text(p, 1), format!("{p:.1}"));
        }
        for tenths in 0..=1000u64 {
            let p = tenths as f64 / 10.0;
            assert_eq!(percent_text(p, 0), format!("{p:.0}"), "{p}");
            assert_eq!(percent_text(p, 1), format!("{p:.1}"), "{p}");
        }
    }

    #[test]
    fn bar_scales_read_as_float_formatting_does() {
        for hundredths in 0..=10_000u32 {
            let p = f64::from(hundredths) / 100.0;
            let ours: f64 = fraction_text(p).parse().unwrap();
            let printed: f64 = format!("{:.4}", p / 100.0).parse().unwrap();
            assert!(
                (ours - printed).abs() <= 0.000_100_1,
                "{p}: {ours} {printed}"
            );
            assert_eq!(fraction_text(p).len(), 6, "{p}");
        }
        assert_eq!(fraction_text(0.0), "0.0000");
        assert_eq!(fraction_text(42.5), "0.4250");
        assert_eq!(fraction_text(100.0), "1.0000");
        assert_eq!(fraction_text(250.0), "1.0000");
        assert_eq!(fraction_text(-3.0), "0.0000");
        assert_eq!(fraction_text(f64::NAN), "0.0000");
    }

    #[test]
    fn speeds_and_durations() {
        assert_eq!(human_speed(3.5 * 1024.0 * 1024.0), "3.5 MiB/s");
        assert_eq!(human_speed(0.0), "—");
        assert_eq!(human_speed(f64::NAN), "—");
        assert_eq!(human_duration(8), "8 s");
        assert_eq!(human_duration(125), "2 min 5 s");
        assert_eq!(human_duration(600), "10 min");
        assert_eq!(human_duration(3_600), "1 h");
        assert_eq!(human_duration(4_800), "1 h 20 min");
        assert_eq!(human_duration(86_400), "1 day");
        assert_eq!(human_duration(7 * 86_400), "7 days");
    }

    #[test]
    fn rfc3339_parses_the_api_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-01-02T03:04:05Z"),
            Some(1_767_323_045_000)
        );
        assert_eq!(
            parse_rfc3339("2026-01-02T03:04:05.25Z"),
            Some(1_767_323_045_250)
        );
        assert_eq!(
            parse_rfc3339("2026-01-02T03:04:05.123456789Z"),
            Some(1_767_323_045_123)
        );
        assert_eq!(
            parse_rfc3339("2026-01-02T05:04:05+02:00"),
            Some(1_767_323_045_000)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-13-02T03:04:05Z"), None);
        assert_eq!(parse_rfc3339("2026-01-02T03:04:05"), None);
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_767_323_045_000;
        let ago = |s: i64| relative_time(now - s * 1000, now);
        assert_eq!(ago(3), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(5 * 60), "5 minutes ago");
        assert_eq!(ago(59 * 60), "59 minutes ago");
        assert_eq!(ago(3_600), "1 hour ago");
        assert_eq!(ago(3 * 3_600), "3 hours ago");
        assert_eq!(ago(26 * 3_600), "yesterday");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        assert_eq!(ago(-3_600), "in 1 hour");
        assert_eq!(ago(-7 * 86_400), "in 7 days");
        assert_eq!(ago(-30), "in a few seconds");
        assert_eq!(ago(400 * 86_400), "28 Nov 2024");
    }

    #[test]
    fn calendar_dates_round_trip() {
        for days in [-1, 0, 59, 11_016, 20_455, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(calendar_date(0), "1 Jan 1970");
    }
}
