//! The Lua scripts behind the store's writes: each touches exactly one key, so each is atomic
//! and cluster-safe.

use std::sync::LazyLock;

use redis::Script;

/// `load`: the session's data, stamp and version, unless the data is over the size limit.
/// `KEYS[1]` key; `ARGV[1]` the limit in bytes. Replies `{data, stamp, version}` (all nil when the
/// key is absent; the version nil for a record written before versions), the
/// data's size when it is over the limit (so an oversized record never crosses the network), or
/// -1 when the key holds something other than a hash.
pub(super) static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local size = redis.pcall('HSTRLEN', KEYS[1], 'data')
if type(size) == 'table' then return -1 end
if size > tonumber(ARGV[1]) then return size end
return redis.call('HMGET', KEYS[1], 'data', 'last_access_ms', 'version')",
    )
});

/// `create`: writes version 1 only if the key is free. `KEYS[1]` key; `ARGV` data, stamp, ttl (ms).
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'last_access_ms', ARGV[2], 'version', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1",
    )
});

/// `store`: replaces whatever the key held, at the next version (1 for a new key, or for a key
/// that is not a session hash). Same arguments as [`CREATE`].
pub(super) static STORE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local version = redis.pcall('HGET', KEYS[1], 'version')
version = (type(version) == 'string' and tonumber(version) or 0) + 1
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'last_access_ms', ARGV[2], 'version', version)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1",
    )
});

/// `update`: compare-and-swap. Replaces the record only if the key exists (so that a request
/// which began before a logout, possibly on another server, cannot bring the session back) and
/// holds version `ARGV[4]` (so that a save of another request since this one loaded is not
/// lost); one script, so one round trip and atomic. `ARGV` data, stamp, ttl (ms), expected
/// version. Replies 1 (written), 0 (absent) or 2 (another version).
pub(super) static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local version = redis.pcall('HGET', KEYS[1], 'version')
version = type(version) == 'string' and tonumber(version) or 0
if version ~= tonumber(ARGV[4]) then return 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'last_access_ms', ARGV[2], 'version', version + 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1",
    )
});

/// `touch`: new stamp and TTL, data untouched; an absent key stays absent. `ARGV` stamp, ttl.
pub(super) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_access_ms', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1",
    )
});

/// `purge`: of the given keys (all in one hash slot on a cluster), deletes the session hashes
/// last accessed before `ARGV[1]` (ms); anything else under the prefix (another type, no stamp) is
/// left alone. Returns the count.
pub(super) static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cutoff = tonumber(ARGV[1])
local removed = 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok == 'hash' then
    local stamp = tonumber(redis.call('HGET', key, 'last_access_ms'))
    if stamp ~= nil and stamp < cutoff then
      removed = removed + redis.call('DEL', key)
    end
  end
end
return removed",
    )
});
