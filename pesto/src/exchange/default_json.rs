//! [`DefaultJson`]: the JSON of an app's default session data, worked out once.

use std::sync::OnceLock;

use serde::Serialize;

/// `S::default()` serialized, for the app whose session type is `S`: a new session is stored
/// only once its data differs from it (lazy sessions), and comparing with a JSON kept at hand
/// costs one serialization without a buffer, where building the default and its JSON for every
/// first visit cost two and an allocation.
///
/// A session type whose default is not the same each time (a random token in `Default`) differs
/// from this JSON as it differed from a fresh default's: such sessions are stored, as before.
#[derive(Debug, Default)]
pub(crate) struct DefaultJson(OnceLock<Box<[u8]>>);

impl DefaultJson {
    /// The JSON of `S::default()`; an error when it does not serialize (nothing is kept then).
    pub(crate) fn get<S: Serialize + Default>(&self) -> serde_json::Result<&[u8]> {
        if let Some(json) = self.0.get() {
            return Ok(json);
        }
        let json = serde_json::to_vec(&S::default())?.into_boxed_slice();
        Ok(self.0.get_or_init(|| json))
    }
}

#[cfg(test)]
mod tests {
    use super::DefaultJson;

    #[derive(serde::Serialize, Default)]
    struct Cart {
        items: Vec<u32>,
    }

    #[test]
    fn the_default_is_serialized_once_and_kept() {
        let default = DefaultJson::default();
        assert_eq!(default.get::<Cart>().ok(), Some(&b"{\"items\":[]}"[..]));
        let first = default.get::<Cart>().map(<[u8]>::as_ptr).ok();
        assert_eq!(default.get::<Cart>().map(<[u8]>::as_ptr).ok(), first);
    }
}
