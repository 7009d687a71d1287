//! Text that comes from outside, made safe to show: what the IdP says (AD FS `errorText`, MSIS
//! messages, adapter names), account aliases from AWS's sign-in page, role names from the
//! assertion, and the sentences that quote them.
//!
//! An IdP page can carry any character (`&#27;[31m` decodes to ESC), so a terminal would obey
//! its escape sequences and a notification server its markup. The front ends pass such text
//! through [`for_terminal`] or [`for_notification`] where they show it (the engine's status
//! snapshot, which the tray menu shows, already comes through [`for_terminal`]); this module
//! never shortens or rewords it.

use std::borrow::Cow;

/// `text` without control characters (newline and tab stay) and without the Unicode controls
/// that reorder or hide what follows (bidirectional overrides, zero-width marks).
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|&c| !is_hidden_control(c)).collect())
}

/// [`for_terminal`], then `&`, `<` and `>` escaped: freedesktop notification servers read the
/// body as markup (`<b>`, `<a href>`, `<img>`).
pub fn for_notification(text: &str) -> String {
    let clean = for_terminal(text);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn is_hidden_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2028}'..='\u{2029}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_carriage_returns_are_dropped() {
        let from_idp =
            "\u{1b}[31mYour password has expired\u{1b}[0m\r\u{7}call\u{9b}2J the helpdesk";
        assert_eq!(
            for_terminal(from_idp),
            "[31mYour password has expired[0mcall2J the helpdesk"
        );
    }

    #[test]
    fn reordering_controls_are_dropped_and_plain_text_is_borrowed() {
        assert_eq!(for_terminal("admin\u{202E}txt.exe"), "admintxt.exe");
        assert!(matches!(
            for_terminal("Incorrect user ID or password.\tTry again.\n"),
            Cow::Borrowed(_)
        ));
        assert_eq!(for_terminal("Zürich – Ünïcödé"), "Zürich – Ünïcödé");
    }

    #[test]
    fn notifications_get_markup_escaped() {
        assert_eq!(
            for_notification("<b>MSIS7012</b> & <a href=\"x\">more</a>\u{1b}[0m"),
            "&lt;b&gt;MSIS7012&lt;/b&gt; &amp; &lt;a href=\"x\"&gt;more&lt;/a&gt;[0m"
        );
    }
}
