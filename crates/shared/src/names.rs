//! When two names are one: the server's key for account names, guests'
//! names and room names, so that a name cannot be taken again in a form
//! people would mistake for it.
//!
//! [`name_key`] folds, in this order:
//! 1. NFKC: compatibility forms become their letters (`ｇ` → `g`,
//!    `ⓟ` → `p`, `ﬁ` → `fi`);
//! 2. upper case, then the confusable skeleton of Unicode TR39 (UTS #39):
//!    the confusables table maps capitals too (`I` → `l`), so it is
//!    applied before any lower-casing, which would turn `I` into `i` and
//!    let `paypaI` pass beside `paypal`. Upper case first, so that `i` and
//!    `I` stay one letter: a key that ignores case and folds `I` into `l`
//!    must fold `i` into `l` too;
//! 3. lower case, then the skeleton again, for letters confusable only in
//!    their small form (Latin `ɑ` → `a`), and lower case once more.
//!
//! So `PAYPAL`, `paypaI`, `pаypal` (Cyrillic `а`) and `ｐａｙｐａｌ` share
//! `paypal`'s key, and `BILL`, `bill` and `biII` share one.
//!
//! Some letters have no entry in the confusables table yet pass for common
//! ones (small capitals `ᴀ`, `ᴘ`; IPA's `ɪ`, `ʟ`). TR39's General Security
//! Profile restricts them from identifiers as technical, obsolete or
//! excluded letters: [`check_letters`] refuses them in a new name (rule
//! [`Rule::RestrictedLetter`]), while the key of a name made before the
//! rule still works.
//!
//! Server only: the tables would weigh the WASM down, and the server's
//! answer is the one that counts.

use unicode_normalization::UnicodeNormalization;
use unicode_security::{
    GeneralSecurityProfile, general_security_profile::IdentifierType, skeleton,
};

use crate::validate::{Field, Rule, ValidationError};

/// The key two names share when people could mistake one for the other.
/// Total: every name has one, whatever it holds.
pub fn name_key(name: &str) -> String {
    let upper: String = name.nfkc().collect::<String>().to_uppercase();
    let capitals: String = skeleton(&upper).collect();
    skeleton(&capitals.to_lowercase())
        .collect::<String>()
        .to_lowercase()
}

/// Refuses a new name holding a letter that TR39 restricts from
/// identifiers as technical (small capitals, IPA), obsolete, excluded or
/// deprecated. Letters of every living script, digits, punctuation and
/// emoji pass.
pub fn check_letters(field: Field, name: &str) -> Result<(), ValidationError> {
    let restricted = name.nfkc().any(|c| {
        c.is_alphabetic()
            && matches!(
                c.identifier_type(),
                Some(
                    IdentifierType::Technical
                        | IdentifierType::Obsolete
                        | IdentifierType::Exclusion
                        | IdentifierType::Deprecated
                )
            )
    });
    if restricted {
        return Err(ValidationError {
            field,
            rule: Rule::RestrictedLetter,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differing_in_case_share_a_key() {
        assert_eq!(name_key("Ada"), name_key("ada"));
        assert_eq!(name_key("ADA"), name_key("ada"));
        assert_eq!(name_key("ÉTÉ"), name_key("été"));
        // An I is an i whatever else it looks like.
        assert_eq!(name_key("BILL"), name_key("bill"));
        assert_eq!(name_key("CAFÉ AU LAIT"), name_key("café au lait"));
        assert_eq!(name_key("Ivan"), name_key("ivan"));
        assert_ne!(name_key("ada"), name_key("bob"));
        assert_ne!(name_key("ada"), name_key("adam"));
    }

    #[test]
    fn a_capital_i_is_the_look_alike_of_a_small_l() {
        // Lower-casing first turned `I` into `i`, which the table does not
        // map to `l`: `paypaI` passed beside `paypal`.
        assert_eq!(name_key("paypaI"), name_key("paypal"));
        assert_eq!(name_key("biII"), name_key("bill"));
        assert_eq!(name_key("generaI"), name_key("general"));
        assert_eq!(name_key("PAYPAL"), name_key("paypal"));
    }

    #[test]
    fn letters_of_other_scripts_that_look_latin_share_its_key() {
        assert_eq!(name_key("\u{0430}da"), name_key("ada"));
        assert_eq!(name_key("g\u{0435}neral"), name_key("general"));
        assert_eq!(name_key("p\u{0430}yp\u{0430}l"), name_key("paypal"));
        // Confusable only in its small form: Latin alpha.
        assert_eq!(name_key("\u{0251}da"), name_key("ada"));
    }

    #[test]
    fn compatibility_forms_share_their_letters_key() {
        assert_eq!(name_key("ｇｅｎｅｒａｌ"), name_key("general"));
        assert_eq!(name_key("ⓟⓐⓨⓟⓐⓛ"), name_key("paypal"));
        assert_eq!(name_key("Ⓟⓐⓨⓟⓐⓛ"), name_key("paypal"));
    }

    #[test]
    fn small_capitals_and_ipa_letters_are_refused_in_new_names() {
        for name in ["ᴘᴀʏᴘᴀʟ", "ᴀᴅᴀ", "bɪll", "ʙob"] {
            assert_eq!(
                check_letters(Field::Username, name),
                Err(ValidationError {
                    field: Field::Username,
                    rule: Rule::RestrictedLetter,
                }),
                "{name}"
            );
        }
    }

    #[test]
    fn letters_of_living_scripts_digits_punctuation_and_emoji_pass() {
        for name in [
            "ada",
            "Zoë",
            "Ýmir",
            "Алёна",
            "김민준",
            "محمد",
            "ᏣᎳᎩ",
            "c++",
            "ada.",
            "r2d2",
            "💬 chat",
            "ⓟⓐⓨⓟⓐⓛ",
        ] {
            assert_eq!(check_letters(Field::Room, name), Ok(()), "{name}");
        }
    }
}
