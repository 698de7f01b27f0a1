//! How the page reads JSON: every reply, stream event, tab signal and
//! stored value goes through [`from_str`] (and the server functions'
//! arguments, on the server, through the same codec).

use serde::de::DeserializeOwned;

/// Reads `text` as a `T`. In the browser, through a [`serde_json::Value`]
/// ([`through_value`]), which keeps the page's WASM small; on the server,
/// straight from the text: no tree built for each server function's
/// arguments, and a field given twice is refused, not settled by the
/// last one.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    #[cfg(feature = "hydrate")]
    return through_value(text);
    #[cfg(not(feature = "hydrate"))]
    serde_json::from_str(text)
}

/// Reads `text` as a `T`: parsed once into a [`serde_json::Value`], then
/// `T` read from that. Reading text straight into each type makes serde
/// inline the whole parser into every type's deserializer; through
/// `Value` the parser is compiled once and each type keeps only its
/// fields (BENCHMARKS.md, "First load, sixteenth session"). What the page
/// reads is small, so the extra step costs little.
#[cfg(any(feature = "hydrate", test))]
fn through_value<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    T::deserialize(serde_json::from_str::<serde_json::Value>(text)?)
}

#[cfg(test)]
mod tests {
    use shared::{ChatMessage, room::ReadPosition};

    use super::{from_str, through_value};

    #[test]
    fn reads_what_serde_json_writes() {
        let position = ReadPosition {
            last_read: 41,
            count: 7,
        };
        let text = serde_json::to_string(&vec![position]).unwrap();
        assert_eq!(
            from_str::<Vec<ReadPosition>>(&text).unwrap(),
            vec![position]
        );
        assert_eq!(
            through_value::<Vec<ReadPosition>>(&text).unwrap(),
            vec![position]
        );
    }

    #[test]
    fn refuses_malformed_text_and_the_wrong_shape() {
        for read in [from_str::<ReadPosition>, through_value::<ReadPosition>] {
            assert!(read(r#"{"last_read": 1, "count": 2"#).is_err());
            assert!(read(r#"{"last_read": 1, "count": 2} x"#).is_err());
            assert!(read(r#"{"last_read": "one", "count": 2}"#).is_err());
        }
        assert!(from_str::<ChatMessage>(r#"{"username": "ada"}"#).is_err());
        assert!(through_value::<ChatMessage>(r#"{"username": "ada"}"#).is_err());
    }

    #[test]
    fn off_the_page_a_field_given_twice_is_refused() {
        let twice = r#"{"last_read": 1, "last_read": 9, "count": 2}"#;
        assert!(from_str::<ReadPosition>(twice).is_err());
    }
}
