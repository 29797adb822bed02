//! The merge of two saves of one session: what a request saves when another request of the same
//! session saved it after this one loaded it (the session guide, "Concurrent requests").
//!
//! Three JSON texts take part: `base`, what this request loaded; `mine`, what it would save; and
//! `theirs`, what the store holds now. For a session that is a JSON object — a struct, a
//! `SessionMap` — the merge is per top-level field: a field whose serialized form differs
//! between `base` and `mine` (changed, added or removed) was changed by this request and takes
//! its value; every other field takes `theirs`. A field both requests changed to different values
//! is an overlap: this request's value wins, and the caller decides whether to log or refuse.
//! Anything else (a session that is a number, a list) is one field: `mine` wins whole.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The outcome of [`merge`].
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Merged {
    /// The JSON to save.
    pub(super) json: Vec<u8>,
    /// The fields both requests changed to different values (`None` for a session that is no
    /// JSON object, the whole of which is one field).
    pub(super) overlaps: Vec<Option<String>>,
}

/// Merges this request's changes (`base` → `mine`) into `theirs`.
pub(super) fn merge(base: &[u8], mine: &[u8], theirs: &[u8]) -> Merged {
    let (Some(base), Some(mine_fields), Some(their_fields)) =
        (fields(base), fields(mine), fields(theirs))
    else {
        // Not three objects: one field, the whole session.
        let overlap = mine != base && theirs != base && mine != theirs;
        return Merged {
            json: mine.to_vec(),
            overlaps: if overlap { vec![None] } else { Vec::new() },
        };
    };
    let (base, mine, theirs) = (
        Index::of(&base),
        Index::of(&mine_fields),
        Index::of(&their_fields),
    );
    let mut out: Vec<(&str, &RawValue)> = Vec::new();
    let mut overlaps = Vec::new();
    let changed_by_them = |name: &str| theirs.raw(name) != base.raw(name);
    // This request's fields in its own order (a struct's declaration order), then theirs.
    for (name, value) in &mine_fields {
        let mine = Some(value.get());
        if base.raw(name) != mine {
            if changed_by_them(name) && theirs.raw(name) != mine {
                overlaps.push(Some(name.clone()));
            }
            out.push((name, value));
        } else if let Some(theirs) = theirs.get(name) {
            out.push((name, theirs));
        }
    }
    for name in base.0.keys() {
        // Removed by this request: stays removed, an overlap if they changed it.
        if mine.get(name).is_none() && changed_by_them(name) {
            overlaps.push(Some((*name).to_owned()));
        }
    }
    for (name, value) in &their_fields {
        // Added by them, or kept by them where this request never had it.
        if mine.get(name).is_none() && base.get(name).is_none() {
            out.push((name, value));
        }
    }
    // Stable order of the overlaps found by the map walk, for the log.
    overlaps.sort();
    Merged {
        json: write_object(&out),
        overlaps,
    }
}

/// Fields by name, for lookups in time independent of the session's size.
struct Index<'f, 'a>(HashMap<&'f str, &'a RawValue>);

impl<'f, 'a> Index<'f, 'a> {
    fn of(fields: &'f Fields<'a>) -> Self {
        Index(fields.iter().map(|(n, v)| (n.as_str(), *v)).collect())
    }

    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.get(name).copied()
    }

    fn raw(&self, name: &str) -> Option<&'a str> {
        self.get(name).map(RawValue::get)
    }
}

/// A JSON object's members as they appear (raw values, so comparisons are of serialized forms).
type Fields<'a> = Vec<(String, &'a RawValue)>;

/// The members of `json` if it is an object; `null` (a session never written) has none.
fn fields(json: &[u8]) -> Option<Fields<'_>> {
    if json.trim_ascii() == b"null" {
        return Some(Vec::new());
    }
    serde_json::from_slice::<Members<'_>>(json)
        .ok()
        .map(|members| members.0)
}

fn write_object(members: &[(&str, &RawValue)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        members
            .iter()
            .map(|(n, v)| n.len() + v.get().len() + 4)
            .sum(),
    );
    out.push(b'{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing a `&str` to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, name);
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    out.push(b'}');
    out
}

/// A JSON object read member by member, in order, with borrowed raw values.
struct Members<'a>(Fields<'a>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((name, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(base: &str, mine: &str, theirs: &str) -> (String, Vec<Option<String>>) {
        let m = merge(base.as_bytes(), mine.as_bytes(), theirs.as_bytes());
        (String::from_utf8(m.json).expect("utf-8"), m.overlaps)
    }

    #[test]
    fn fields_changed_by_each_request_are_both_kept() {
        let (json, overlaps) = merged(
            r#"{"a":1,"b":1,"c":1}"#,
            r#"{"a":2,"b":1,"c":1}"#,
            r#"{"a":1,"b":3,"c":1}"#,
        );
        assert_eq!(json, r#"{"a":2,"b":3,"c":1}"#);
        assert!(overlaps.is_empty());
    }

    #[test]
    fn the_same_field_changed_by_both_takes_this_requests_value_and_is_reported() {
        let (json, overlaps) = merged(r#"{"n":1,"x":0}"#, r#"{"n":2,"x":0}"#, r#"{"n":5,"x":0}"#);
        assert_eq!(json, r#"{"n":2,"x":0}"#);
        assert_eq!(overlaps, [Some("n".to_owned())]);
        // Both wrote the same value: no overlap.
        let (_, overlaps) = merged(r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":2}"#);
        assert!(overlaps.is_empty());
    }

    #[test]
    fn map_keys_added_and_removed_on_either_side_are_merged() {
        // This request added "mine" and removed "gone"; the other added "theirs" and removed "old".
        let (json, overlaps) = merged(
            r#"{"gone":1,"old":1,"kept":1}"#,
            r#"{"old":1,"kept":1,"mine":true}"#,
            r#"{"gone":1,"kept":1,"theirs":true}"#,
        );
        assert_eq!(json, r#"{"kept":1,"mine":true,"theirs":true}"#);
        assert!(overlaps.is_empty());
        // Removed here, changed there: removed, and reported.
        let (json, overlaps) = merged(r#"{"k":1}"#, r#"{}"#, r#"{"k":2}"#);
        assert_eq!(json, "{}");
        assert_eq!(overlaps, [Some("k".to_owned())]);
    }

    #[test]
    fn nested_values_compare_by_their_serialized_form() {
        let (json, overlaps) = merged(
            r#"{"cart":[1],"prefs":{"a":1}}"#,
            r#"{"cart":[1,2],"prefs":{"a":1}}"#,
            r#"{"cart":[1],"prefs":{"a":1,"b":2}}"#,
        );
        assert_eq!(json, r#"{"cart":[1,2],"prefs":{"a":1,"b":2}}"#);
        assert!(overlaps.is_empty());
    }

    #[test]
    fn a_never_written_session_merges_as_an_empty_object() {
        let (json, overlaps) = merged("null", r#"{"a":1}"#, r#"{"b":2}"#);
        assert_eq!(json, r#"{"a":1,"b":2}"#);
        assert!(overlaps.is_empty());
    }

    #[test]
    fn a_session_that_is_no_object_is_one_field() {
        assert_eq!(merged("1", "2", "1"), ("2".to_owned(), vec![]));
        assert_eq!(merged("1", "2", "3"), ("2".to_owned(), vec![None]));
        assert_eq!(
            merged("[1]", "[1,2]", r#"{"a":1}"#),
            ("[1,2]".to_owned(), vec![None])
        );
    }

    #[test]
    fn names_with_escapes_round_trip() {
        let (json, _) = merged(r#"{"a\"b":1}"#, r#"{"a\"b":2}"#, r#"{"a\"b":1,"é\n":0}"#);
        assert_eq!(json, r#"{"a\"b":2,"é\n":0}"#);
    }
}
