//! The session data's JSON, as the stores keep it: decoding it into the session type, and
//! telling after a request whether the data still serializes to what was loaded.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The stored data of a session written before any handler saw it (the querystring-mode redirect
/// of a new visitor, an eager session no handler opened): it stands for the session type's default.
pub(crate) const DEFAULT_DATA: &[u8] = b"null";

/// Decodes stored session data as `S`; `null` (`DEFAULT_DATA`) is `S::default()`.
pub fn decode_data<S: DeserializeOwned + Default>(json: &[u8]) -> serde_json::Result<S> {
    if json == DEFAULT_DATA {
        return Ok(S::default());
    }
    serde_json::from_slice(json)
}

/// Whether `value` serializes to exactly `expected`, found without building the JSON.
///
/// Every request whose handler read its session asks this once (a read that changed nothing,
/// even through a `Cell` in the session type, must not be saved): the JSON arrives a few bytes
/// at a time, a key, a quote, a value, each compared where it falls in `expected`. It stops at
/// the first byte that differs: a changed session is serialized again to be saved, and the rest
/// of this pass would be for nothing.
///
/// # Errors
/// `value` fails to serialize before it differs from `expected`.
pub fn serializes_to<T: Serialize>(value: &T, expected: &[u8]) -> serde_json::Result<bool> {
    let mut compare = Compare {
        rest: expected,
        same: true,
    };
    match serde_json::to_writer(&mut compare, value) {
        // `same` too: a `Serialize` impl may swallow the refusal and go on writing.
        Ok(()) => Ok(compare.same && compare.rest.is_empty()),
        // `Compare` refused a write that differs: stopped there.
        Err(_) if !compare.same => Ok(false),
        Err(error) => Err(error),
    }
}

/// Compares what is written with the rest of `expected`; refuses the first write that differs.
struct Compare<'e> {
    rest: &'e [u8],
    same: bool,
}

impl Compare<'_> {
    #[inline(always)]
    fn take(&mut self, written: &[u8]) -> std::io::Result<()> {
        match self.rest.split_at_checked(written.len()) {
            Some((head, rest)) if same_bytes(head, written) => {
                self.rest = rest;
                Ok(())
            }
            _ => {
                self.same = false;
                // An error of a bare kind carries no allocation.
                Err(std::io::ErrorKind::Other.into())
            }
        }
    }
}

impl std::io::Write for Compare<'_> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.take(buf)?;
        Ok(buf.len())
    }

    /// What serde_json calls: one comparison, without `write`'s loop around it.
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.take(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether two slices of the same length hold the same bytes. The pieces serde_json writes are
/// mostly a few bytes long, for which a `memcmp` call costs more than the comparison: up to 16
/// bytes are compared as two overlapping words (or, under 4 bytes, three single bytes) that
/// cover every byte between them.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word<const N: usize>(bytes: Option<&[u8; N]>) -> Option<[u8; N]> {
        bytes.copied()
    }
    let len = a.len();
    if len != b.len() {
        return false;
    }
    match len {
        0 => true,
        1..4 => a.first() == b.first() && a.get(len / 2) == b.get(len / 2) && a.last() == b.last(),
        4..8 => {
            word::<4>(a.first_chunk()) == word(b.first_chunk())
                && word::<4>(a.last_chunk()) == word(b.last_chunk())
        }
        8..=16 => {
            word::<8>(a.first_chunk()) == word(b.first_chunk())
                && word::<8>(a.last_chunk()) == word(b.last_chunk())
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_to_is_exact() {
        let value = vec![1, 2, 3];
        assert!(serializes_to(&value, b"[1,2,3]").expect("serializes"));
        for other in [&b"[1,2]"[..], b"[1,2,3,4]", b"[1,2,4]", b"", b"[1,2,3] "] {
            assert!(
                !serializes_to(&value, other).expect("serializes"),
                "{other:?}"
            );
        }
        let text = "a longer value, past sixteen bytes, with \"quotes\"";
        let json = serde_json::to_vec(&(text, None::<u8>, true)).expect("serializes");
        assert!(serializes_to(&(text, None::<u8>, true), &json).expect("serializes"));
        for at in 0..json.len() {
            let mut changed = json.clone();
            changed[at] ^= 1;
            assert!(!serializes_to(&(text, None::<u8>, true), &changed).expect("serializes"));
        }
    }

    /// Serializes as `1`, or fails.
    struct Fails(bool);

    impl Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            if self.0 {
                return Err(serde::ser::Error::custom("this value fails"));
            }
            serializer.serialize_u8(1)
        }
    }

    #[test]
    fn the_comparison_stops_at_the_first_difference() {
        let value = (Fails(false), Fails(true));
        // Different from the first value on: the failing second one is never reached.
        assert!(!serializes_to(&value, b"[2,1]").expect("stopped before the failure"));
        // The same up to the failure: its error comes out.
        assert!(serializes_to(&value, b"[1,1]").is_err());
    }

    /// Writes its first element, ignores whether that worked, and writes `]`.
    struct SwallowsErrors;

    impl Serialize for SwallowsErrors {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq;
            let mut seq = serializer.serialize_seq(Some(1))?;
            let _ = seq.serialize_element(&2);
            seq.end()
        }
    }

    #[test]
    fn a_refused_write_counts_even_when_the_value_ignores_it() {
        // `[2]` against `[]`: the refused `2` is swallowed, and the `]` after it matches the
        // rest of `[]` exactly; the value differs all the same.
        assert!(!serializes_to(&SwallowsErrors, b"[]").expect("serializes"));
        assert!(serializes_to(&SwallowsErrors, b"[2]").expect("serializes"));
    }

    #[test]
    fn bytes_are_the_same_only_when_every_one_is() {
        let text: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..text.len() {
            let a = &text[..len];
            assert!(same_bytes(a, a), "{len}");
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x80;
                assert!(!same_bytes(a, &b), "{len} {at}");
            }
            assert!(!same_bytes(a, &text[..len + 1]), "{len}");
        }
    }
}
