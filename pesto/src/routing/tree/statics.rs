//! [`Statics`]: a trie node's literal children, found by the text of one path segment.
//!
//! Every request looks up one literal per path segment, so this is the matcher's innermost
//! step. A candidate is compared by its first eight bytes as one word, kept in an array of their
//! own so that a scan reads nothing else, then by its length and the rest of a longer literal
//! only when the words agree: no `memcmp` call for the short literals routes are made of, where
//! the call costs more than the comparison. A node with many literal children finds the
//! candidate by a hash of the segment, computed a word at a time (foldhash).

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// Literal children keyed by their segment text: a short list read in order, with a hash index
/// once there are more than [`FEW`].
///
/// A fixed seed: the keys are the app's own literals, and a client cannot add to the table, so
/// colliding requests only cost the client its own lookups.
pub(super) struct Statics<N> {
    /// `heads[i]`: the first eight bytes of `children[i]`'s literal as one word (see
    /// [`head_word`]); most comparisons end here without reading the literal.
    heads: Vec<u64>,
    children: Vec<Child<N>>,
    /// Positions in `children` by the hash of their literal; empty while there are few.
    index: HashTable<usize>,
}

/// One literal child.
struct Child<N> {
    literal: Box<str>,
    node: N,
}

/// Up to this many children a scan comparing head words beats hashing the segment.
const FEW: usize = 8;

impl<N> Default for Statics<N> {
    fn default() -> Self {
        Statics {
            heads: Vec::new(),
            children: Vec::new(),
            index: HashTable::new(),
        }
    }
}

impl<N: std::fmt::Debug> std::fmt::Debug for Statics<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.children.iter().map(|c| (&c.literal, &c.node)))
            .finish()
    }
}

fn hash(text: &str) -> u64 {
    let mut hasher = FixedState::with_seed(0).build_hasher();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// The first eight bytes of `text` as a little-endian word, zero-padded.
///
/// A shorter text is read as two overlapping loads (its first and last four bytes, or its
/// first, middle and last byte) rather than byte by byte: the bytes both loads cover are the
/// same, so or-ing them in place gives the padded word.
#[inline(always)]
fn head_word(text: &[u8]) -> u64 {
    if let Some(word) = text.first_chunk::<8>() {
        return u64::from_le_bytes(*word);
    }
    let len = text.len();
    if let (Some(first), Some(last)) = (text.first_chunk::<4>(), text.last_chunk::<4>()) {
        let (first, last) = (u32::from_le_bytes(*first), u32::from_le_bytes(*last));
        return u64::from(first) | u64::from(last) << (8 * (len - 4));
    }
    match (text.first(), text.get(len / 2), text.last()) {
        (Some(&first), Some(&middle), Some(&last)) => {
            u64::from(first)
                | u64::from(middle) << (8 * (len / 2))
                | u64::from(last) << (8 * (len - 1))
        }
        _ => 0,
    }
}

impl<N> Child<N> {
    /// Whether this child's literal, whose head word matched `segment`'s, is `segment`.
    #[inline(always)]
    fn is(&self, segment: &str) -> bool {
        let (literal, segment) = (self.literal.as_bytes(), segment.as_bytes());
        literal.len() == segment.len() && (literal.len() <= 8 || literal[8..] == segment[8..])
    }
}

impl<N: Default> Statics<N> {
    /// The child for `segment`, added empty if there is none yet.
    pub(super) fn entry(&mut self, segment: &str) -> &mut N {
        let at = match self.position(segment) {
            Some(at) => at,
            None => {
                self.heads.push(head_word(segment.as_bytes()));
                self.children.push(Child {
                    literal: segment.into(),
                    node: N::default(),
                });
                let at = self.children.len() - 1;
                if self.children.len() > FEW {
                    // Past a few children: index them all the first time, then each new one.
                    let children = &self.children;
                    let rehash = |&i: &usize| hash(&children[i].literal);
                    let from = if self.index.is_empty() { 0 } else { at };
                    for (i, child) in children.iter().enumerate().skip(from) {
                        self.index.insert_unique(hash(&child.literal), i, rehash);
                    }
                }
                at
            }
        };
        &mut self.children[at].node
    }
}

impl<N> Statics<N> {
    /// The child whose literal is `segment`.
    #[inline(always)]
    pub(super) fn get(&self, segment: &str) -> Option<&N> {
        self.position(segment).map(|at| &self.children[at].node)
    }

    #[inline(always)]
    fn position(&self, segment: &str) -> Option<usize> {
        if self.heads.is_empty() {
            return None;
        }
        let head = head_word(segment.as_bytes());
        let is = |at: usize| self.children.get(at).is_some_and(|c| c.is(segment));
        if self.index.is_empty() {
            // Literals sharing a head word differ only past eight bytes or in length: rare.
            let mut from = 0;
            while let Some(found) = self.heads.get(from..)?.iter().position(|&h| h == head) {
                let at = from + found;
                if is(at) {
                    return Some(at);
                }
                from = at + 1;
            }
            return None;
        }
        self.index
            .find(hash(segment), |&at| {
                self.heads.get(at) == Some(&head) && is(at)
            })
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_its_literal_byte_for_byte() {
        let child = |literal: &str| Child {
            literal: literal.into(),
            node: (),
        };
        let is = |c: &Child<()>, s: &str| {
            head_word(c.literal.as_bytes()) == head_word(s.as_bytes()) && c.is(s)
        };
        for text in ["", "a", "items", "exactly8", "section499", "é"] {
            assert!(is(&child(text), text), "{text:?}");
        }
        for (a, b) in [
            ("", "a"),
            ("a", "a\0"),
            ("items", "itemz"),
            ("section499", "section498"),
            ("exactly8", "exactly9"),
            ("Xection499", "section499"),
            ("abc", "abcd"),
            ("section4", "section4x"),
        ] {
            assert!(!is(&child(a), b), "{a:?} ≠ {b:?}");
            assert!(!is(&child(b), a), "{b:?} ≠ {a:?}");
        }
    }

    #[test]
    fn a_head_word_is_the_first_eight_bytes_zero_padded() {
        let text = b"abcdefghijk\xff\x80";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let bytes = &text[start..end];
                let padded = bytes
                    .iter()
                    .take(8)
                    .rev()
                    .fold(0, |word, &byte| (word << 8) | u64::from(byte));
                assert_eq!(head_word(bytes), padded, "{bytes:?}");
            }
        }
    }

    #[test]
    fn children_are_found_by_their_literal() {
        let mut statics: Statics<u32> = Statics::default();
        assert_eq!(statics.get("a"), None);
        // A few children are scanned, more are indexed: both find the same.
        for i in 0..FEW as u32 {
            *statics.entry(&format!("section{i}")) = i;
        }
        assert!(statics.index.is_empty());
        assert_eq!(statics.get("section3"), Some(&3));
        assert_eq!(statics.get("section"), None);
        for i in 0..500 {
            *statics.entry(&format!("section{i}")) = i;
        }
        *statics.entry("") += 7;
        assert!(!statics.index.is_empty());
        assert_eq!(statics.get("section0"), Some(&0));
        assert_eq!(statics.get("section499"), Some(&499));
        assert_eq!(statics.get(""), Some(&7));
        assert_eq!(statics.get("section500"), None);
        assert_eq!(statics.get("Section1"), None);
        // An existing literal's entry is the same child.
        *statics.entry("section7") += 1;
        assert_eq!(statics.get("section7"), Some(&8));
    }
}
