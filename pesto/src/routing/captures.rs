//! [`Captures`]: the values a route's pattern captured, handed from the lookup to the handler
//! without a copy — each is where it lies in the routed path, unless percent-decoding changed it.

use smallvec::SmallVec;

/// A route's captured values in pattern order (see the module docs); `#[route]`'s generated
/// code reads them with [`get`](Self::get), against the request's path info.
///
/// One value stays inline (16 bytes), so a route with one parameter captures without
/// allocating, and `Captures` is no larger than a `Vec` (it waits in the dispatcher's future,
/// which must stay small); more values take one allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    values: SmallVec<[Capture; 1]>,
}

/// One captured value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Capture {
    /// Bytes `start..end` of the routed path, as received (nothing in them was encoded).
    Span { start: u32, end: u32 },
    /// A value whose segment held a `%`, decoded.
    Decoded(Box<str>),
}

impl Captures {
    /// How many values were captured.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the pattern captured nothing.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The `index`th value, reading spans in `path`, the path the route was looked up with
    /// ([`Request::path_info`](crate::Request::path_info)); `None` past the last value, or if
    /// `path` is not that path.
    pub fn get<'a>(&'a self, index: usize, path: &'a str) -> Option<&'a str> {
        match self.values.get(index)? {
            Capture::Span { start, end } => path.get(*start as usize..*end as usize),
            Capture::Decoded(text) => Some(text),
        }
    }

    /// Every value as an owned string (values `path` cannot hold come out empty).
    pub fn to_strings(&self, path: &str) -> Vec<String> {
        (0..self.len())
            .map(|i| self.get(i, path).unwrap_or_default().to_owned())
            .collect()
    }

    /// Adds `path[start..end]`; a path too long for a `u32` offset (hyper refuses far shorter
    /// heads) keeps a copy instead.
    #[inline(always)]
    pub(crate) fn push_span(&mut self, path: &str, start: usize, end: usize) {
        let capture = match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => Capture::Span { start, end },
            _ => Capture::Decoded(path.get(start..end).unwrap_or_default().into()),
        };
        self.values.push(capture);
    }

    /// Adds a value that is not the path's own bytes.
    pub(crate) fn push_decoded(&mut self, text: &str) {
        self.values.push(Capture::Decoded(text.into()));
    }

    /// Drops the values after the first `len` (backtracking).
    #[inline]
    pub(crate) fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_are_as_small_as_a_vec_and_one_value_stays_inline() {
        assert_eq!(std::mem::size_of::<Capture>(), 16);
        assert_eq!(
            std::mem::size_of::<Captures>(),
            std::mem::size_of::<Vec<String>>()
        );
        let mut captures = Captures::default();
        captures.push_span("/a/b", 1, 2);
        assert!(!captures.values.spilled());
        captures.push_decoded("b");
        assert_eq!(captures.to_strings("/a/b"), ["a", "b"]);
    }

    #[test]
    fn spans_read_the_path_and_decoded_values_stand_alone() {
        let path = "/files/a%20b/42";
        let mut captures = Captures::default();
        captures.push_decoded("a b");
        captures.push_span(path, 13, 15);
        assert_eq!(captures.len(), 2);
        assert_eq!(captures.get(0, path), Some("a b"));
        assert_eq!(captures.get(1, path), Some("42"));
        assert_eq!(captures.get(2, path), None);
        // Read against a path too short for the span: nothing, never a panic.
        assert_eq!(captures.get(1, "/x"), None);
        assert_eq!(captures.to_strings(path), ["a b", "42"]);
        captures.truncate(1);
        assert_eq!(captures.to_strings(path), ["a b"]);
    }
}
