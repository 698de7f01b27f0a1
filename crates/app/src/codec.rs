//! How the server functions' arguments and replies travel: JSON in a
//! `POST`, read as the page reads every other JSON.

use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType, codec::Post};
use serde::{Serialize, de::DeserializeOwned};

/// JSON, as server_fn's own `JsonEncoding` but read with
/// [`crate::json::from_str`] like every other JSON the page reads (the
/// page's start, the stream's events, the tabs' signals, the JSON API's
/// replies): serde's code is generic over the reader, so each way of
/// reading gives every type the page reads another deserializer in the
/// WASM. A body that is not UTF-8 is refused, as before.
pub struct JsonText;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        crate::json::from_str(text)
    }
}

/// Every server function's arguments and reply: [`JsonText`] in a `POST`.
pub type Json = Post<JsonText>;
