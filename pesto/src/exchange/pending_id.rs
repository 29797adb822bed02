//! A session's id, drawn from the generator only when something needs it.
//!
//! A new session gets no id up front: a first visit that stores nothing (lazy mode, the most
//! common anonymous request) never draws one, and a login's `cycle_id()` on a session that is new
//! discards nothing that was drawn. The id is drawn when the session is stored, when the handler
//! asks for it (`Session::id`, a CSRF token), or at once in querystring mode, whose generated URLs
//! carry it from the start. A drawn id is the same 256-bit CSPRNG id as ever (docs/security.md,
//! "Session ids"); only the moment it is drawn moves.

use std::sync::OnceLock;

use super::session_id::{RandomError, SessionId};

/// A session id that may not be drawn yet. Once drawn it never changes; `cycle_id()` replaces
/// the whole `PendingId`.
#[derive(Debug, Default)]
pub(crate) struct PendingId(OnceLock<SessionId>);

impl PendingId {
    /// An id already known: the one a request presented, or one drawn at once.
    pub(crate) fn known(id: SessionId) -> PendingId {
        PendingId(OnceLock::from(id))
    }

    /// The id if it was drawn (or known); `None` for a new session nothing asked an id of.
    pub(crate) fn get(&self) -> Option<&SessionId> {
        self.0.get()
    }

    /// The id, drawn now if it was not yet.
    ///
    /// # Errors
    /// The generator needed a seed and the operating system could not give one.
    pub(crate) fn get_or_draw(&self) -> Result<&SessionId, RandomError> {
        if let Some(id) = self.0.get() {
            return Ok(id);
        }
        let drawn = SessionId::generate()?;
        // `&self` may be shared (a handler holding `&Session` across an `.await`): if another
        // caller drew first, its id is the one kept, and every caller sees that one.
        Ok(self.0.get_or_init(|| drawn))
    }

    /// The id, if one was drawn.
    pub(crate) fn into_inner(self) -> Option<SessionId> {
        self.0.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::PendingId;
    use crate::exchange::SessionId;

    #[test]
    fn a_pending_id_is_drawn_once_and_then_kept() {
        let pending = PendingId::default();
        assert!(pending.get().is_none(), "nothing is drawn up front");
        let first = pending.get_or_draw().expect("the generator works").clone();
        assert_eq!(pending.get(), Some(&first));
        assert_eq!(pending.get_or_draw().ok(), Some(&first));
        assert_eq!(pending.into_inner(), Some(first));
    }

    #[test]
    fn a_known_id_is_never_replaced() {
        let id = SessionId::generate().expect("the generator works");
        let known = PendingId::known(id.clone());
        assert_eq!(known.get_or_draw().ok(), Some(&id));
        assert_eq!(PendingId::default().into_inner(), None);
    }
}
