//! Putting names someone else chose into shell commands a visitor may paste into a terminal.
//!
//! The name of a shared file is the uploader's choice, so it is quoted as one POSIX shell word
//! that no shell expands; names that cannot be shown safely in a one-line command (control
//! characters, invisible or direction-changing characters) are replaced by a placeholder.

/// What a command says instead of a name it cannot show safely.
pub const FILE_PLACEHOLDER: &str = "FILE";

/// `text` as one single-quoted POSIX shell word: inside single quotes nothing is special, and a
/// single quote itself is written as `'\''` (close, escaped quote, reopen).
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Characters that must not appear in a command meant to be read and pasted: line breaks and
/// other controls (a newline would run what follows), and invisible or bidirectional formatting
/// characters that make the command look different from what it runs.
fn unsafe_to_show(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// A file in the current directory as a command argument: quoted, and prefixed with `./` when
/// it starts with `-` so no command reads it as an option. `None` when the name cannot be shown
/// safely (use [`FILE_PLACEHOLDER`] and say so).
pub fn file_argument(name: &str) -> Option<String> {
    if name.is_empty() || name.chars().any(unsafe_to_show) {
        return None;
    }
    Some(if name.starts_with('-') {
        quote(&format!("./{name}"))
    } else {
        quote(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What `sh` makes of `word`: the words it passes to a command, one per line.
    fn sh_words(word: &str) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\n' {word}"))
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{word}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn quotes_are_closed_escaped_and_reopened() {
        assert_eq!(quote("a.txt"), "'a.txt'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(
            file_argument("report'$(id>pwned)'.txt").unwrap(),
            r"'report'\''$(id>pwned)'\''.txt'"
        );
    }

    #[test]
    fn the_shell_sees_exactly_one_word_and_runs_nothing() {
        let dir = std::env::temp_dir().join(format!("ferry-shell-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "report'$(id>pwned)'.txt",
            "a`touch pwned`b",
            "$(touch pwned)",
            "${HOME}.txt",
            "'; touch pwned; '",
            "\\'\"\\\"",
            "*",
            "x y  z",
            "~root",
            "!!",
            "ünïcødé ✓.txt",
        ] {
            let word = file_argument(name).unwrap();
            let out = Command::new("sh")
                .current_dir(&dir)
                .arg("-c")
                .arg(format!("printf '%s\\n' {word}"))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{name}\n"));
        }
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(left.is_empty(), "no command ran: {left:?}");
    }

    #[test]
    fn a_leading_dash_is_never_an_option() {
        assert_eq!(file_argument("-rf").unwrap(), "'./-rf'");
        assert_eq!(sh_words(&file_argument("--help").unwrap()), "./--help\n");
        assert_eq!(file_argument("a-b").unwrap(), "'a-b'");
    }

    #[test]
    fn names_that_cannot_be_shown_safely_get_no_command() {
        for name in [
            "a\nrm -rf ~\n",
            "a\rb",
            "tab\there",
            "bell\u{7}",
            "esc\u{1b}[2J",
            "del\u{7f}",
            "c1\u{85}",
            "evil\u{202E}txt.exe",
            "zero\u{200B}width",
            "isolate\u{2066}x\u{2069}",
            "bom\u{FEFF}",
            "",
        ] {
            assert_eq!(file_argument(name), None, "{name:?}");
        }
    }
}
