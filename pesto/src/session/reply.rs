//! [`Reply`]: what the response side of the session middleware keeps of the request before the
//! request is handed on to the app.

use crate::exchange::context::RequestContext;
use crate::exchange::session::LiveSessionId;
use crate::exchange::SessionId;

/// What the response side of the middleware needs to know about the request, taken before the
/// request is handed on: where the middleware sits (its mount path), the origin, the scheme, and
/// in querystring mode the live id. The cookie's default path and the scope of `Location`
/// rewriting both follow where the middleware sits, not where the handler's dispatcher is mounted.
#[derive(Debug)]
pub(super) struct Reply {
    /// The middleware's mount path: the cookie's default path, the scope of rewritten redirects.
    pub(super) script_name: String,
    /// Querystring mode only: redirects are rewritten only when they stay on this origin.
    pub(super) origin: Option<String>,
    /// Whether the request came over https (the cookie's `Secure` default).
    pub(super) https: bool,
    /// Querystring mode: the id generated URLs and rewritten redirects carry.
    pub(super) live: Option<LiveSessionId>,
}

impl Reply {
    /// Takes what the response needs from the request's `context`, and makes `live` the id
    /// that URLs generated during the request carry.
    pub(super) fn new(context: &mut RequestContext, live: Option<LiveSessionId>) -> Reply {
        let origin = live.as_ref().map(|_| context.origin().to_owned());
        if let Some(live) = &live {
            context.set_live_session(live.clone());
        }
        Reply {
            script_name: context.script_name().to_owned(),
            origin,
            https: context.is_https(),
            live,
        }
    }

    /// Points the live id at `id` (none once nothing was saved for a new session).
    pub(super) fn restore_live_id(&self, id: Option<&SessionId>) {
        if let Some(live) = &self.live {
            live.set(id);
        }
    }

    /// Nothing was saved: points the live id back at the id the request arrived with, or at
    /// none for a new session.
    pub(super) fn restore_arrived_live_id(&self, is_new: bool) {
        match &self.live {
            Some(live) if is_new => live.set(None),
            Some(live) => live.restore_first(),
            None => {}
        }
    }
}
