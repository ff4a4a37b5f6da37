//! meshtls: mutual TLS for service-mesh proxies, on a rustls 0.23 crypto provider that runs on AWS-LC,
//! or, with the `fips` feature, on the AWS-LC-FIPS 3.x module (FIPS 140-3, CMVP #5314/#5298).
//!
//! - [`provider()`]: our own rustls [`CryptoProvider`](rustls::crypto::CryptoProvider); every
//!   algorithm comes from the one module the build selects.
//! - [`policy`]: the one table of every algorithm, whether this build has it and whether the FIPS
//!   module approves it; the provider, the CLI and the self-test read it.
//! - [`default_provider`]: refuses a rustls process-default provider other than ours, or installs
//!   ours, for libraries that fall back to the process default.
//! - [`fips`]: what module runs, whether it is in FIPS mode, and what the build may claim about it.
//!
//! The mesh API, in the shape of the Linkerd proxy's (`linkerd-identity`, `linkerd-meshtls`,
//! `linkerd-tls`):
//! - [`identity`]: [`Id`] (DNS-like name or SPIFFE URI), the TLS names, identities in certificates.
//! - [`creds`]: [`creds::watch`] gives the [`creds::Store`] an identity controller feeds
//!   certificates to, and the [`creds::Receiver`] that makes clients and servers.
//! - [`client`] and [`server`]: the handshakes, as `tower::Service`s over any async I/O.
//! - [`identity::rules`]: the rules a workload certificate must meet beyond chain verification
//!   (X509-SVID), enforced on the workload's own certificate and inside both handshake sides.
//! - [`trust`]: the mesh roots and the bundles of federated SPIFFE trust domains.
//! - [`authz`]: which clients a server admits.
//! - [`ready`]: the readiness answer a probe gives, each unmet condition named.
//! - [`detect`]: reading a ClientHello's SNI to decide whether to terminate TLS.
//! - `metrics` (feature `metrics`): Prometheus metrics of handshakes, credentials, detection and
//!   the FIPS status.
//! - `http` (feature `hyper`): HTTP over the mesh on hyper 1 and hyper-util, a client connector
//!   and a server connection driver that hands the handler the client's identity.
//! - `workload_api` (feature `spiffe`): SVIDs and bundles from the SPIFFE Workload API (a SPIRE
//!   agent) into a store.
#![cfg_attr(
    not(feature = "kat"),
    doc = r#"
## No test-only API

This build has no `meshtls::kat`: no key exchange from a chosen private key and no record sealing
with a chosen nonce. Those entry points exist only with the test suite's `kat` cargo feature, which
no product build turns on. This doctest proves it for the build it runs in (`scripts/test.sh` runs
it on the regulated build): the line below must not compile.

```compile_fail
use meshtls::kat as _;
```
"#
)]
#![cfg_attr(
    feature = "kat",
    doc = r#"
With the test suite's `kat` feature the same line compiles, so the check above fails only because
the module is absent:

```
use meshtls::kat as _;
```
"#
)]
// `deny`, not `forbid`: `src/ffi.rs` is the one module allowed FFI (see its SAFETY comments).
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(any(feature = "fips", feature = "non-fips")))]
compile_error!(
    "meshtls needs a crypto module: enable `fips` (AWS-LC-FIPS) or `non-fips` (AWS-LC, the default)"
);

pub mod authz;
pub mod client;
mod configs;
pub mod creds;
pub mod default_provider;
pub mod detect;
mod error;
mod ffi;
pub mod fips;
mod handshake;
#[cfg(feature = "hyper")]
pub mod http;
pub mod identity;
mod io;
#[cfg(feature = "metrics")]
pub mod metrics;
mod provider;
pub mod ready;
pub mod server;
pub mod trust;
#[cfg(feature = "spiffe")]
pub mod workload_api;

pub use client::{ClientIo, ClientTls, Confirmation, Connect, ConnectFuture, NewClient};
pub use error::{Error, Whose};
pub use handshake::DEFAULT_HANDSHAKE_TIMEOUT;
pub use identity::{
    AlpnProtocols, ClientId, Credentials, DerX509, Id, NegotiatedProtocol, ServerId, ServerName,
};
pub use io::{Negotiated, PeerAddr};
/// Not API: fixed-key and fixed-nonce entry points for the known-answer tests, compiled only with
/// the test suite's `kat` feature (see the module's docs and FIPS.md).
#[cfg(feature = "kat")]
#[doc(hidden)]
pub use provider::kat;
pub use provider::{policy, provider};
pub use server::{AcceptFuture, Server, ServerIo, ServerTls};
