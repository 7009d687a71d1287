//! Escaping of text placed in XML and HTML, so names and values can never change the markup.

/// Escapes `&`, `<`, `>` and `"` for element text and double-quoted attribute values (the only
/// kind the simulator writes around variable text). `'` stays, so messages read as AD FS's do.
pub(crate) fn markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes a URL safe inside a double-quoted attribute without entity-encoding its `&`s, as
/// AD FS writes its form actions.
pub(crate) fn url_attribute(url: &str) -> String {
    url.replace('"', "%22")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_round_trips() {
        let text = r#"a&b<c>"d"'e' x"#;
        assert_eq!(markup("'"), "'");
        assert_eq!(quick_xml::escape::unescape(&markup(text)).unwrap(), text);
    }
}
