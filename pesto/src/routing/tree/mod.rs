//! The route matcher: a trie over path segments.
//!
//! Literal segments are found by their text ([`statics`]), segments with parameters are tried
//! in order of specificity, and the rest of a pattern from the first segment holding a `path`
//! parameter is a "tail" matched against the remaining path. Matching backtracks, so the most
//! specific route wins whatever the declaration order, and the cost depends on the path's
//! length and on the number of alternatives at each position, not on the number of routes. A
//! path with nothing percent-encoded is read segment by segment as the walk descends
//! ([`segments`]).

use std::borrow::Cow;
use std::cmp::Ordering;

use super::captures::Captures;
use super::route::{Conv, Part};
use segments::Segments;
pub(crate) use segments::{find_byte, PathSegments, Unencoded};
use statics::Statics;

mod segments;
mod statics;

/// One element of a segment pattern.
#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Param(Conv),
}

/// A parsed pattern: segments (between `/`) of pieces.
type PatternSegments = Vec<Vec<Piece>>;

/// Splits a route's parts into path segments. The leading `/` is dropped, so `/` is one empty segment.
fn split_segments(parts: &[Part]) -> PatternSegments {
    let mut segments: PatternSegments = vec![Vec::new()];
    let mut first = true;
    for part in parts {
        match part {
            Part::Literal(text) => {
                let text = if first {
                    text.strip_prefix('/').unwrap_or(text)
                } else {
                    text
                };
                let mut pieces = text.split('/');
                if let Some(head) = pieces.next() {
                    push_lit(segments.last_mut(), head);
                }
                for piece in pieces {
                    segments.push(Vec::new());
                    push_lit(segments.last_mut(), piece);
                }
            }
            Part::Param { conv, .. } => {
                if let Some(seg) = segments.last_mut() {
                    seg.push(Piece::Param(*conv));
                }
            }
        }
        first = false;
    }
    segments
}

fn push_lit(segment: Option<&mut Vec<Piece>>, text: &str) {
    if let Some(segment) = segment {
        if !text.is_empty() {
            segment.push(Piece::Lit(text.to_owned()));
        }
    }
}

/// A canonical text for a list of pieces, used to share trie nodes and to sort deterministically.
fn pieces_key(pieces: &[Piece]) -> String {
    let mut key = String::new();
    for piece in pieces {
        match piece {
            Piece::Lit(text) => key.push_str(text),
            Piece::Param(conv) => {
                key.push_str("<:");
                key.push_str(&format!("{conv:?}"));
                key.push('>');
            }
        }
    }
    key
}

fn literal_len(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(t) => t.len(),
            Piece::Param(_) => 0,
        })
        .sum()
}

fn rank_sum(pieces: &[Piece]) -> u32 {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(_) => 0,
            Piece::Param(c) => u32::from(c.rank()),
        })
        .sum()
}

/// Most specific first: more literal text, then more constrained converters, then the key.
fn specificity(a: &[Piece], b: &[Piece]) -> Ordering {
    literal_len(b)
        .cmp(&literal_len(a))
        .then_with(|| rank_sum(a).cmp(&rank_sum(b)))
        .then_with(|| pieces_key(a).cmp(&pieces_key(b)))
}

#[derive(Debug, Default)]
struct Node {
    statics: Statics<Node>,
    dynamics: Vec<(String, Vec<Piece>, Node)>,
    tails: Vec<Tail>,
    routes: Vec<usize>,
}

#[derive(Debug)]
struct Tail {
    key: String,
    pieces: Vec<Piece>,
    routes: Vec<usize>,
}

/// What a lookup does with each matching candidate's routes, most specific first: true takes
/// the candidate and ends the walk.
///
/// A trait rather than a closure so that the lookup's own visitor can be inlined into the walk
/// (`Table::lookup`'s, called once per request); any closure is one too.
pub(crate) trait Visit {
    /// Whether to take this candidate (route numbers, in registration order).
    fn visit(&mut self, routes: &[usize]) -> bool;
}

impl<F: FnMut(&[usize]) -> bool> Visit for F {
    fn visit(&mut self, routes: &[usize]) -> bool {
        self(routes)
    }
}

/// The compiled matcher for a set of routes.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    root: Node,
}

impl Tree {
    /// Adds route number `index` with the given pattern parts.
    pub(crate) fn insert(&mut self, parts: &[Part], index: usize) {
        let segments = split_segments(parts);
        let mut node = &mut self.root;
        for (i, segment) in segments.iter().enumerate() {
            if segment
                .iter()
                .any(|p| matches!(p, Piece::Param(c) if c.spans_segments()))
            {
                // From here on the pattern is matched as one piece list against the rest of the path.
                let mut pieces: Vec<Piece> = Vec::new();
                for (j, seg) in segments[i..].iter().enumerate() {
                    if j > 0 {
                        pieces.push(Piece::Lit("/".to_owned()));
                    }
                    pieces.extend(seg.iter().cloned());
                }
                let pieces = merge_literals(pieces);
                let key = pieces_key(&pieces);
                match node.tails.iter_mut().find(|t| t.key == key) {
                    Some(tail) => tail.routes.push(index),
                    None => {
                        node.tails.push(Tail {
                            key,
                            pieces,
                            routes: vec![index],
                        });
                        node.tails.sort_by(|a, b| specificity(&a.pieces, &b.pieces));
                    }
                }
                return;
            }
            node = match segment.as_slice() {
                [] => node.statics.entry(""),
                [Piece::Lit(text)] => node.statics.entry(text),
                pieces => {
                    let key = pieces_key(pieces);
                    let pos = match node.dynamics.iter().position(|(k, _, _)| *k == key) {
                        Some(pos) => pos,
                        None => {
                            node.dynamics
                                .push((key.clone(), pieces.to_vec(), Node::default()));
                            node.dynamics.sort_by(|a, b| specificity(&a.1, &b.1));
                            node.dynamics
                                .iter()
                                .position(|(k, _, _)| *k == key)
                                .unwrap_or(0)
                        }
                    };
                    &mut node.dynamics[pos].2
                }
            };
        }
        node.routes.push(index);
    }

    /// Walks every route matching the decoded path segments, most specific first, until `visit`
    /// accepts one of them; returns that candidate's parameter values: where they lie in `path`
    /// (the path the segments were split from) unless decoding changed them.
    #[inline(always)]
    pub(crate) fn find<'s, F>(
        &self,
        path: &'s str,
        segments: impl Segments<'s>,
        visit: &mut F,
    ) -> Option<Captures>
    where
        F: Visit,
    {
        let mut search = Search {
            path,
            captures: Captures::default(),
            budget: STEP_BUDGET,
        };
        walk(&self.root, segments, &mut search, visit).then_some(search.captures)
    }
}

/// The most matching steps (trie nodes visited plus candidate ends examined) one lookup may take.
///
/// Backtracking over parameters inside one segment or a `path` tail is polynomial in the path's
/// length; a hostile path (tens of thousands of characters built to defeat the match) must not
/// pin a worker. Legitimate paths need a few hundred steps; a lookup over budget is a 404.
const STEP_BUDGET: u32 = 200_000;

/// The state of one lookup: the path, captured values of the current candidate and the steps
/// left.
struct Search<'p> {
    path: &'p str,
    captures: Captures,
    budget: u32,
}

impl Search<'_> {
    /// Takes one step; false once the budget is spent.
    fn step(&mut self) -> bool {
        match self.budget.checked_sub(1) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => false,
        }
    }
}

fn merge_literals(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match (out.last_mut(), piece) {
            (Some(Piece::Lit(prev)), Piece::Lit(text)) => prev.push_str(&text),
            (_, piece) => out.push(piece),
        }
    }
    out
}

fn walk<'s, F>(
    node: &Node,
    segments: impl Segments<'s>,
    search: &mut Search<'s>,
    visit: &mut F,
) -> bool
where
    F: Visit,
{
    let (mut node, mut segments) = (node, segments);
    let (segment, rest) = loop {
        if !search.step() {
            return false;
        }
        let Some((segment, rest)) = segments.split_first() else {
            return !node.routes.is_empty() && visit.visit(&node.routes);
        };
        // A node with literal children only has nothing to come back to: descend in place.
        if !node.dynamics.is_empty() || !node.tails.is_empty() {
            break (segment, rest);
        }
        match node.statics.get(segment) {
            Some(child) => (node, segments) = (child, rest),
            None => return false,
        }
    };
    if let Some(child) = node.statics.get(segment) {
        if descend(child, rest, search, visit) {
            return true;
        }
    }
    if !node.dynamics.is_empty() {
        // Built for the first pattern of several pieces (`<x>-<y:int>`), if any.
        let mut text = None;
        let path = search.path;
        for (_, pieces, child) in &node.dynamics {
            let mark = search.captures.len();
            let matched = match pieces.as_slice() {
                // The most common shape, a parameter that is the whole segment (`<id:int>`).
                [Piece::Param(conv)] => {
                    let whole = search.step() && conv.matches_value(segment);
                    if whole {
                        capture_segment(segment, search);
                    }
                    whole
                }
                _ => {
                    let text = text.get_or_insert_with(|| Text::segment(segment, path));
                    match_pieces(pieces, text, 0, search)
                }
            };
            if matched && descend(child, rest, search, visit) {
                return true;
            }
            search.captures.truncate(mark);
        }
    }
    if !node.tails.is_empty() {
        let text = segments.tail(search.path);
        for tail in &node.tails {
            let mark = search.captures.len();
            if match_pieces(&tail.pieces, &text, 0, search) && visit.visit(&tail.routes) {
                return true;
            }
            search.captures.truncate(mark);
        }
    }
    false
}

/// Walks on below `child` — or, when no segment is left (a parameter ending the path, the
/// most common route), visits its routes without the call.
#[inline(always)]
fn descend<'s, F>(
    child: &Node,
    rest: impl Segments<'s>,
    search: &mut Search<'s>,
    visit: &mut F,
) -> bool
where
    F: Visit,
{
    if !rest.is_empty() {
        return walk(child, rest, search, visit);
    }
    search.step() && !child.routes.is_empty() && visit.visit(&child.routes)
}

/// Records a whole segment as the current candidate's next value: a span of the path unless
/// it was decoded into a copy.
#[inline(always)]
fn capture_segment(segment: &str, search: &mut Search<'_>) {
    match offset_in(search.path, segment) {
        Some(start) => search
            .captures
            .push_span(search.path, start, start + segment.len()),
        None => search.captures.push_decoded(segment),
    }
}

/// Where `segment` starts in `path`, when it is a slice of `path` itself (a segment decoded
/// into a copy lies elsewhere in memory).
#[inline(always)]
fn offset_in(path: &str, segment: &str) -> Option<usize> {
    let start = (segment.as_ptr() as usize).checked_sub(path.as_ptr() as usize)?;
    let within = path.get(start..start.checked_add(segment.len())?)?;
    std::ptr::eq(within, segment).then_some(start)
}

/// Decoded path text and, for a tail, where its real segment separators are.
///
/// Decoding may have produced `/` (from `%2F`) inside a segment: only the separators recorded
/// here end a segment parameter. Prefix counts make every structural check O(1).
pub(crate) struct Text<'a> {
    text: std::borrow::Cow<'a, str>,
    /// Where `text` starts in the routed path, when it is the path's own bytes (nothing in it
    /// was percent-decoded): captures are then spans of the path, not copies.
    base: Option<usize>,
    /// `separators_before[i]`: real separators in `text[..i]`.
    separators_before: Vec<u32>,
    /// `doubles_before[i]`: positions `k < i` where `k` and `k + 1` are both separators.
    doubles_before: Vec<u32>,
}

impl<'a> Text<'a> {
    /// One decoded segment: no separators.
    fn segment(segment: &'a str, path: &str) -> Self {
        Text {
            text: Cow::Borrowed(segment),
            base: offset_in(path, segment),
            separators_before: Vec::new(),
            doubles_before: Vec::new(),
        }
    }

    /// The decoded segments from here on, joined by real separators: the rest of the path
    /// itself when none was decoded.
    fn tail(segments: &[Cow<'_, str>], path: &'a str) -> Self {
        let base = match segments.first() {
            Some(first) if segments.iter().all(|s| matches!(s, Cow::Borrowed(_))) => {
                offset_in(path, first)
            }
            _ => None,
        };
        let text = match base.and_then(|base| path.get(base..)) {
            Some(rest) => Cow::Borrowed(rest),
            None => Cow::Owned(segments.join("/")),
        };
        let base = base.filter(|_| matches!(text, Cow::Borrowed(_)));
        let mut is_separator = vec![false; text.len()];
        let mut at = 0;
        for segment in &segments[..segments.len().saturating_sub(1)] {
            at += segment.len();
            is_separator[at] = true;
            at += 1;
        }
        let mut separators_before = Vec::with_capacity(text.len() + 1);
        let mut doubles_before = Vec::with_capacity(text.len() + 1);
        let (mut seps, mut doubles) = (0u32, 0u32);
        for i in 0..=text.len() {
            separators_before.push(seps);
            doubles_before.push(doubles);
            if i < text.len() {
                seps += u32::from(is_separator[i]);
                doubles += u32::from(is_separator[i] && is_separator.get(i + 1) == Some(&true));
            }
        }
        Text {
            text,
            base,
            separators_before,
            doubles_before,
        }
    }

    /// Records `text[start..end]` as the current candidate's next value.
    fn capture(&self, start: usize, end: usize, search: &mut Search<'_>) {
        match self.base {
            Some(base) => search
                .captures
                .push_span(search.path, base + start, base + end),
            None => search
                .captures
                .push_decoded(self.text.get(start..end).unwrap_or_default()),
        }
    }

    fn is_separator(&self, at: usize) -> bool {
        match (
            self.separators_before.get(at),
            self.separators_before.get(at + 1),
        ) {
            (Some(a), Some(b)) => b > a,
            _ => false,
        }
    }

    /// Real separators in `text[start..end]`.
    fn separators(&self, start: usize, end: usize) -> u32 {
        match (
            self.separators_before.get(start),
            self.separators_before.get(end),
        ) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        }
    }

    /// Whether `text[start..end]` is one or more whole segments: no separator at either end and
    /// no empty segment inside.
    fn whole_segments(&self, start: usize, end: usize) -> bool {
        let doubles = match (
            self.doubles_before.get(start),
            self.doubles_before.get(end - 1),
        ) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        };
        !self.is_separator(start) && !self.is_separator(end - 1) && doubles == 0
    }
}

/// Matches the text from byte `at` against `pieces` with backtracking; parameters take the
/// longest text that lets the rest match (as Pesto's greedy regular expressions do).
fn match_pieces(pieces: &[Piece], text: &Text<'_>, at: usize, search: &mut Search) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return at == text.text.len();
    };
    let remaining = &text.text[at..];
    match first {
        Piece::Lit(lit) => {
            if !remaining.starts_with(lit.as_str()) {
                return false;
            }
            // A `/` of the pattern must meet a real separator, and a real separator a `/`.
            let aligned = lit
                .bytes()
                .enumerate()
                .all(|(i, b)| (b == b'/') == text.is_separator(at + i));
            aligned && match_pieces(rest, text, at + lit.len(), search)
        }
        Piece::Param(conv) => {
            let next_literal = match rest.first() {
                Some(Piece::Lit(lit)) => Some(lit.as_str()),
                _ => None,
            };
            // The most common shape, a parameter that is the whole segment (`<id:int>`): one
            // candidate, the whole text.
            if rest.is_empty() && text.separators_before.is_empty() {
                if !search.step() || remaining.is_empty() || !conv.matches_value(remaining) {
                    return false;
                }
                text.capture(at, text.text.len(), search);
                return true;
            }
            // A segment parameter ends at the next real separator at the latest.
            let limit = if conv.spans_segments() || text.separators_before.is_empty() {
                remaining.len()
            } else {
                (0..remaining.len())
                    .find(|&i| text.is_separator(at + i))
                    .unwrap_or(remaining.len())
            };
            // Longest first; only ends where the rest can start are worth a recursive try.
            for (offset, c) in remaining[..limit].char_indices().rev() {
                if !search.step() {
                    return false;
                }
                let end = at + offset + c.len_utf8();
                let candidate_ok = match (rest.is_empty(), next_literal) {
                    (true, _) => end == text.text.len(),
                    (false, Some(lit)) => text.text[end..].starts_with(lit),
                    (false, None) => true,
                };
                if !candidate_ok {
                    continue;
                }
                let fits = if conv.spans_segments() {
                    text.whole_segments(at, end)
                } else {
                    text.separators(at, end) == 0
                };
                let candidate = &text.text[at..end];
                if fits && conv.matches_value(candidate) {
                    let mark = search.captures.len();
                    text.capture(at, end, search);
                    if match_pieces(rest, text, end, search) {
                        return true;
                    }
                    search.captures.truncate(mark);
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests;
