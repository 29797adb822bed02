//! A session key as the memory store holds it: its 32 bytes rather than its 64 hex digits, so
//! that a key takes no allocation of its own, and hashed by its own bytes.

use std::hash::{BuildHasher, Hash, Hasher};

use crate::exchange::SessionKey;

/// The 32 bytes of a [`SessionKey`] (a SHA-256 of the session id: no secret, as the key is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawKey([u8; 32]);

impl RawKey {
    /// The bytes `key`'s hex digits spell.
    pub(super) fn of(key: &SessionKey) -> RawKey {
        RawKey(*key.bytes())
    }

    /// Which of `count` shards holds the key: by its first two bytes.
    pub(super) fn shard(&self, count: usize) -> usize {
        usize::from(u16::from_be_bytes([self.0[0], self.0[1]])) % count.max(1)
    }

    /// The key's hash in a shard's table: eight of its bytes, after the two that pick the shard.
    ///
    /// A key is already a SHA-256, uniformly spread, so hashing it again (SipHash over 64
    /// characters, three times per lookup in a bounded shard) buys nothing; and no client chooses
    /// what is inserted (keys of server-drawn ids only), so no flood of colliding entries can be
    /// built.
    pub(super) fn table_hash(&self) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[8..16]);
        u64::from_le_bytes(word)
    }
}

impl Hash for RawKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.table_hash());
    }
}

/// Builds [`KeyHasher`]s, for the bounded shards' LRU maps.
#[derive(Clone, Copy, Default)]
pub(super) struct KeyHash;

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

/// Passes a [`RawKey`]'s [`table_hash`](RawKey::table_hash) through unchanged.
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    /// Not used by [`RawKey`]; FNV-1a, should anything else be hashed with it.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
