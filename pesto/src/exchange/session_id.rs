//! Session ids and the hashed keys that stores see instead of them.
//!
//! See docs/security.md, "Session ids". An id is 256 bits from a CSPRNG (ChaCha12, seeded from
//! the operating system per thread and reseeded every few hundred ids, as rand's `ThreadRng`
//! does), written as 64 lowercase hex characters; the parser accepts that exact shape and nothing else, so a malformed id
//! never reaches a store or a path. Stores are keyed by [`SessionKey`], the SHA-256 of the id, so a
//! leaked store holds no usable cookie and lookups do not time the raw id (Rack CVE-2019-16782).

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// Number of random bytes in an id (256 bits, well above the 128 that OWASP ASVS asks for).
const ID_BYTES: usize = 32;
/// Length of the textual form of an id or a key: two hex digits per byte.
const HEX_LEN: usize = ID_BYTES * 2;
/// How many hex digits of a hash `Debug` shows: enough to tell sessions apart in a log, useless to an attacker.
const SHORT_LEN: usize = 8;
/// How many ids a thread draws before its generator is seeded afresh from the operating system.
const RESEED_EVERY: u32 = 1024;

thread_local! {
    /// This thread's id generator and how many ids it has drawn since it was seeded.
    static GENERATOR: RefCell<Option<(StdRng, u32)>> = const { RefCell::new(None) };
}

#[cfg(test)]
thread_local! {
    /// How many ids this thread drew: tests of when an id is drawn read it.
    pub(crate) static DRAWN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Fills `bytes` from this thread's CSPRNG, seeding it from the operating system first when it is
/// new or has drawn [`RESEED_EVERY`] ids.
fn fill_random(bytes: &mut [u8]) -> Result<(), RandomError> {
    GENERATOR.with_borrow_mut(|slot| {
        let rng = match slot {
            Some((rng, drawn)) if *drawn < RESEED_EVERY => {
                *drawn += 1;
                rng
            }
            _ => {
                let fresh = StdRng::try_from_os_rng().map_err(|e| RandomError(e.to_string()))?;
                &mut slot.insert((fresh, 1)).0
            }
        };
        rng.fill_bytes(bytes);
        Ok(())
    })
}

/// A session id: 256 random bits, shown as exactly 64 lowercase hex characters.
///
/// `Display` gives the full id (for cookies and URLs); `Debug` only shows a short prefix of its hash,
/// so that logging a `SessionId` never leaks a usable id (OWASP: never log a raw session id).
///
/// # Examples
///
/// ```
/// use pesto::session::SessionId;
///
/// let id = SessionId::generate()?;
/// let text = id.to_string();
/// assert_eq!(text.len(), 64);
/// assert_eq!(SessionId::parse(&text), Some(id.clone()));
/// assert_eq!(SessionId::parse("../../etc/passwd"), None);
/// assert!(!format!("{id:?}").contains(&text));
/// // Stores see only the hash.
/// assert_ne!(id.key().as_str(), text);
/// # Ok::<(), pesto::session::RandomError>(())
/// ```
#[derive(Clone)]
pub struct SessionId {
    /// The id's text: always 64 characters of `[0-9a-f]` (boxed: an id's length never changes,
    /// and the narrower field keeps the futures that hold an id small).
    text: Box<str>,
    /// Its SHA-256, worked out once when first needed (a new session nobody writes needs none).
    key: OnceLock<SessionKey>,
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SessionId {}

impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

/// The error returned when a text is not a well-formed session id or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a session id: expected exactly 64 lowercase hex characters")]
pub struct ParseIdError;

/// The error returned when the operating system's random generator fails, so no id can be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random generator failed: {0}")]
pub struct RandomError(String);

impl SessionId {
    /// Draws a new id from a CSPRNG seeded from the operating system.
    ///
    /// # Errors
    /// [`RandomError`] if the operating system cannot provide a seed; this never panics.
    pub fn generate() -> Result<SessionId, RandomError> {
        let mut bytes = [0u8; ID_BYTES];
        fill_random(&mut bytes)?;
        #[cfg(test)]
        DRAWN.with(|drawn| drawn.set(drawn.get() + 1));
        Ok(SessionId::from_text(to_hex(&bytes).into_boxed_str()))
    }

    /// Parses an id received from a client: exactly 64 characters of `[0-9a-f]`, else `None`.
    pub fn parse(text: &str) -> Option<SessionId> {
        is_hex64(text).then(|| SessionId::from_text(Box::from(text)))
    }

    /// An id from its (valid) text.
    fn from_text(text: Box<str>) -> SessionId {
        SessionId {
            text,
            key: OnceLock::new(),
        }
    }

    /// The full id text (the same as `Display`); never log it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key under which stores keep this session: the SHA-256 of the id's text.
    pub fn key(&self) -> &SessionKey {
        self.key.get_or_init(|| {
            let bytes: [u8; ID_BYTES] = Sha256::digest(self.text.as_bytes()).into();
            SessionKey {
                bytes,
                text: OnceLock::new(),
            }
        })
    }
}

impl FromStr for SessionId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionId::parse(s).ok_or(ParseIdError)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a hash of the id, so its prefix identifies the session without revealing it.
        write!(f, "SessionId(sha256:{}…)", self.key().short())
    }
}

/// A session's storage key: the SHA-256 of its id, as 64 lowercase hex characters.
///
/// Stores only ever see keys, never ids. A key is safe to use as a file name: it is always 64
/// characters of `[0-9a-f]`.
///
/// Compared, hashed and ordered by its bytes (the order of the hex text is the same).
#[derive(Clone)]
pub struct SessionKey {
    /// The SHA-256 itself; a store keyed by bytes (the memory store) needs nothing else.
    bytes: [u8; ID_BYTES],
    /// `bytes` as 64 characters of `[0-9a-f]`, spelled out the first time a store asks for text
    /// (a file name, a Redis key): the memory store never does. A thin box, so that a key is no
    /// larger than when it held its text outright (ids and keys wait in every request's future).
    text: OnceLock<Box<[u8; HEX_LEN]>>,
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SessionKey {}

impl std::hash::Hash for SessionKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl PartialOrd for SessionKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SessionKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl SessionKey {
    /// Parses a key read back from a store (a file name, a database column): exactly 64 characters of `[0-9a-f]`.
    pub fn parse(text: &str) -> Option<SessionKey> {
        is_hex64(text).then(|| {
            let mut bytes = [0u8; ID_BYTES];
            for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
                *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
            }
            SessionKey {
                bytes,
                // A key that does not keep its text spells it again when asked.
                text: text
                    .as_bytes()
                    .try_into()
                    .map(|digits| OnceLock::from(Box::new(digits)))
                    .unwrap_or_default(),
            }
        })
    }

    /// The key's 32 bytes (its hex characters decoded).
    pub(crate) fn bytes(&self) -> &[u8; ID_BYTES] {
        &self.bytes
    }

    /// The key's 64 hex characters.
    pub fn as_str(&self) -> &str {
        let digits = self.text.get_or_init(|| {
            let mut digits = [0; HEX_LEN];
            hex_into(&self.bytes, &mut digits);
            Box::new(digits)
        });
        // Only ASCII digits are ever stored, so this never fails.
        std::str::from_utf8(&digits[..]).unwrap_or_default()
    }

    /// A short prefix of the key, for log lines.
    pub fn short(&self) -> &str {
        let text = self.as_str();
        text.get(..SHORT_LEN).unwrap_or(text)
    }
}

impl FromStr for SessionKey {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionKey::parse(s).ok_or(ParseIdError)
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({}…)", self.short())
    }
}

/// The value of a hex digit that [`is_hex64`] accepted.
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => digit.wrapping_sub(b'a').wrapping_add(10),
    }
}

/// True for exactly 64 characters of `[0-9a-f]` (uppercase is refused: one id has one spelling).
fn is_hex64(text: &str) -> bool {
    // Every byte checked, without stopping at the first bad one: a loop without an early exit
    // runs over whole vectors of bytes.
    text.len() == HEX_LEN
        && text
            .bytes()
            .fold(true, |ok, b| ok & matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `bytes` as lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    // Through a buffer on the stack, 32 bytes at a time (an id or a key in one go), two digits
    // per byte from a table, checked as UTF-8 once: pushing `char`s one by one is several times
    // the work, for an id drawn or hashed on every request.
    let mut out = String::with_capacity(bytes.len() * 2);
    for chunk in bytes.chunks(32) {
        let mut buf = [0u8; 64];
        hex_into(chunk, &mut buf);
        // Only ASCII digits were written, so this never fails.
        out.push_str(std::str::from_utf8(&buf[..chunk.len() * 2]).unwrap_or_default());
    }
    out
}

/// Writes the hex digits of up to 32 bytes at the start of `buf`.
fn hex_into(bytes: &[u8], buf: &mut [u8; 64]) {
    for (pair, &b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
}

/// The two lowercase hex digits of every byte.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = [DIGITS[b >> 4], DIGITS[b & 0x0f]];
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    fn new_id() -> SessionId {
        SessionId::generate().expect("the OS random generator works in tests")
    }

    #[test]
    fn hex_is_two_lowercase_digits_per_byte_at_any_length() {
        for len in [0, 1, 31, 32, 33, 64, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(to_hex(&bytes), expected, "{len} bytes");
        }
    }

    #[test]
    fn generated_ids_are_64_lowercase_hex() {
        // docs/security.md, "Session ids" (256 bits from the OS CSPRNG, one fixed textual format).
        let id = new_id();
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert!(is_hex64(&text), "{text}");
        assert_eq!(SessionId::parse(&text), Some(id));
    }

    #[test]
    fn a_key_parsed_from_its_text_is_the_key_hashed_from_the_id_bytes_included() {
        for _ in 0..100 {
            let id = new_id();
            let parsed = SessionKey::parse(id.key().as_str()).expect("a key's text parses");
            assert_eq!(parsed.bytes(), id.key().bytes());
            assert_eq!(&parsed, id.key());
            assert_eq!(to_hex(parsed.bytes()), parsed.as_str());
        }
    }

    #[test]
    fn a_key_is_compared_and_ordered_as_its_text_whether_spelled_out_or_not() {
        let ids: Vec<SessionId> = (0..50).map(|_| new_id()).collect();
        // Keys hashed from ids spell no text until asked; parsed keys start with theirs.
        let hashed: Vec<SessionKey> = ids.iter().map(|id| id.key().clone()).collect();
        let parsed: Vec<SessionKey> = hashed
            .iter()
            .map(|key| SessionKey::parse(&to_hex(key.bytes())).expect("hex parses"))
            .collect();
        for (a, b) in hashed.iter().zip(&parsed) {
            assert_eq!(a, b);
            let state = std::hash::RandomState::new();
            assert_eq!(
                state.hash_one(a),
                state.hash_one(b),
                "equal keys hash alike"
            );
        }
        let mut by_key = hashed.clone();
        by_key.sort();
        let mut by_text: Vec<String> = parsed.iter().map(|k| k.as_str().to_owned()).collect();
        by_text.sort();
        let sorted: Vec<&str> = by_key.iter().map(SessionKey::as_str).collect();
        assert_eq!(sorted, by_text);
    }

    #[test]
    fn generated_ids_are_unique() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_id().to_string()).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn parse_rejects_everything_but_64_lowercase_hex() {
        // docs/security.md, "Session ids": validate exact length and alphabet before any store access (Beaker #248 traversal).
        let good = "0123456789abcdef".repeat(4);
        assert!(SessionId::parse(&good).is_some());
        assert!(SessionKey::parse(&good).is_some());
        let bad = [
            String::new(),
            good[..63].to_owned(),
            format!("{good}0"),
            good.to_uppercase(),
            format!("{}A", &good[..63]),
            format!("{}g", &good[..63]),
            format!("{} ", &good[..63]),
            format!("{}\n", &good[..63]),
            "../../etc/passwd".to_owned(),
            format!("../{}", &good[..61]),
            format!("{}/..", &good[..61]),
            format!("{}é", &good[..62]),
        ];
        for text in &bad {
            assert_eq!(SessionId::parse(text), None, "{text:?}");
            assert_eq!(SessionKey::parse(text), None, "{text:?}");
            assert_eq!(text.parse::<SessionId>(), Err(ParseIdError), "{text:?}");
        }
    }

    #[test]
    fn key_is_sha256_of_the_id_text() {
        // docs/security.md, "Storage": store and look up by a hash of the id (Rack CVE-2019-16782).
        let id = SessionId::parse(&"0".repeat(64)).expect("valid id");
        let key = id.key();
        // sha256("000…0" × 64), computed independently with `printf '%064d' 0 | sha256sum`.
        assert_eq!(
            key.as_str(),
            "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55"
        );
        assert_eq!(SessionKey::parse(key.as_str()), Some(key.clone()));
        assert_ne!(key.as_str(), id.as_str());
    }

    #[test]
    fn debug_never_shows_the_raw_id() {
        // docs/security.md, "Session ids": never log a raw id; log a short hash prefix.
        let id = new_id();
        let debug = format!("{id:?}");
        assert!(!debug.contains(id.as_str()), "{debug}");
        assert!(!debug.contains(&id.as_str()[..SHORT_LEN]), "{debug}");
        assert!(debug.contains(id.key().short()), "{debug}");
        let key_debug = format!("{:?}", id.key());
        assert!(!key_debug.contains(id.key().as_str()), "{key_debug}");
        assert!(key_debug.contains(id.key().short()));
    }
}
