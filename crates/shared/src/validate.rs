//! The rules a message must pass before it is stored.
//!
//! The browser checks them to give quick feedback; the server checks them
//! again because it cannot trust the browser. Both call [`NewMessage::parse`].
//!
//! A username is normalized to NFC (so that one name has one spelling) and
//! may hold no invisible characters (see [`crate::invisible`]): people must
//! be able to tell two names apart by looking at them. A text may hold any
//! script and any character but controls; the page isolates its direction.

use serde::{Deserialize, Serialize};

use crate::invisible;

/// The most characters (Unicode scalar values) a username may have.
pub const USERNAME_MAX_CHARS: usize = 32;
/// The most characters (Unicode scalar values) a room's name may have.
pub const ROOM_MAX_CHARS: usize = 40;
/// The most characters (Unicode scalar values) a message text may have.
pub const TEXT_MAX_CHARS: usize = 2000;
/// The most characters (Unicode scalar values) a reaction may have: a short
/// word, or any one emoji (the longest sequences Unicode lists, a couple
/// with skin tones joined, are 10).
pub const REACTION_MAX_CHARS: usize = 16;
/// The most characters a moderator's reason (for a removal, a ban, a
/// report) may have.
pub const REASON_MAX_CHARS: usize = 500;
/// The fewest characters a password may have.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// The most characters a password may have (hashing a longer one would
/// cost the server for nothing).
pub const PASSWORD_MAX_CHARS: usize = 128;

/// The field a [`ValidationError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Username,
    Text,
    Password,
    /// A room's name (see [`crate::room`]).
    Room,
    /// A reaction to a message (an emoji or a short word).
    Reaction,
    /// The message a reply answers.
    ReplyTo,
    /// Why a moderator acts (or a reader reports).
    Reason,
    /// An account's role.
    Role,
}

/// The rule a [`ValidationError`] reports as broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Empty, or only whitespace.
    Required,
    /// Longer than the field's maximum after trimming.
    TooLong,
    /// Shorter than the field's minimum (a password).
    TooShort,
    /// Holds a control character (the text may hold newlines).
    ControlCharacter,
    /// A username that holds a character showing nothing (zero-width,
    /// bidi control, filler), or nothing visible at all.
    InvisibleCharacter,
    /// A name made only of punctuation and spaces (`.`, `..`, `---`): it
    /// names nothing, and `.` and `..` are no path a browser keeps.
    OnlyPunctuation,
    /// A new name holding a letter that Unicode restricts from identifiers
    /// as technical, obsolete or excluded (small capitals `ᴀ`, IPA's `ɪ`):
    /// such letters pass for common ones (checked by the server, see
    /// `names::check_letters`).
    RestrictedLetter,
    /// A username that an account holds, or one that looks the same
    /// (differs only in case or in look-alike characters).
    Taken,
    /// A reply to a message that is not in the same room (or none).
    ReplyTo,
    /// A role that is none of `admin`, `moderator`, `member`.
    UnknownRole,
    /// A room name beginning with `@`, which names direct conversations.
    Reserved,
}

/// Why a message was rejected: one field, one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ValidationError {
    pub field: Field,
    pub rule: Rule,
}

impl ValidationError {
    fn describe(&self) -> String {
        let (name, max) = match self.field {
            Field::Username => ("username", USERNAME_MAX_CHARS),
            Field::Text => ("text", TEXT_MAX_CHARS),
            Field::Password => ("password", PASSWORD_MAX_CHARS),
            Field::Room => ("room name", ROOM_MAX_CHARS),
            Field::Reaction => ("reaction", REACTION_MAX_CHARS),
            Field::ReplyTo => ("reply_to", 0),
            Field::Reason => ("reason", REASON_MAX_CHARS),
            Field::Role => ("role", 0),
        };
        match self.rule {
            Rule::Required => format!("{name} must not be empty"),
            Rule::TooLong => format!("{name} must be at most {max} characters"),
            Rule::TooShort => format!("{name} must be at least {PASSWORD_MIN_CHARS} characters"),
            Rule::Taken if self.field == Field::Room => {
                format!("a room with this {name} exists (names differ by more than case)")
            }
            Rule::Taken => format!("{name} belongs to an account, or looks like one that does"),
            Rule::ControlCharacter if self.field == Field::Text => {
                format!("{name} must not contain control characters other than newlines")
            }
            Rule::ControlCharacter => format!("{name} must not contain control characters"),
            Rule::OnlyPunctuation => format!("{name} must hold more than punctuation"),
            Rule::ReplyTo => format!("{name} must name a message of the same room"),
            Rule::UnknownRole => format!("{name} must be admin, moderator or member"),
            Rule::Reserved => {
                format!("{name} must not begin with @, which names direct conversations")
            }
            Rule::RestrictedLetter => format!(
                "{name} must not use letters made for phonetics or old scripts (such as small capitals), which pass for common ones"
            ),
            Rule::InvisibleCharacter => format!(
                "{name} must not contain invisible characters (zero-width spaces, direction controls, fillers)"
            ),
        }
    }
}

/// A message whose username and text passed every rule, trimmed and with
/// line endings normalized to `\n`. The only way to make one is [`NewMessage::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    username: String,
    text: String,
}

impl NewMessage {
    /// Checks the username first, then the text, and reports the first
    /// broken rule.
    pub fn parse(username: &str, text: &str) -> Result<Self, ValidationError> {
        let username = parse_username(username)?;
        let text = parse_text(text)?;
        Ok(Self { username, text })
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A message's text as the rules make it (a new message's, or an edited
/// one's): trimmed, line endings normalized to `\n`, not empty, not too
/// long, no control character but the line break.
pub fn parse_text(text: &str) -> Result<String, ValidationError> {
    let text = text.replace("\r\n", "\n");
    let text = check(Field::Text, text.trim(), TEXT_MAX_CHARS, |c| {
        c.is_control() && c != '\n'
    })?;
    Ok(text.to_owned())
}

/// A reason as the rules make it (a moderator's, a reporter's): trimmed,
/// line endings normalized, at most [`REASON_MAX_CHARS`] characters, no
/// control character but the line break; `None` when none was given or
/// it is blank.
pub fn parse_reason(reason: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(reason) = reason.map(|reason| reason.replace("\r\n", "\n")) else {
        return Ok(None);
    };
    if reason.trim().is_empty() {
        return Ok(None);
    }
    let reason = check(Field::Reason, reason.trim(), REASON_MAX_CHARS, |c| {
        c.is_control() && c != '\n'
    })?;
    Ok(Some(reason.to_owned()))
}

/// A reaction as the rules make it: an emoji or a short word, with the
/// rules of a name (trimmed, in NFC, nothing invisible, not only
/// punctuation) and at most [`REACTION_MAX_CHARS`] characters.
pub fn parse_reaction(reaction: &str) -> Result<String, ValidationError> {
    parse_name(Field::Reaction, reaction, REACTION_MAX_CHARS)
}

/// A username (a message's, or an account's name) as the rules make it:
/// trimmed, in NFC, with no control or invisible character.
pub fn parse_username(username: &str) -> Result<String, ValidationError> {
    parse_name(Field::Username, username, USERNAME_MAX_CHARS)
}

/// A name people tell apart by looking at it (a username, a room's name):
/// trimmed, in NFC, 1 to `max_chars` characters, with no control or
/// invisible character.
pub(crate) fn parse_name(
    field: Field,
    name: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let name = nfc(name.trim());
    let checked = check(field, &name, max_chars, char::is_control)?;
    if invisible::hidden_character(checked).is_some() || !checked.chars().any(invisible::is_visible)
    {
        return Err(ValidationError {
            field,
            rule: Rule::InvisibleCharacter,
        });
    }
    if checked
        .chars()
        .all(|c| c.is_ascii_punctuation() || c.is_whitespace())
    {
        return Err(ValidationError {
            field,
            rule: Rule::OnlyPunctuation,
        });
    }
    Ok(name)
}

/// `text` in Unicode's Normalization Form C: one spelling for one name.
#[cfg(not(target_arch = "wasm32"))]
fn nfc(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc().collect()
}

/// `text` in Unicode's Normalization Form C, by the browser's own tables
/// (the server normalizes again with its own, and its answer is the one
/// that counts).
#[cfg(target_arch = "wasm32")]
fn nfc(text: &str) -> String {
    js_sys::JsString::from(text)
        .normalize("NFC")
        .as_string()
        .unwrap_or_else(|| text.to_owned())
}

/// Whether `password` may be an account's password: 8 to 128 characters,
/// any characters, taken exactly as typed (no trimming).
pub fn check_password(password: &str) -> Result<(), ValidationError> {
    let count = password.chars().count();
    let rule = if password.is_empty() {
        Rule::Required
    } else if count < PASSWORD_MIN_CHARS {
        Rule::TooShort
    } else if count > PASSWORD_MAX_CHARS {
        Rule::TooLong
    } else {
        return Ok(());
    };
    Err(ValidationError {
        field: Field::Password,
        rule,
    })
}

fn check(
    field: Field,
    value: &str,
    max_chars: usize,
    forbidden: impl Fn(char) -> bool,
) -> Result<&str, ValidationError> {
    let rule = if value.is_empty() {
        Some(Rule::Required)
    } else if value.chars().count() > max_chars {
        Some(Rule::TooLong)
    } else if value.chars().any(forbidden) {
        Some(Rule::ControlCharacter)
    } else {
        None
    };
    match rule {
        Some(rule) => Err(ValidationError { field, rule }),
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_8_to_128_characters_taken_as_typed() {
        let rule = |password: &str| check_password(password).map_err(|err| (err.field, err.rule));
        assert_eq!(rule(""), Err((Field::Password, Rule::Required)));
        assert_eq!(rule("seven77"), Err((Field::Password, Rule::TooShort)));
        assert_eq!(rule("eight888"), Ok(()));
        // Characters, not bytes: eight of them are 24 bytes.
        assert_eq!(rule("密码密码密码密码"), Ok(()));
        assert_eq!(rule(&"x".repeat(128)), Ok(()));
        assert_eq!(
            rule(&"x".repeat(129)),
            Err((Field::Password, Rule::TooLong))
        );
        // Spaces count: nothing is trimmed.
        assert_eq!(rule("       a"), Ok(()));
    }

    fn rejects(username: &str, text: &str) -> ValidationError {
        NewMessage::parse(username, text).expect_err("should be rejected")
    }

    #[test]
    fn accepts_and_trims_a_plain_message() {
        let message = NewMessage::parse("  ada ", "\thello world \n").expect("valid");
        assert_eq!(message.username(), "ada");
        assert_eq!(message.text(), "hello world");
    }

    #[test]
    fn empty_or_blank_username_is_required() {
        for username in ["", "   ", "\n\t"] {
            let err = rejects(username, "hi");
            assert_eq!((err.field, err.rule), (Field::Username, Rule::Required));
        }
    }

    #[test]
    fn a_username_of_only_punctuation_names_nobody() {
        for username in ["...", "-", "?!"] {
            let err = rejects(username, "hi");
            assert_eq!(
                (err.field, err.rule),
                (Field::Username, Rule::OnlyPunctuation)
            );
        }
        assert!(NewMessage::parse("ada.", "hi").is_ok());
    }

    #[test]
    fn empty_or_blank_text_is_required() {
        for text in ["", " ", "\r\n \n"] {
            let err = rejects("ada", text);
            assert_eq!((err.field, err.rule), (Field::Text, Rule::Required));
        }
    }

    #[test]
    fn username_limit_counts_characters_not_bytes() {
        let at_limit = "é".repeat(USERNAME_MAX_CHARS);
        assert!(NewMessage::parse(&at_limit, "hi").is_ok());
        let err = rejects(&format!("{at_limit}x"), "hi");
        assert_eq!((err.field, err.rule), (Field::Username, Rule::TooLong));
    }

    #[test]
    fn text_limit_applies_after_trimming() {
        let at_limit = "a".repeat(TEXT_MAX_CHARS);
        assert!(NewMessage::parse("ada", &format!("  {at_limit}  ")).is_ok());
        let err = rejects("ada", &format!("{at_limit}a"));
        assert_eq!((err.field, err.rule), (Field::Text, Rule::TooLong));
    }

    #[test]
    fn text_keeps_inner_newlines_and_normalizes_crlf() {
        let message = NewMessage::parse("ada", "line one\r\nline two\nthree").expect("valid");
        assert_eq!(message.text(), "line one\nline two\nthree");
    }

    #[test]
    fn control_characters_are_rejected() {
        let err = rejects("ada", "bell\u{7}");
        assert_eq!((err.field, err.rule), (Field::Text, Rule::ControlCharacter));
        let err = rejects("ada", "tab\tinside");
        assert_eq!((err.field, err.rule), (Field::Text, Rule::ControlCharacter));
        let err = rejects("a\nda", "hi");
        assert_eq!(
            (err.field, err.rule),
            (Field::Username, Rule::ControlCharacter)
        );
        let err = rejects("a\u{1b}da", "hi");
        assert_eq!(
            (err.field, err.rule),
            (Field::Username, Rule::ControlCharacter)
        );
    }

    #[test]
    fn username_is_normalized_to_nfc() {
        // "é" as "e" and a combining acute accent, then as one character.
        let message = NewMessage::parse("jose\u{301}", "hi").expect("valid");
        assert_eq!(message.username(), "jos\u{e9}");
    }

    #[test]
    fn usernames_hiding_invisible_characters_are_rejected() {
        for username in [
            &"\u{200B}".repeat(USERNAME_MAX_CHARS),
            "ada\u{200B}",
            "\u{202E}ada",
            "\u{3164}",
            "\u{2800}",
        ] {
            let err = rejects(username, "hi");
            assert_eq!(
                (err.field, err.rule),
                (Field::Username, Rule::InvisibleCharacter),
                "{username:?}"
            );
        }
    }

    #[test]
    fn texts_may_hold_any_script_and_direction() {
        let text = "\u{202E}שלום\u{202C} and مرحبا\u{200B}";
        assert_eq!(NewMessage::parse("ada", text).expect("valid").text(), text);
    }

    #[test]
    fn username_is_checked_before_text() {
        let err = rejects("", "");
        assert_eq!(err.field, Field::Username);
    }

    #[test]
    fn error_message_names_the_field_and_the_limit() {
        let err = ValidationError {
            field: Field::Text,
            rule: Rule::TooLong,
        };
        assert_eq!(err.to_string(), "text must be at most 2000 characters");
    }

    #[test]
    fn error_serializes_field_and_rule_in_snake_case() {
        let err = ValidationError {
            field: Field::Username,
            rule: Rule::ControlCharacter,
        };
        let json = serde_json::to_string(&err).expect("serializes");
        assert_eq!(json, r#"{"field":"username","rule":"control_character"}"#);
    }
}
