//! How the page reads JSON: every reply, stream event, tab signal and
//! stored value goes through [`from_str`].

use serde::de::DeserializeOwned;

/// Reads `text` as a `T`: parsed once into a [`serde_json::Value`], then
/// `T` read from that. Reading text straight into each type makes serde
/// inline the whole parser into every type's deserializer; through
/// `Value` the parser is compiled once and each type keeps only its
/// fields, which makes the page's WASM smaller (BENCHMARKS.md, "First
/// load"). The values the page reads are small, so the extra step costs
/// little.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    T::deserialize(serde_json::from_str::<serde_json::Value>(text)?)
}

#[cfg(test)]
mod tests {
    use shared::{ChatMessage, room::ReadPosition};

    use super::from_str;

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
    }

    #[test]
    fn refuses_malformed_text_and_the_wrong_shape() {
        assert!(from_str::<ReadPosition>(r#"{"last_read": 1, "count": 2"#).is_err());
        assert!(from_str::<ReadPosition>(r#"{"last_read": 1, "count": 2} x"#).is_err());
        assert!(from_str::<ReadPosition>(r#"{"last_read": "one", "count": 2}"#).is_err());
        assert!(from_str::<ChatMessage>(r#"{"username": "ada"}"#).is_err());
    }
}
