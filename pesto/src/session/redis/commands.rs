//! The store's plain commands, built with their buffers sized at once: `redis::cmd(..).arg(..)`
//! grows them argument by argument, and each growth is a `realloc`, which glibc serves outside
//! its per-thread cache — about 400 instructions each, two for the `GETRANGE` of every
//! logged-in request.

use redis::Cmd;

/// Room for an integer argument's text: `i64::MIN` takes 20 bytes, `u64::MAX` 20.
const INT_ARG_LEN: usize = 20;

/// `GETRANGE key 0 last`: the session's record up to byte `last`.
pub(super) fn getrange(key: &str, last: usize) -> Cmd {
    let mut cmd = Cmd::with_capacity(4, "GETRANGE".len() + key.len() + "0".len() + INT_ARG_LEN);
    cmd.arg("GETRANGE").arg(key).arg(0).arg(last);
    cmd
}

/// `SET key value NX PX ttl_ms`: written only if the key is free, with its TTL, atomically.
pub(super) fn set_new(key: &str, value: &[u8], ttl_ms: i64) -> Cmd {
    let size = "SETNXPX".len() + key.len() + value.len() + INT_ARG_LEN;
    let mut cmd = Cmd::with_capacity(6, size);
    cmd.arg("SET")
        .arg(key)
        .arg(value)
        .arg("NX")
        .arg("PX")
        .arg(ttl_ms);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "pesto-session:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_commands_are_redis_cmd_s_byte_for_byte() {
        for last in [0, 1, 65_600, usize::MAX] {
            let built = redis::cmd("GETRANGE")
                .arg(KEY)
                .arg(0)
                .arg(last)
                .get_packed_command();
            assert_eq!(
                getrange(KEY, last).get_packed_command(),
                built,
                "last {last}"
            );
        }
        let value = vec![b'x'; 70_000];
        for (value, ttl) in [
            (&b""[..], 0),
            (&b"{}"[..], 1_209_600_000),
            (&value[..], i64::MAX),
        ] {
            let built = redis::cmd("SET")
                .arg(KEY)
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ttl)
                .get_packed_command();
            assert_eq!(
                set_new(KEY, value, ttl).get_packed_command(),
                built,
                "ttl {ttl}"
            );
        }
    }
}
