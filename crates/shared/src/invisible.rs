//! Characters that show nothing where they stand: what a username may not
//! hide inside itself.
//!
//! A name is how people tell each other apart, so `ada` and `ada` followed
//! by a zero-width space must not both exist, and a name must not reverse
//! the text around it. The set is Unicode's `Default_Ignorable_Code_Point`
//! property (zero-width characters, bidi controls, the Hangul fillers,
//! variation selectors, tags) plus the blank Braille pattern, which renders
//! as nothing but is not in that property.
//!
//! Three of them carry meaning inside a word, and are allowed there: the
//! zero-width non-joiner and joiner (Persian and Indic names, emoji
//! sequences) between two visible characters, and the text and emoji
//! variation selectors (`❤️`) right after one.

/// Whether `c` renders as nothing (see the module's documentation).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `c` shows something: neither invisible nor white space.
pub fn is_visible(c: char) -> bool {
    !is_invisible(c) && !c.is_whitespace() && !c.is_control()
}

/// The first invisible character of `name` that is not one of the
/// joiners or variation selectors allowed where they carry meaning.
pub fn hidden_character(name: &str) -> Option<char> {
    let chars: Vec<char> = name.chars().collect();
    chars.iter().enumerate().find_map(|(i, &c)| {
        if !is_invisible(c) {
            return None;
        }
        let after_visible = i > 0 && is_visible(chars[i - 1]);
        let before_visible = chars.get(i + 1).is_some_and(|&next| is_visible(next));
        let allowed = match c {
            '\u{200C}' | '\u{200D}' => after_visible && before_visible,
            '\u{FE0E}' | '\u{FE0F}' => after_visible,
            _ => false,
        };
        (!allowed).then_some(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_width_bidi_and_fillers_are_hidden() {
        for name in [
            "ada\u{200B}",
            "\u{200B}ada",
            "a\u{202E}da",
            "ada\u{2066}",
            "\u{3164}",
            "a\u{2800}",
            "ad\u{00AD}a",
            "ada\u{E0061}",
            "\u{FEFF}ada",
        ] {
            assert!(hidden_character(name).is_some(), "{name:?}");
        }
    }

    #[test]
    fn joiners_and_variation_selectors_are_allowed_inside_a_name() {
        for name in [
            "ada",
            "می\u{200C}خواهم",
            "👩\u{200D}💻",
            "❤\u{FE0F}",
            "ada ❤\u{FE0F} bob",
        ] {
            assert_eq!(hidden_character(name), None, "{name:?}");
        }
    }

    #[test]
    fn joiners_at_an_edge_or_doubled_are_hidden() {
        for name in [
            "\u{200D}ada",
            "ada\u{200C}",
            "a\u{200D}\u{200D}da",
            "\u{FE0F}ada",
        ] {
            assert!(hidden_character(name).is_some(), "{name:?}");
        }
    }
}
