//! Text that ends up in an error body or a log field: one line, bounded, so a message from
//! a browser or an HTTP stack never spreads over several lines or carries a page of detail.

/// The first line of `s`, at most 200 characters of it.
pub fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_line_bounded() {
        assert_eq!(super::one_line("a: b\nstack\ntrace"), "a: b");
        assert_eq!(super::one_line(""), "");
        assert_eq!(super::one_line(&"x".repeat(500)).len(), 200);
    }
}
