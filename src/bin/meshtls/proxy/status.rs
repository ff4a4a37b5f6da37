//! `--status ADDR`: plain HTTP/1 (hyper) for probes and operators.
//!
//! - `/ready`: 200 `ready`, or 503 with the unmet conditions of [`meshtls::ready`] (and
//!   `draining` once SIGTERM came);
//! - `/status`: JSON: the FIPS status, the certificate served, the connection and reload counts,
//!   and the established connections by peer identity;
//! - `/metrics`: with feature `metrics`, meshtls's Prometheus metrics as text; without it, 404
//!   saying so.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::{log, Shared};

/// How long a status client may take to send its request head.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the endpoint reads.
#[derive(Clone)]
pub(super) struct Status {
    /// The proxy's counts.
    pub(super) shared: Arc<Shared>,
    /// The credentials in force.
    pub(super) rx: meshtls::creds::Receiver,
    /// How close to its notAfter the certificate may be while /ready says ready.
    pub(super) margin: std::time::Duration,
    /// The Workload API source feeding `rx`, if it is one (/ready asks whether it delivered).
    #[cfg(feature = "spiffe")]
    pub(super) source: Option<Arc<meshtls::workload_api::Source>>,
    /// The registry meshtls's metrics are in.
    #[cfg(feature = "metrics")]
    pub(super) registry: Arc<prometheus_client::registry::Registry>,
}

/// Serves `listener` until the process ends. One task per connection; a client's error ends only
/// its own connection.
pub(super) async fn serve(listener: TcpListener, status: Status) {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                log(&format!("status accept: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let status = status.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let status = status.clone();
                async move { Ok::<_, Infallible>(status.answer(&req)) }
            });
            // A client that never finishes its request head is closed after HEADER_TIMEOUT.
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(tcp), service);
            if let Err(e) = conn.await {
                log(&format!("status connection: {e}"));
            }
        });
    }
}

fn text(code: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = code;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Status {
    fn answer(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != hyper::Method::GET {
            return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
        }
        match req.uri().path() {
            "/ready" => self.ready(),
            "/status" => {
                let mut response = text(StatusCode::OK, format!("{:#}\n", self.status()));
                response.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                response
            }
            "/metrics" => self.metrics(),
            _ => text(
                StatusCode::NOT_FOUND,
                "not found: /ready, /status, /metrics\n".into(),
            ),
        }
    }

    fn ready(&self) -> Response<Full<Bytes>> {
        let readiness = meshtls::ready::Readiness::new(&self.rx).margin(self.margin);
        #[cfg(feature = "spiffe")]
        let readiness = match &self.source {
            Some(source) => readiness.source(source),
            None => readiness,
        };
        let report = readiness.check(SystemTime::now());
        let draining = self.shared.draining.load(Ordering::Relaxed);
        if report.ready && !draining {
            return text(StatusCode::OK, "ready\n".into());
        }
        let mut unmet: Vec<String> = report.unmet.iter().map(ToString::to_string).collect();
        if draining {
            unmet.push("draining (SIGTERM received)".into());
        }
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", unmet.join("; ")),
        )
    }

    /// The `/status` object.
    pub(super) fn status(&self) -> Value {
        let fips = meshtls::fips::status();
        let served = self.rx.served();
        let certificate = served.certificate.as_ref().map(|c| {
            json!({
                "identities": c.identities.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "serial": c.serial,
                "not_before": rfc3339(c.not_before),
                "not_after": rfc3339(c.not_after),
            })
        });
        let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.shared;
        let peers = s.peers.lock().map(|p| json!(*p)).unwrap_or(Value::Null);
        json!({
            "local_id": self.rx.local_id().to_string(),
            "fips": {
                "build": fips.build.to_string(),
                "module": fips.module,
                "version": fips.version_string,
                "fips_mode": fips.fips_mode,
                "validation": fips.validation.to_string(),
            },
            "certificate": certificate,
            "connections": {
                "accepted": count(&s.accepted),
                "active": count(&s.active),
                "failed": count(&s.failed),
            },
            "reloads": {
                "ok": count(&s.reloads_ok),
                "refused": count(&s.reloads_refused),
            },
            "peers": peers,
            "draining": s.draining.load(Ordering::Relaxed),
        })
    }

    #[cfg(feature = "metrics")]
    fn metrics(&self) -> Response<Full<Bytes>> {
        let mut body = String::new();
        match prometheus_client::encoding::text::encode(&mut body, &self.registry) {
            Ok(()) => {
                let mut response = text(StatusCode::OK, body);
                response.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                response
            }
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("encoding the metrics: {e}\n"),
            ),
        }
    }

    #[cfg(not(feature = "metrics"))]
    fn metrics(&self) -> Response<Full<Bytes>> {
        text(
            StatusCode::NOT_FOUND,
            "this meshtls was built without the `metrics` feature: no /metrics\n".into(),
        )
    }
}
