//! How `rolecall env` writes [`EnvChanges`] for a shell to take in: POSIX sh
//! (`eval "$(rolecall env)"`), fish, PowerShell, a `.env` file, or JSON.
//!
//! Every value is quoted so that the shell reads back exactly its bytes, whatever it holds
//! (quotes, spaces, `$`, backslashes): single quotes everywhere, with each shell's own way of
//! putting a single quote inside them.

use std::collections::BTreeMap;

use crate::exec::EnvChanges;

/// The formats `rolecall env` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `export NAME='value'`, for sh, bash, zsh and the like.
    Sh,
    /// `set -gx NAME 'value'`.
    Fish,
    /// `$Env:NAME = 'value'`.
    PowerShell,
    /// `NAME=value` lines for a `.env` file (Docker Compose, dotenv libraries).
    Dotenv,
    /// One JSON object of the variables set.
    Json,
}

/// The text that makes a shell apply `changes`: removals first, then the values.
pub fn render(format: Format, changes: &EnvChanges) -> String {
    let mut text = String::new();
    let set = || {
        changes
            .set
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose().as_str()))
    };
    match format {
        Format::Sh => {
            if !changes.remove.is_empty() {
                text.push_str(&format!("unset {}\n", changes.remove.join(" ")));
            }
            for (name, value) in set() {
                text.push_str(&format!("export {name}={}\n", sh_quote(value)));
            }
        }
        Format::Fish => {
            for name in &changes.remove {
                text.push_str(&format!("set -e {name}\n"));
            }
            for (name, value) in set() {
                text.push_str(&format!("set -gx {name} {}\n", fish_quote(value)));
            }
        }
        Format::PowerShell => {
            for name in &changes.remove {
                text.push_str(&format!(
                    "Remove-Item -ErrorAction SilentlyContinue Env:{name}\n"
                ));
            }
            for (name, value) in set() {
                text.push_str(&format!("$Env:{name} = {}\n", powershell_quote(value)));
            }
        }
        // A file has nothing to remove: what it does not name, its reader does not set.
        Format::Dotenv => {
            for (name, value) in set() {
                text.push_str(&format!("{name}={}\n", dotenv_quote(value)));
            }
        }
        Format::Json => {
            let object: BTreeMap<&str, &str> = set().collect();
            text = serde_json::to_string_pretty(&object).unwrap_or_default();
            text.push('\n');
        }
    }
    text
}

/// POSIX sh: inside single quotes nothing is special; a quote ends them, is escaped, and
/// they start again.
pub fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// fish: inside single quotes only `\'` and `\\` are escapes.
pub fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell: a quote inside single quotes is doubled; PowerShell also takes the typographic
/// single quotes for quotes, so they are doubled too.
pub fn powershell_quote(value: &str) -> String {
    let mut quoted = String::from("'");
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// `.env` readers disagree on escapes but agree on plain words and on single quotes taken
/// literally; a value with a single quote goes in double quotes, with `\`, `"` and `$`
/// escaped.
pub fn dotenv_quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./+=:,@".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_owned()
    } else if !value.contains(['\'', '\n', '\r']) {
        format!("'{value}'")
    } else {
        let mut quoted = String::from("\"");
        for c in value.chars() {
            match c {
                '\\' | '"' | '$' => {
                    quoted.push('\\');
                    quoted.push(c);
                }
                '\n' => quoted.push_str(r"\n"),
                '\r' => quoted.push_str(r"\r"),
                _ => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "sh" => Ok(Self::Sh),
            "fish" => Ok(Self::Fish),
            "powershell" => Ok(Self::PowerShell),
            "dotenv" => Ok(Self::Dotenv),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "unknown format \"{other}\": use sh, fish, powershell, dotenv or json"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Sensitive;

    /// Values with everything a shell might take for its own.
    const AWKWARD: [&str; 8] = [
        "plain",
        "it's",
        "two  spaces",
        "$HOME and ${PATH} and $(id) and `id`",
        r"back\slash\\ and \'",
        "\"double\" quotes",
        "new\nline",
        "‘typographic’ ' ;|&<>*?!#~",
    ];

    fn changes() -> EnvChanges {
        let mut changes = EnvChanges {
            remove: vec!["AWS_PROFILE".to_owned()],
            ..EnvChanges::default()
        };
        for (i, value) in AWKWARD.iter().enumerate() {
            changes.set.push((
                format!("ROLECALL_TEST_{i}"),
                Sensitive::new((*value).to_owned()),
            ));
        }
        changes
    }

    /// Runs `shell` with `args` (a script printing each test variable NUL-terminated); `None`
    /// when it is not installed.
    fn evaluate(shell: &str, args: &[&str]) -> Option<Vec<String>> {
        let output = std::process::Command::new(shell)
            .args(args)
            .env("AWS_PROFILE", "must-go")
            .output()
            .ok()?;
        assert!(output.status.success(), "{shell}: {output:?}\n{args:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        Some(text.split('\0').map(str::to_owned).collect())
    }

    fn expected() -> Vec<String> {
        let mut values: Vec<String> = AWKWARD.iter().map(|v| (*v).to_owned()).collect();
        // The removed variable prints empty, and the last NUL ends the list.
        values.push(String::new());
        values.push(String::new());
        values
    }

    #[cfg(unix)]
    #[test]
    fn sh_and_bash_read_back_every_value_exactly() {
        let exports = render(Format::Sh, &changes());
        let printing: String = (0..AWKWARD.len())
            .map(|i| format!("printf '%s\\0' \"$ROLECALL_TEST_{i}\"\n"))
            .collect();
        let script = format!("eval \"$1\"\n{printing}printf '%s\\0' \"${{AWS_PROFILE-}}\"\n");
        for shell in ["sh", "bash"] {
            let Some(values) = evaluate(shell, &["-c", &script, shell, &exports]) else {
                assert_ne!(shell, "sh", "sh is always there");
                continue;
            };
            assert_eq!(values, expected(), "{shell} evaluated:\n{exports}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn fish_reads_back_every_value_exactly_when_installed() {
        let exports = render(Format::Fish, &changes());
        let printing: String = (0..AWKWARD.len())
            .map(|i| format!("printf '%s\\0' \"$ROLECALL_TEST_{i}\"\n"))
            .collect();
        let script = format!("{exports}{printing}printf '%s\\0' \"$AWS_PROFILE\"\n");
        if let Some(values) = evaluate("fish", &["--no-config", "-c", &script]) {
            assert_eq!(values, expected(), "fish evaluated:\n{exports}");
        }
    }

    #[test]
    fn powershell_reads_back_every_value_exactly_when_installed() {
        let exports = render(Format::PowerShell, &changes());
        let printing: String = (0..AWKWARD.len())
            .map(|i| format!("[Console]::Out.Write($Env:ROLECALL_TEST_{i} + [char]0)\n"))
            .collect();
        let script =
            format!("{exports}{printing}[Console]::Out.Write($Env:AWS_PROFILE + [char]0)\n");
        if let Some(values) = evaluate(
            "pwsh",
            &["-NoProfile", "-NonInteractive", "-Command", &script],
        ) {
            assert_eq!(values, expected(), "pwsh evaluated:\n{exports}");
        }
    }

    #[test]
    fn quoting_follows_each_shells_rules() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(fish_quote(r"a\b'c"), r"'a\\b\'c'");
        assert_eq!(powershell_quote("it's ’"), "'it''s ’’'");
        assert_eq!(dotenv_quote("ASIA+/="), "ASIA+/=");
        assert_eq!(dotenv_quote("a b $X"), "'a b $X'");
        assert_eq!(dotenv_quote("it's $X"), r#""it's \$X""#);
    }

    #[test]
    fn json_holds_the_values_set() {
        let json: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &changes())).unwrap();
        for (i, value) in AWKWARD.iter().enumerate() {
            assert_eq!(json[format!("ROLECALL_TEST_{i}")], *value);
        }
        assert!(json.get("AWS_PROFILE").is_none(), "removals are not values");
    }

    #[test]
    fn the_format_names_are_the_command_lines() {
        assert_eq!("powershell".parse::<Format>(), Ok(Format::PowerShell));
        assert!(
            "csh"
                .parse::<Format>()
                .unwrap_err()
                .contains("use sh, fish")
        );
    }
}
