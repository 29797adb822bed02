//! Which shard directories (`<root>/<first two hex digits of a key>`) this process has seen to be
//! real directories, so that reading a session costs no `stat` of its directory after the first.
//!
//! The check it saves refuses a shard that is a symlink or a file. The tree's root is 0700 and
//! owned by the store's user ([`check_root`](super::fs::check_root)), so once a shard has been
//! seen to be a directory only that user (or root) could swap it for something else — and a
//! session file is still opened with `O_NOFOLLOW`. Writes check their shard every time anyway,
//! and purges never remove one.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::exchange::SessionKey;

/// A set of the 256 shard directories, each bit set once its directory was found (or made).
#[derive(Debug, Default)]
pub(super) struct KnownShards {
    bits: [AtomicU64; 4],
}

impl KnownShards {
    /// Whether `key`'s shard directory is known to be a real directory.
    pub(super) fn contains(&self, key: &SessionKey) -> bool {
        let (word, bit) = position(key);
        self.bits[word].load(Ordering::Relaxed) & bit != 0
    }

    /// Records that `key`'s shard directory was found to be a real directory.
    pub(super) fn insert(&self, key: &SessionKey) {
        let (word, bit) = position(key);
        self.bits[word].fetch_or(bit, Ordering::Relaxed);
    }
}

/// The word and bit of a key's shard: its first two hex digits, i.e. its first byte.
fn position(key: &SessionKey) -> (usize, u64) {
    let shard = usize::from(key.bytes()[0]);
    (shard / 64, 1 << (shard % 64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex: &str) -> SessionKey {
        SessionKey::parse(&hex.repeat(32)).expect("a valid key")
    }

    #[test]
    fn each_of_the_256_shards_is_its_own_bit() {
        let known = KnownShards::default();
        let keys: Vec<SessionKey> = (0..=255u8).map(|n| key(&format!("{n:02x}"))).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(!known.contains(k), "shard {i} known before it was inserted");
            known.insert(k);
            assert!(known.contains(k));
            // Inserting one never marks the next.
            if let Some(next) = keys.get(i + 1) {
                assert!(
                    !known.contains(next),
                    "inserting shard {i} marked shard {}",
                    i + 1
                );
            }
        }
    }
}
