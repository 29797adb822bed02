//! [`Segments`]: the path segments a lookup has still to match, read one at a time.
//!
//! Nearly every path has nothing percent-encoded: its segments are read straight off the path
//! as the matcher descends ([`Unencoded`]), with no list built first. A path holding a `%` is
//! decoded into a list of segments beforehand, and the matcher walks that slice.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::Text;

/// The position of the first `needle` in `bytes`, eight bytes at a time: paths are short, and a
/// library search's call costs more than it saves at these lengths.
#[inline]
pub(crate) fn find_byte(bytes: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(needle);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in words.by_ref() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        // Bytes equal to `needle` become zero; the lowest high bit set below marks the first
        // zero byte exactly (a borrow only runs upwards from a zero byte).
        let x = u64::from_le_bytes(word) ^ pattern;
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(at + (zeros.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| at + i)
}

/// A decoded path's segments: on the stack for paths of up to eight segments, as nearly all are.
pub(crate) type PathSegments<'a> = SmallVec<[Cow<'a, str>; 8]>;

/// The segments left to match.
pub(crate) trait Segments<'s>: Copy {
    /// The next segment and those after it; `None` when none is left.
    fn split_first(self) -> Option<(&'s str, Self)>;

    /// Whether no segment is left.
    fn is_empty(self) -> bool;

    /// The segments left as one text, for a pattern's `path` tail: separators are the joins
    /// between segments, never a `/` decoded inside one.
    fn tail(self, path: &'s str) -> Text<'s>;
}

/// The rest of a path with nothing encoded, after a separator: every `/` in it separates two
/// segments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unencoded<'p> {
    /// `None` once the last segment has been read (an empty text is still one empty segment).
    rest: Option<&'p str>,
}

impl<'p> Unencoded<'p> {
    /// The segments of `rest`, a path without its leading `/`, in which no byte is `%`.
    pub(crate) fn new(rest: &'p str) -> Self {
        Unencoded { rest: Some(rest) }
    }
}

impl<'p> Segments<'p> for Unencoded<'p> {
    #[inline]
    fn split_first(self) -> Option<(&'p str, Self)> {
        let rest = self.rest?;
        Some(match find_byte(rest.as_bytes(), b'/') {
            // `/` is ASCII: both sides of it are whole UTF-8 text.
            Some(at) => (
                rest.get(..at).unwrap_or_default(),
                Unencoded {
                    rest: rest.get(at + 1..),
                },
            ),
            None => (rest, Unencoded { rest: None }),
        })
    }

    #[inline(always)]
    fn is_empty(self) -> bool {
        self.rest.is_none()
    }

    fn tail(self, path: &'p str) -> Text<'p> {
        let segments: PathSegments<'p> = self
            .rest
            .map(|rest| rest.split('/').map(Cow::Borrowed).collect())
            .unwrap_or_default();
        Text::tail(&segments, path)
    }
}

impl<'s, 'p: 's> Segments<'s> for &'s [Cow<'p, str>] {
    #[inline]
    fn split_first(self) -> Option<(&'s str, Self)> {
        let (first, rest) = <[Cow<'p, str>]>::split_first(self)?;
        Some((first.as_ref(), rest))
    }

    #[inline(always)]
    fn is_empty(self) -> bool {
        <[Cow<'p, str>]>::is_empty(self)
    }

    fn tail(self, path: &'s str) -> Text<'s> {
        Text::tail(self, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all<'s>(mut segments: impl Segments<'s>) -> Vec<&'s str> {
        let mut out = Vec::new();
        while let Some((first, rest)) = segments.split_first() {
            out.push(first);
            segments = rest;
        }
        out
    }

    #[test]
    fn an_unencoded_path_reads_as_its_split() {
        for rest in [
            "",
            "a",
            "a/",
            "/",
            "//",
            "a/b/c",
            "section4/items/42",
            "é/ü/",
        ] {
            let split: Vec<&str> = rest.split('/').collect();
            assert_eq!(all(Unencoded::new(rest)), split, "{rest:?}");
            let cows: Vec<Cow<'_, str>> = split.iter().map(|s| Cow::Borrowed(*s)).collect();
            assert_eq!(all(cows.as_slice()), split, "{rest:?}");
        }
    }

    #[test]
    fn a_byte_is_found_where_a_plain_search_finds_it() {
        let texts = [
            "",
            "/",
            "a/b",
            "section4/items/42",
            "exactly8",
            "exactly8/",
            "%2F/%",
            "0123456789abcdef/x",
            "\u{ff}\u{80}/",
        ];
        for text in texts {
            for needle in [b'/', b'%', b'x', 0x80, 0xff] {
                let plain = text.bytes().position(|b| b == needle);
                assert_eq!(
                    find_byte(text.as_bytes(), needle),
                    plain,
                    "{text:?} {needle}"
                );
            }
        }
        // Every position in a longer text, with the needle once and twice.
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b'/';
                assert_eq!(find_byte(&bytes, b'/'), Some(at));
                if at + 1 < len {
                    bytes[len - 1] = b'/';
                    assert_eq!(find_byte(&bytes, b'/'), Some(at));
                }
            }
            assert_eq!(find_byte(&vec![b'a'; len], b'/'), None);
        }
    }

    #[test]
    fn a_tail_is_the_path_itself() {
        let path = "/t/x/y/";
        let (_, rest) = Unencoded::new(&path[1..])
            .split_first()
            .expect("a first segment");
        let text = rest.tail(path);
        assert_eq!(text.text, "x/y/");
        assert_eq!(text.base, Some(3));
        assert!(text.is_separator(1) && text.is_separator(3) && !text.is_separator(0));
    }
}
