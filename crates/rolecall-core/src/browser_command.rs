//! The browser a person chose for an account's console: a command template such as
//! `firefox -P {account_alias}` or `chromium --profile-directory={account_id}`, so that each
//! account opens in a browser profile of its own.
//!
//! This module owns the template's syntax and its expansion into an argument list. It never
//! runs a shell: the template is split into words once, the way a POSIX shell splits words
//! (spaces separate, `'…'` and `"…"` quote, `\` escapes), and only then are the placeholders
//! filled in, inside each word. A value (an account alias, say) can therefore never add a word,
//! end a command or run one, whatever it holds. It never sees the sign-in URL either: `{url}`
//! is the address of the private page that leads there ([`crate::browser_page`]), so the
//! sign-in token stays off every command line.

use std::fmt;

/// The placeholders a browser command may use.
///
/// - `{url}`: the private page's `file://` address. Without it, the address is the last word.
/// - `{account_id}`: the 12-digit account id, the same for every alias the account ever has.
/// - `{account_alias}`: the account's alias, or its id when it has none, so that a profile
///   name is always there.
/// - `{role}`: the role's name, for those who keep a profile per role.
///
/// The profile or endpoint names are left out on purpose: a browser profile belongs to an
/// account (its cookies, its console session), whichever Rolecall profile or IdP led there.
pub const BROWSER_PLACEHOLDERS: [&str; 4] = ["url", "account_id", "account_alias", "role"];

/// A checked browser command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCommand {
    /// The template's words, placeholders not yet filled in.
    words: Vec<String>,
}

/// The values a browser command is filled in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserValues<'a> {
    /// The private page's `file://` URL, never the sign-in URL.
    pub url: &'a str,
    pub account_id: &'a str,
    pub account_alias: &'a str,
    pub role: &'a str,
}

/// What is wrong with a browser command template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserCommandProblem {
    #[error("it is empty; name a browser, such as \"firefox -P {{account_alias}}\"")]
    Empty,
    #[error("a {quote} quote is not closed")]
    OpenQuote { quote: char },
    #[error("it ends with a lone \\; remove it or escape what follows it")]
    TrailingBackslash,
    #[error("a {{ or }} does not pair up; placeholders look like {{account_alias}}")]
    Unbalanced,
    #[error("{{{name}}} is not a placeholder; use {}", placeholder_list())]
    UnknownPlaceholder { name: String },
    #[error(
        "the program (its first word, \"{program}\") holds a placeholder; name the browser \
         itself, so that no account decides what runs"
    )]
    PlaceholderInProgram { program: String },
}

fn placeholder_list() -> String {
    BROWSER_PLACEHOLDERS
        .iter()
        .map(|name| format!("{{{name}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The browser chosen for one console: the command, and the account and role it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleBrowser {
    pub command: BrowserCommand,
    pub account_id: String,
    /// The alias, or the id when the account has none (or none is known yet).
    pub account_alias: String,
    pub role: String,
}

impl ConsoleBrowser {
    /// The program and its arguments to open the page at `page_url` (a `file://` URL).
    pub fn argv(&self, page_url: &str) -> (String, Vec<String>) {
        let values = BrowserValues {
            url: page_url,
            account_id: &self.account_id,
            account_alias: &self.account_alias,
            role: &self.role,
        };
        (
            self.command.program().to_owned(),
            self.command.args(&values),
        )
    }
}

impl BrowserCommand {
    /// Reads a template; the first word is the program, run without a shell.
    pub fn parse(template: &str) -> Result<Self, BrowserCommandProblem> {
        let words = split_words(template)?;
        let Some(program) = words.first() else {
            return Err(BrowserCommandProblem::Empty);
        };
        for word in &words {
            for piece in pieces(word)? {
                if let Piece::Placeholder(name) = piece
                    && !BROWSER_PLACEHOLDERS.contains(&name)
                {
                    return Err(BrowserCommandProblem::UnknownPlaceholder {
                        name: name.to_owned(),
                    });
                }
            }
        }
        if pieces(program)?
            .iter()
            .any(|piece| matches!(piece, Piece::Placeholder(_)))
        {
            return Err(BrowserCommandProblem::PlaceholderInProgram {
                program: program.clone(),
            });
        }
        Ok(Self { words })
    }

    /// The program to run.
    pub fn program(&self) -> &str {
        &self.words[0]
    }

    /// The arguments after the program, placeholders filled in; the URL goes last when the
    /// template does not place it.
    pub fn args(&self, values: &BrowserValues<'_>) -> Vec<String> {
        let mut placed_url = false;
        let mut args: Vec<String> = self.words[1..]
            .iter()
            .map(|word| {
                let mut out = String::with_capacity(word.len());
                // Checked in `parse`: every word reads as pieces.
                for piece in pieces(word).unwrap_or_default() {
                    match piece {
                        Piece::Text(text) => out.push_str(text),
                        Piece::Placeholder("url") => {
                            placed_url = true;
                            out.push_str(values.url);
                        }
                        Piece::Placeholder("account_id") => out.push_str(values.account_id),
                        Piece::Placeholder("account_alias") => out.push_str(values.account_alias),
                        Piece::Placeholder("role") => out.push_str(values.role),
                        Piece::Placeholder(_) => {}
                    }
                }
                out
            })
            .collect();
        if !placed_url {
            args.push(values.url.to_owned());
        }
        args
    }
}

impl fmt::Display for BrowserCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// A word as text and `{name}` placeholders.
fn pieces(word: &str) -> Result<Vec<Piece<'_>>, BrowserCommandProblem> {
    let mut out = Vec::new();
    let mut rest = word;
    while let Some(at) = rest.find(['{', '}']) {
        if rest[at..].starts_with('}') {
            return Err(BrowserCommandProblem::Unbalanced);
        }
        if at > 0 {
            out.push(Piece::Text(&rest[..at]));
        }
        let after = &rest[at + 1..];
        let end = after.find('}').ok_or(BrowserCommandProblem::Unbalanced)?;
        let name = &after[..end];
        if name.contains('{') {
            return Err(BrowserCommandProblem::Unbalanced);
        }
        out.push(Piece::Placeholder(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Splits like a POSIX shell's words, without any expansion: blanks separate words; `'…'`
/// keeps everything; `"…"` keeps everything but `\"` and `\\`; a `\` elsewhere keeps the next
/// character.
fn split_words(template: &str) -> Result<Vec<String>, BrowserCommandProblem> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(BrowserCommandProblem::OpenQuote { quote: '\'' }),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(BrowserCommandProblem::OpenQuote { quote: '"' }),
                        },
                        Some(c) => word.push(c),
                        None => return Err(BrowserCommandProblem::OpenQuote { quote: '"' }),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err(BrowserCommandProblem::TrailingBackslash),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: BrowserValues<'static> = BrowserValues {
        url: "file:///run/user/1000/rolecall/browser/open-1.html",
        account_id: "111122223333",
        account_alias: "corp-prod",
        role: "Admin",
    };

    fn command(template: &str) -> BrowserCommand {
        BrowserCommand::parse(template).unwrap_or_else(|problem| panic!("{template}: {problem}"))
    }

    #[test]
    fn placeholders_fill_in_inside_their_words() {
        let browser = command("firefox -P {account_alias} --new-window {url}");
        assert_eq!(browser.program(), "firefox");
        assert_eq!(
            browser.args(&VALUES),
            ["-P", "corp-prod", "--new-window", VALUES.url],
            "each placeholder fills in the word it stands in"
        );
        let browser = command("chromium --profile-directory=aws-{account_id}-{role}");
        assert_eq!(
            browser.args(&VALUES),
            ["--profile-directory=aws-111122223333-Admin", VALUES.url],
            "without {{url}} the page's address goes last"
        );
    }

    #[test]
    fn quotes_and_escapes_keep_spaces_in_one_word() {
        let browser = command(r#""/opt/My Browser/browser" -P 'work {account_alias}' a\ b "x\"y""#);
        assert_eq!(browser.program(), "/opt/My Browser/browser");
        assert_eq!(
            browser.args(&VALUES),
            ["-P", "work corp-prod", "a b", "x\"y", VALUES.url]
        );
    }

    /// An alias is chosen by whoever administers the account: whatever it holds, it stays one
    /// argument and nothing interprets it.
    #[test]
    fn a_hostile_alias_stays_one_argument() {
        let browser = command("firefox -P {account_alias}");
        for alias in [
            "prod; rm -rf ~",
            "prod' 'x",
            "prod\" \"x",
            "$(touch /tmp/owned)",
            "`id`",
            "a b\tc\nd",
            "{url}",
        ] {
            let values = BrowserValues {
                account_alias: alias,
                ..VALUES
            };
            assert_eq!(
                browser.args(&values),
                ["-P", alias, VALUES.url],
                "{alias:?} is passed through as one argument, unchanged"
            );
        }
    }

    #[test]
    fn templates_that_cannot_work_are_refused_with_a_reason() {
        for (template, problem) in [
            ("", BrowserCommandProblem::Empty),
            ("   ", BrowserCommandProblem::Empty),
            (
                "firefox 'x",
                BrowserCommandProblem::OpenQuote { quote: '\'' },
            ),
            (
                "firefox \"x",
                BrowserCommandProblem::OpenQuote { quote: '"' },
            ),
            ("firefox \\", BrowserCommandProblem::TrailingBackslash),
            (
                "firefox -P {account_alias",
                BrowserCommandProblem::Unbalanced,
            ),
            (
                "firefox -P account_alias}",
                BrowserCommandProblem::Unbalanced,
            ),
            (
                "firefox -P {alias}",
                BrowserCommandProblem::UnknownPlaceholder {
                    name: "alias".to_owned(),
                },
            ),
            (
                "{account_alias}-browser",
                BrowserCommandProblem::PlaceholderInProgram {
                    program: "{account_alias}-browser".to_owned(),
                },
            ),
        ] {
            assert_eq!(
                BrowserCommand::parse(template),
                Err(problem),
                "{template:?} is refused"
            );
        }
        let message = BrowserCommandProblem::UnknownPlaceholder {
            name: "alias".to_owned(),
        }
        .to_string();
        assert!(
            message.contains("{account_alias}") && message.contains("{url}"),
            "the message lists what may be used: {message}"
        );
    }
}
