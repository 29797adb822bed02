//! [`SaveGate`]: a test's hold on one request between its handler and its session save, so that
//! a test can run another request of the same session in that gap and then let the first one
//! save (`TestRequest::send_until_save`).
//!
//! The test client puts one in the request's extensions; the session middleware takes it out
//! before the app sees the request, and waits on it once the handler has answered. Nothing from
//! the network can insert an extension, so a served request never carries one.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// One request's hold: signals that it reached the save, then waits to be released.
#[derive(Debug, Clone)]
pub(crate) struct SaveGate(Arc<Mutex<Option<Hold>>>);

#[derive(Debug)]
struct Hold {
    reached: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

/// The test's ends of a [`SaveGate`]: told when the request is held, and the release.
#[derive(Debug)]
pub(crate) struct GateControl {
    pub(crate) reached: oneshot::Receiver<()>,
    pub(crate) release: oneshot::Sender<()>,
}

impl SaveGate {
    /// A gate and the test's ends of it.
    pub(crate) fn new() -> (SaveGate, GateControl) {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        let gate = SaveGate(Arc::new(Mutex::new(Some(Hold {
            reached: reached_tx,
            release: release_rx,
        }))));
        let control = GateControl {
            reached: reached_rx,
            release: release_tx,
        };
        (gate, control)
    }

    /// Says the request got here, then waits until the test releases it (or drops its end).
    /// Holds once: a second call returns at once.
    pub(crate) async fn hold(&self) {
        let hold = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(Hold { reached, release }) = hold {
            // The test may have stopped waiting; then there is nobody to tell.
            let _ = reached.send(());
            let _ = release.await;
        }
    }
}
