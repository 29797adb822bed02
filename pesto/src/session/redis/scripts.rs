//! The Lua scripts behind the writes that must read before they write: each touches exactly one
//! key, so each is atomic and cluster-safe. `load` and `create` need none (`GETRANGE`, and
//! `SET … NX PX`).
//!
//! Records are strings in the layout of `record.rs`: `v1 `, the version (20 digits, 1-based
//! characters 4–23), a space, the stamp (20 characters from 0-based offset 24), a newline, the
//! data. A value that does not start with `v1 ` (or another type under the key, which
//! `GETRANGE` refuses with `WRONGTYPE`, caught by `pcall`) is not a session.

use std::sync::LazyLock;

use redis::Script;

/// `store`: replaces whatever the key held, at the next version (1 for a new key, or for a key
/// that holds no session). `KEYS[1]` key; `ARGV` data, stamp (20 characters), ttl (ms).
pub(super) static STORE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local head = redis.pcall('GETRANGE', KEYS[1], 0, 22)
local version = 0
if type(head) == 'string' and string.sub(head, 1, 3) == 'v1 ' then
  version = tonumber(string.sub(head, 4, 23)) or 0
end
local value = string.format('v1 %020d ', version + 1) .. ARGV[2] .. '\n' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
return 1",
    )
});

/// `update`: compare-and-swap. Replaces the record only if the key holds a session (so that a
/// request which began before a logout, possibly on another server, cannot bring the session
/// back) at version `ARGV[3]` (so that a save of another request since this one loaded is not
/// lost); one script, so one round trip and atomic. `ARGV` the whole new value (header at the
/// next version), ttl (ms), the expected version (20 digits). Replies 1 (written), 0 (absent)
/// or 2 (another version).
pub(super) static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local head = redis.pcall('GETRANGE', KEYS[1], 0, 22)
if type(head) ~= 'string' or string.sub(head, 1, 3) ~= 'v1 ' then return 0 end
if string.sub(head, 4, 23) ~= ARGV[3] then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1",
    )
});

/// `touch`: new stamp and TTL, data untouched; an absent key stays absent. `ARGV` stamp (20
/// characters), ttl (ms).
pub(super) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local head = redis.pcall('GETRANGE', KEYS[1], 0, 2)
if head ~= 'v1 ' then return 0 end
redis.call('SETRANGE', KEYS[1], 24, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1",
    )
});

/// `purge`: of the given keys (all in one hash slot on a cluster), deletes the sessions last
/// accessed before `ARGV[1]` (ms); anything else under the prefix (another type, another layout)
/// is left alone. Returns the count.
pub(super) static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cutoff = tonumber(ARGV[1])
local removed = 0
for _, key in ipairs(KEYS) do
  local head = redis.pcall('GETRANGE', key, 0, 44)
  if type(head) == 'string' and string.sub(head, 1, 3) == 'v1 ' then
    local stamp = tonumber(string.sub(head, 25, 44))
    if stamp ~= nil and stamp < cutoff then
      removed = removed + redis.call('DEL', key)
    end
  end
end
return removed",
    )
});
