//! The part every store's decoder shares: the session envelope and the session data inside it.

use std::time::SystemTime;

use crate::exchange::session_json::decode_data;
use crate::session::envelope;
use crate::session::SessionMap;

/// Decodes `record` as a store's `Record::data` is decoded on load, down to a `SessionMap`.
///
/// Asserts: no panic; a record that decodes re-encodes to one that decodes to the same
/// creation time, data (byte for byte) and flash messages.
pub(super) fn check(record: &[u8]) {
    let Some(decoded) = envelope::decode(record) else {
        return;
    };
    let again = envelope::decode(&envelope::encode(
        decoded.created,
        &decoded.data,
        &decoded.flashes,
    ));
    assert_eq!(again.as_ref(), Some(&decoded), "envelope round trip");
    assert!(decoded.created >= SystemTime::UNIX_EPOCH);
    // What the handler would see: a map, or the error that starts a fresh session.
    let _ = decode_data::<SessionMap>(&decoded.data);
}
