//! Driving a handshake: its deadline, what our verifiers decided inside it, and its errors as the
//! mesh reports them.
//!
//! rustls calls our certificate verifiers ([`crate::trust::verifiers`]) synchronously, inside the
//! poll of the handshake future. They decide there, so that rustls sends the right alert before
//! anything else happens (a client refuses a wrong server before sending its own certificate), and
//! they [`record`] their [`Verdict`]: the identities the peer proved, or our typed reason for
//! refusing it. The record goes to a slot that exists only while [`drive`] polls that very future
//! on this thread, so the verdict reaches the `accept` or `connect` that drove the handshake
//! without a config per connection, and the caller gets our reason instead of rustls's alert-shaped
//! error. The slot carries reports only: every decision is the verifier's, made from its own
//! fields, whether or not a slot is there. The server's certificate resolver reports through the
//! same slot that a ClientHello arrived, and its SNI ([`hello`]), for the handshake log.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub(crate) mod confirm;
mod observer;
pub(crate) mod outcome;

pub(crate) use observer::{Observer, Seen};

use crate::error::Whose;
use crate::identity::rules::Identities;
use crate::Error;

/// How long `accept` and `connect` wait for a handshake unless told otherwise: 10 s, as common
/// proxies do (Envoy's `transport_socket_connect_timeout`, Linkerd's detect timeout).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a verifier decided about the peer.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// It verified, and proves these identities.
    Proved(Identities),
    /// It was refused, for this reason.
    Refused(Error),
}

#[derive(Default)]
struct Slot {
    /// Whether a [`drive`] is polling its handshake on this thread right now.
    open: bool,
    verdict: Option<Verdict>,
    hello: Option<Hello>,
}

/// What a server read of the client's ClientHello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hello {
    /// The SNI it sent, if any.
    pub(crate) sni: Option<String>,
}

thread_local! {
    static SLOT: RefCell<Slot> = RefCell::new(Slot::default());
}

/// Records `verdict` for the handshake being driven on this thread, if any.
pub(crate) fn record(verdict: Verdict) {
    SLOT.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.open {
            slot.verdict = Some(verdict);
        }
    });
}

/// Records, for the server handshake being driven on this thread (if any), that its ClientHello
/// arrived with `sni`.
pub(crate) fn hello(sni: Option<&str>) {
    SLOT.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.open {
            slot.hello = Some(Hello {
                sni: sni.map(str::to_owned),
            });
        }
    });
}

/// A handshake future that collects the verdicts and the ClientHello recorded while it is polled.
struct Scoped<'a, F> {
    handshake: F,
    verdict: Option<Verdict>,
    hello: &'a mut Option<Hello>,
}

impl<F: Future + Unpin> Future for Scoped<'_, F> {
    type Output = (F::Output, Option<Verdict>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outer = SLOT.with(|slot| {
            slot.replace(Slot {
                open: true,
                verdict: None,
                hello: None,
            })
        });
        let polled = Pin::new(&mut self.handshake).poll(cx);
        let ours = SLOT.with(|slot| slot.replace(outer));
        if ours.verdict.is_some() {
            self.verdict = ours.verdict;
        }
        if ours.hello.is_some() {
            *self.hello = ours.hello;
        }
        match polled {
            Poll::Ready(out) => Poll::Ready((out, self.verdict.take())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `handshake` for at most `deadline`. Returns its output and the identities the peer proved
/// (`None` when it sent no certificate). Sets `hello` once a server's resolver saw the ClientHello,
/// whether the handshake then succeeds, fails or times out.
///
/// # Errors
///
/// [`Error::HandshakeTimeout`] (kind `TimedOut`) at the deadline; the verifier's reason when it
/// refused the peer ([`Error::Unauthorized`] with kind `PermissionDenied`, others `InvalidData`);
/// otherwise the handshake's error, a refused peer certificate as [`Error::Untrusted`].
pub(crate) async fn drive<F, T>(
    handshake: F,
    deadline: Duration,
    hello: &mut Option<Hello>,
) -> io::Result<(T, Option<Identities>)>
where
    F: Future<Output = io::Result<T>> + Unpin,
{
    let scoped = Scoped {
        handshake,
        verdict: None,
        hello,
    };
    match tokio::time::timeout(deadline, scoped).await {
        Err(_elapsed) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            Error::HandshakeTimeout { after: deadline },
        )),
        Ok((Ok(out), Some(Verdict::Proved(ids)))) => Ok((out, Some(ids))),
        Ok((Ok(out), _)) => Ok((out, None)),
        Ok((Err(_), Some(Verdict::Refused(error)))) => Err(refused(error)),
        Ok((Err(error), _)) => Err(handshake_error(error)),
    }
}

/// Our reason for refusing a peer, as the `io::Error` a handshake returns.
pub(crate) fn refused(error: Error) -> io::Error {
    let kind = match error {
        Error::Unauthorized(_) => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, error)
}

/// A handshake's `io::Error` as the mesh reports it: a peer certificate the verifier refused
/// becomes [`Error::Untrusted`] about [`Whose::Peer`] (kind `InvalidData`, the rustls error as its
/// `source()`), so the text says whose certificate it is and why, in words. Every other error is
/// passed on as it is.
fn handshake_error(error: io::Error) -> io::Error {
    let refused = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .filter(|e| matches!(e, rustls::Error::InvalidCertificate(_)))
        .cloned();
    match refused {
        Some(source) => io::Error::new(
            io::ErrorKind::InvalidData,
            Error::untrusted(Whose::Peer, source),
        ),
        None => error,
    }
}

/// The rustls error inside a handshake's `io::Error`, if that is what it is.
pub(crate) fn tls_error(error: &io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records a verdict when polled, then finishes with `out`.
    struct Records(Option<io::Result<()>>, fn() -> Verdict);

    impl Future for Records {
        type Output = io::Result<()>;

        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            record((self.1)());
            Poll::Ready(self.0.take().expect("polled once"))
        }
    }

    #[tokio::test]
    async fn verdicts_reach_the_driver_and_only_it() {
        let refusal = || Verdict::Refused(Error::NoCredentials);
        let failed = Records(Some(Err(io::Error::other("alert"))), refusal);
        let err = drive(failed, DEFAULT_HANDSHAKE_TIMEOUT, &mut None)
            .await
            .unwrap_err();
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
        assert!(matches!(inner, Some(Error::NoCredentials)), "{err}");

        // Outside a driver, a record goes nowhere, and the next driver starts empty.
        record(refusal());
        let plain = Records(Some(Ok(())), || Verdict::Refused(Error::NoRuntime));
        let ((), ids) = drive(plain, DEFAULT_HANDSHAKE_TIMEOUT, &mut None)
            .await
            .unwrap();
        assert!(ids.is_none());
        SLOT.with(|slot| assert!(!slot.borrow().open && slot.borrow().verdict.is_none()));
    }

    #[tokio::test]
    async fn a_hello_is_kept_through_a_timeout() {
        struct Hears;
        impl Future for Hears {
            type Output = io::Result<()>;
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                hello(Some("foo.example"));
                Poll::Pending
            }
        }
        let mut heard = None;
        let err = drive(Hears, Duration::from_millis(10), &mut heard)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(heard.and_then(|h| h.sni).as_deref(), Some("foo.example"));
    }

    #[tokio::test]
    async fn the_deadline_is_a_typed_timeout() {
        let never = std::future::pending::<io::Result<()>>();
        let err = drive(Box::pin(never), Duration::from_millis(10), &mut None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
        assert!(matches!(inner, Some(Error::HandshakeTimeout { .. })));
    }
}
