//! What a session file holds: `{"v":1,"data":<the session JSON>}`.
//!
//! The session JSON is embedded as it came, not re-encoded, and the version tells a format this
//! build does not know from a corrupt file. The format is JSON, never one that can run code when
//! read (docs/security.md, Storage; Beaker CVE-2013-7489 was pickle).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::session::store::{Error, Result};

/// The file format version written in every file; files of other versions are treated as absent.
const FORMAT_VERSION: u32 = 1;

/// What [`encode`] adds around a record, `{"v":1,"data":` and `}`, with room to spare for a
/// longer version number: a file of a record within the store's limit is never longer than the
/// limit plus this.
pub(super) const OVERHEAD: u64 = 64;

#[derive(Serialize)]
struct FileOut<'a> {
    v: u32,
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct FileIn<'a> {
    v: u32,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Just the version, to tell "a format we do not know" from "corrupt" in the log.
#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

/// Wraps session JSON in the versioned file format (the JSON is embedded as is, not re-encoded).
pub(crate) fn encode(data: &[u8]) -> Result<Vec<u8>> {
    let raw: &RawValue = serde_json::from_slice(data)
        .map_err(|e| Error::Encode(format!("session data is not JSON: {e}")))?;
    serde_json::to_vec(&FileOut {
        v: FORMAT_VERSION,
        data: raw,
    })
    .map_err(|e| Error::Encode(e.to_string()))
}

/// Extracts the session JSON from a file's content.
pub(crate) fn decode(content: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let unsupported = |v: u32| format!("unsupported format version {v}");
    match serde_json::from_slice::<FileIn<'_>>(content) {
        Ok(file) if file.v == FORMAT_VERSION => Ok(file.data.get().as_bytes().to_vec()),
        Ok(file) => Err(unsupported(file.v)),
        Err(e) => match serde_json::from_slice::<VersionOnly>(content) {
            Ok(only) if only.v != FORMAT_VERSION => Err(unsupported(only.v)),
            _ => Err(e.to_string()),
        },
    }
}
