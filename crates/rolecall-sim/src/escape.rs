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

/// Reverses [`markup`] and the numeric references XML writers use; unknown entities stay as
/// they are.
pub(crate) fn unmarkup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
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
        let text = r#"a&b<c>"d"'e' &#x41;"#;
        assert_eq!(markup("'"), "'");
        assert_eq!(unmarkup(&markup(text)), text);
        assert_eq!(unmarkup("&#x41;&#66;&bogus; & x"), "AB&bogus; & x");
    }
}
