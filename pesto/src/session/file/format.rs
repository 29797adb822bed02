//! What a session file holds: `{"v":1,"version":<the record's version>,"data":<the session JSON>}`.
//!
//! The session JSON is embedded as it came, not re-encoded, and `v` tells a format this build
//! does not know from a corrupt file. `version` is the record's [`Version`] for compare-and-swap;
//! a file written before it existed has none and reads as version 0. The format is JSON, never one that can run code when
//! read (docs/security.md, Storage; Beaker CVE-2013-7489 was pickle).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::session::store::{Error, Result, Version};

/// The file format version written in every file; files of other versions are treated as absent.
const FORMAT_VERSION: u32 = 1;

/// What [`encode`] adds around a record, `{"v":1,"version":<up to 20 digits>,"data":` and `}`,
/// with room to spare: a file of a record within the store's limit is never longer than the
/// limit plus this.
pub(super) const OVERHEAD: u64 = 64;

#[derive(Deserialize)]
struct FileIn<'a> {
    v: u32,
    #[serde(default)]
    version: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// Just the version, to tell "a format we do not know" from "corrupt" in the log.
#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

/// Wraps session JSON of record version `version` in the file format (the JSON is embedded as
/// is, not re-encoded).
pub(crate) fn encode(data: &[u8], version: Version) -> Result<Vec<u8>> {
    check_json(data)?;
    Ok(frame(data, version))
}

/// [`Error::Encode`] unless `data` is one JSON value, which [`frame`] requires.
pub(crate) fn check_json(data: &[u8]) -> Result<()> {
    serde_json::from_slice::<&RawValue>(data)
        .map(drop)
        .map_err(|e| Error::Encode(format!("session data is not JSON: {e}")))
}

/// [`encode`] of data already checked by [`check_json`]: the bytes serde would write for a
/// `FileOut`, built without parsing the data again.
pub(crate) fn frame(data: &[u8], version: Version) -> Vec<u8> {
    let json = data.trim_ascii();
    let mut out = Vec::with_capacity(json.len() + OVERHEAD as usize);
    out.extend_from_slice(b"{\"v\":");
    out.extend_from_slice(FORMAT_VERSION.to_string().as_bytes());
    out.extend_from_slice(b",\"version\":");
    out.extend_from_slice(version.0.to_string().as_bytes());
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(json);
    out.push(b'}');
    out
}

/// Extracts the session JSON and the record's version from a file's content.
pub(crate) fn decode(content: &[u8]) -> std::result::Result<(Vec<u8>, Version), String> {
    let unsupported = |v: u32| format!("unsupported format version {v}");
    match serde_json::from_slice::<FileIn<'_>>(content) {
        Ok(file) if file.v == FORMAT_VERSION => {
            Ok((file.data.get().as_bytes().to_vec(), Version(file.version)))
        }
        Ok(file) => Err(unsupported(file.v)),
        Err(e) => match serde_json::from_slice::<VersionOnly>(content) {
            Ok(only) if only.v != FORMAT_VERSION => Err(unsupported(only.v)),
            _ => Err(e.to_string()),
        },
    }
}
