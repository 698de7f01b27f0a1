//! Times on the wire: RFC 3339 in UTC (`2026-12-07T10:00:00.123456Z`), as
//! chrono writes them, read with chrono's RFC 3339 parser.
//!
//! chrono's own `Deserialize` reads with its relaxed parser, which is
//! built on its general format parser (every format item, RFC 2822's
//! included): about 15 KB of the WASM every page loads, for the one format
//! the server writes. Every time field of the wire types uses this module
//! (`#[serde(with = "crate::timestamp")]`, or [`option`]).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserializer, Serializer, de};

/// Written as chrono writes it.
pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(time, serializer)
}

/// Read as RFC 3339, any offset, held in UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Rfc3339)
}

struct Rfc3339;

impl de::Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an RFC 3339 time")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

/// The same for an optional time (`null` or absent: none; use with
/// `#[serde(default)]`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(time, serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        deserializer.deserialize_option(MaybeRfc3339)
    }

    struct MaybeRfc3339;

    impl<'de> de::Visitor<'de> for MaybeRfc3339 {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("an RFC 3339 time or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Times {
        #[serde(with = "crate::timestamp")]
        at: DateTime<Utc>,
        #[serde(default, with = "crate::timestamp::option")]
        until: Option<DateTime<Utc>>,
    }

    #[test]
    fn times_read_back_as_chrono_writes_them() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        for until in [None, Some(at)] {
            let times = Times { at, until };
            let json = serde_json::to_string(&times).unwrap();
            assert_eq!(
                json,
                serde_json::to_string(&(ChronoTimes { at, until })).unwrap()
            );
            assert_eq!(serde_json::from_str::<Times>(&json).unwrap(), times);
        }
    }

    #[derive(Serialize)]
    struct ChronoTimes {
        at: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    }

    #[test]
    fn any_offset_is_read_in_utc_and_anything_else_is_refused() {
        let read = |json: &str| serde_json::from_str::<Times>(json);
        let times = read(r#"{"at": "2026-12-07T11:30:00+01:30"}"#).unwrap();
        assert_eq!(times.at.to_rfc3339(), "2026-12-07T10:00:00+00:00");
        assert_eq!(times.until, None);
        assert_eq!(
            read(r#"{"at": "2026-12-07T10:00:00Z", "until": null}"#)
                .unwrap()
                .until,
            None
        );
        for bad in [
            r#"{"at": "yesterday"}"#,
            r#"{"at": "Mon, 07 Dec 2026 10:00:00 +0000"}"#,
            r#"{"at": 1765101600}"#,
            r#"{"at": "2026-12-07T10:00:00Z", "until": "soon"}"#,
        ] {
            let err = read(bad).unwrap_err().to_string();
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }
}
