//! Numbers as the page shows them. Pure, so they are tested natively.

/// 47040016 -> "47.0 MB" (decimal megabytes, as browsers and servers report them).
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0} kB", n as f64 / 1e3),
        n => format!("{n} B"),
    }
}

/// 60000 -> "60,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// 0.98765 -> "98.77%".
pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// Seconds as "42 s", "3 min 05 s", "1 h 02 min".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        s if s >= 3600 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{s} s"),
    }
}

/// A rate with sensible precision: 12345.6 -> "12,346", 12.34 -> "12.3", 0.123 -> "0.12".
pub fn rate(x: f64) -> String {
    if x >= 1000.0 {
        thousands(x.round() as usize)
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A learning rate to four significant digits, without float noise: a tenth of 0.1 is
/// "0.01", not "0.010000000000000002"; a rate easing in shows "0.01042".
pub fn lr(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let decimals = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_naturally() {
        assert_eq!(bytes(47_040_016), "47.0 MB");
        assert_eq!(bytes(10_008), "10 kB");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(thousands(60_000), "60,000");
        assert_eq!(thousands(594_922), "594,922");
        assert_eq!(thousands(7), "7");
        assert_eq!(percent(0.98765), "98.77%");
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        assert_eq!(duration(3720.0), "1 h 02 min");
        assert_eq!(rate(12345.6), "12,346");
        assert_eq!(rate(12.34), "12.3");
        assert_eq!(rate(0.123), "0.12");
        assert_eq!(lr(0.1 * 0.1), "0.01");
        assert_eq!(lr(0.010418604651162791), "0.01042");
        assert_eq!(lr(0.1), "0.1");
        assert_eq!(lr(0.00001), "0.00001");
        assert_eq!(lr(2.5), "2.5");
        assert_eq!(lr(10.0), "10");
        assert_eq!(lr(1e6), "1000000");
        assert_eq!(lr(f64::NAN), "NaN");
    }
}
