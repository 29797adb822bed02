//! The header read timeout: how long a connection may wait for a request's head — the whole of
//! it, from the moment the server is ready for the next request (the connection opened, or the
//! last response written) — before it is closed (against slow-loris clients; docs/security.md,
//! "The server").
//!
//! hyper has such a timeout, but it arms a fresh boxed timer for every request: a clock read, an
//! allocation, a timer-wheel insertion and removal, about a twentieth of the CPU of a small
//! request. Here a connection keeps one timestamp, written when it starts waiting for a head
//! ([`HeadWait`]), and one timer ([`head_timeout`]), which wakes only at a moment the deadline
//! could have passed: a connection that keeps sending requests wakes it once per timeout at most.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

/// When a connection began waiting for its next request head, if it is waiting.
#[derive(Debug)]
pub(super) struct HeadWait {
    /// The connection's start, which `since` counts from.
    start: Instant,
    /// Nanoseconds from `start` to when the wait began, plus one; 0 while a request is answered
    /// (from its head read to its response written). Only the connection's own task reads and
    /// writes it: relaxed ordering is enough.
    since: AtomicU64,
}

impl HeadWait {
    /// A connection opened now, waiting for its first head.
    pub(super) fn new() -> Arc<HeadWait> {
        Arc::new(HeadWait {
            start: Instant::now(),
            since: AtomicU64::new(1),
        })
    }

    /// A head has been read: the request is being answered, and no timeout runs.
    pub(super) fn answering(&self) {
        self.since.store(0, Ordering::Relaxed);
    }

    /// The response has been written: the wait for the next head starts now.
    pub(super) fn waiting(&self) {
        let elapsed = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.since.store(elapsed + 1, Ordering::Relaxed);
    }

    /// When the current wait began; `None` while a request is answered.
    fn waiting_since(&self) -> Option<Instant> {
        match self.since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(self.start + Duration::from_nanos(since - 1)),
        }
    }
}

/// Completes once the connection has waited `timeout` for a head without one arriving.
///
/// It sleeps until the earliest moment that could be so, and looks again: a wait that began later
/// moves the next look to its own deadline, and a request being answered to a whole timeout
/// from now (its wait cannot start earlier). So it never wakes later than the deadline of the
/// wait in progress, and at most once per `timeout` otherwise.
pub(super) async fn head_timeout(wait: Arc<HeadWait>, timeout: Duration) {
    let mut look_at = wait.start + timeout;
    loop {
        tokio::time::sleep_until(look_at).await;
        let now = Instant::now();
        match wait.waiting_since() {
            Some(since) if now.saturating_duration_since(since) >= timeout => return,
            Some(since) => look_at = since + timeout,
            None => look_at = now + timeout,
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that starts the connection's wait for the next head when hyper is done
    /// with it, which is when the response has been written (or the connection ended).
    pub(super) struct Answered<B> {
        #[pin]
        body: B,
        then_wait: ThenWait,
    }
}

impl<B> Answered<B> {
    /// `body`, followed by a wait for the next head on the connection of `wait`.
    pub(super) fn new(body: B, wait: Arc<HeadWait>) -> Self {
        Answered {
            body,
            then_wait: ThenWait(wait),
        }
    }
}

/// Starts the connection's wait for a head when dropped.
struct ThenWait(Arc<HeadWait>);

impl Drop for ThenWait {
    fn drop(&mut self) {
        self.0.waiting();
    }
}

impl<B: Body<Data = Bytes>> Body for Answered<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::time::Duration;

    use futures_util::FutureExt;
    use http_body_util::{BodyExt, Full};

    use super::{head_timeout, Answered, HeadWait};

    const TIMEOUT: Duration = Duration::from_secs(30);

    /// Asserts that `timeout` is still running a millisecond before [`TIMEOUT`] from now, and
    /// done at it.
    async fn ends_a_timeout_from_now(mut timeout: Pin<Box<impl Future<Output = ()>>>) {
        tokio::time::sleep(TIMEOUT - Duration::from_millis(1)).await;
        assert!((&mut timeout).now_or_never().is_none(), "too early");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(
            timeout.now_or_never().is_some(),
            "not closed at the deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_nothing_times_out_after_the_timeout() {
        let wait = HeadWait::new();
        let timeout = Box::pin(head_timeout(wait, TIMEOUT));
        ends_a_timeout_from_now(timeout).await;
    }

    #[tokio::test(start_paused = true)]
    async fn no_timeout_runs_while_a_request_is_answered_and_the_wait_restarts_after_it() {
        let wait = HeadWait::new();
        let mut timeout = Box::pin(head_timeout(wait.clone(), TIMEOUT));
        tokio::time::sleep(Duration::from_secs(10)).await;
        wait.answering();
        // A handler that takes three timeouts is not cut off.
        for _ in 0..3 {
            tokio::time::sleep(TIMEOUT).await;
            assert!(
                (&mut timeout).now_or_never().is_none(),
                "cut off mid-answer"
            );
        }
        // Its response written, the next head has a whole timeout from then, not from the
        // timer's last look.
        let body = Answered::new(Full::new(bytes::Bytes::from_static(b"ok")), wait.clone());
        let collected = body.collect().await.expect("a full body").to_bytes();
        assert_eq!(&collected[..], b"ok");
        ends_a_timeout_from_now(timeout).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_that_began_after_the_timer_s_last_look_has_its_own_deadline() {
        let wait = HeadWait::new();
        let mut timeout = Box::pin(head_timeout(wait.clone(), TIMEOUT));
        // Requests keep coming: each answered in a moment, and the waits between are short.
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            wait.answering();
            wait.waiting();
            assert!(
                (&mut timeout).now_or_never().is_none(),
                "a busy connection was cut off"
            );
        }
        // The last wait began now: it ends a timeout later, not sooner.
        ends_a_timeout_from_now(timeout).await;
    }
}
