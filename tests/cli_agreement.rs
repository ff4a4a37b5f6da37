//! The audit CLI and the TLS stack agree: for every certificate in certs/ and a set of odd ones
//! minted here with the `openssl` CLI (under a test CA in a temp dir), the verdict of
//! `meshtls check-cert CHAIN --key KEY --roots ROOTS --id ID` (exit 0 / 1) equals
//!
//! - the verdict of [`Store::set_certificate`] (Ok / Err), and
//! - the verdict of real handshakes on loopback: a mesh client with the right `ServerId` accepts a
//!   server presenting the certificate, and a mesh server accepts it as a client certificate (and,
//!   when the store took it, a mesh server on that store serves a mesh client).
//!
//! The odd cases also assert their expected verdict, so the agreement cannot hold vacuously.
#![cfg(feature = "cli")]

mod mesh_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use mesh_support::{connect, id, in_a_day, name, serve, target, STEP};
use meshtls::creds::{self, Store};
use meshtls::{Credentials, ServerTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

const ODD_ID: &str = "odd.ns1.serviceaccount.identity.linkerd.cluster.local";
/// For a certificate without any identity: the one it is asked for.
const NOBODY: &str = "nobody.ns1.serviceaccount.identity.linkerd.cluster.local";

/// The SNI for an identity: itself if it is a DNS name (a SPIFFE ID is not a name).
fn sni(id: &str) -> &str {
    if id.starts_with("spiffe://") {
        ODD_ID
    } else {
        id
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): Debian: apt-get install -y openssl"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One certificate to judge.
struct Case {
    name: String,
    chain: PathBuf,
    key: PathBuf,
    id: String,
    /// The verdict the case must get, where it does not depend on the build.
    expect: Option<bool>,
}

/// The odd certificates: (name, key algorithm args for genpkey, digest, extension lines, verdict).
fn odd_specs() -> Vec<(
    &'static str,
    &'static [&'static str],
    &'static str,
    String,
    bool,
)> {
    let p256: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let bc = "basicConstraints=critical,CA:FALSE";
    let ku = "keyUsage=critical,digitalSignature";
    let eku = "extendedKeyUsage=serverAuth,clientAuth";
    let san = format!("subjectAltName=DNS:{ODD_ID}");
    let ext = |lines: &[&str]| lines.join("\n");
    vec![
        ("good control", p256, "-sha256", ext(&[bc, ku, eku, &san]), true),
        ("ECDSA-SHA512 signature", p256, "-sha512", ext(&[bc, ku, eku, &san]), false),
        (
            "P-521 key",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "-sha256",
            ext(&[bc, ku, eku, &san]),
            false,
        ),
        (
            "RSA-2047 key",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2047"],
            "-sha256",
            ext(&[bc, "keyUsage=critical,digitalSignature,keyEncipherment", eku, &san]),
            false,
        ),
        ("Ed448 key", &["-algorithm", "ED448"], "-sha256", ext(&[bc, ku, eku, &san]), false),
        (
            "CA:TRUE leaf",
            p256,
            "-sha256",
            ext(&["basicConstraints=critical,CA:TRUE", ku, eku, &san]),
            false,
        ),
        (
            "keyCertSign on a leaf",
            p256,
            "-sha256",
            ext(&[bc, "keyUsage=critical,digitalSignature,keyCertSign", eku, &san]),
            false,
        ),
        (
            "no digitalSignature in keyUsage",
            p256,
            "-sha256",
            ext(&[bc, "keyUsage=critical,keyAgreement", eku, &san]),
            false,
        ),
        (
            "unknown critical extension",
            p256,
            "-sha256",
            ext(&[bc, ku, eku, &san, "1.3.6.1.4.1.55555.1.1=critical,ASN1:UTF8String:odd"]),
            false,
        ),
        (
            "clientAuth-only EKU",
            p256,
            "-sha256",
            ext(&[bc, ku, "extendedKeyUsage=clientAuth", &san]),
            false,
        ),
        (
            "two URI SANs",
            p256,
            "-sha256",
            ext(&[
                bc,
                ku,
                eku,
                &format!("{san},URI:spiffe://cluster.local/ns/ns1/sa/a,URI:spiffe://cluster.local/ns/ns1/sa/b"),
            ]),
            false,
        ),
        (
            "URI SAN that is not SPIFFE",
            p256,
            "-sha256",
            ext(&[bc, ku, eku, &format!("{san},URI:https://odd.example/x")]),
            false,
        ),
        ("no SAN", p256, "-sha256", ext(&[bc, ku, eku]), false),
    ]
}

/// Mints the test CA and the odd leaves in `dir`; returns the cases and the roots bundle
/// (certs/roots.pem plus the test CA).
fn mint(dir: &Path) -> (Vec<Case>, PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=meshtls agreement test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    let roots = dir.join("roots.pem");
    let mut bundle = std::fs::read(mesh_support::path("roots.pem")).unwrap();
    bundle.extend(std::fs::read(dir.join("ca.pem")).unwrap());
    std::fs::write(&roots, bundle).unwrap();

    let mut cases = Vec::new();
    for (i, (label, keyalg, digest, ext, expect)) in odd_specs().into_iter().enumerate() {
        let stem = format!("odd{i}");
        let mut genpkey = vec!["genpkey"];
        genpkey.extend_from_slice(keyalg);
        let key = format!("{stem}.key.pem");
        genpkey.extend_from_slice(&["-out", &key]);
        openssl(dir, &genpkey);
        let csr = format!("{stem}.csr");
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-subj",
                &format!("/CN={stem}"),
                "-out",
                &csr,
            ],
        );
        let extfile = format!("{stem}.ext");
        std::fs::write(dir.join(&extfile), format!("[v3]\n{ext}\n")).unwrap();
        let cert = format!("{stem}.pem");
        let serial = format!("{}", 1000 + i);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &serial,
                "-days",
                "365",
                digest,
                "-extfile",
                &extfile,
                "-extensions",
                "v3",
                "-out",
                &cert,
            ],
        );
        cases.push(Case {
            name: label.to_string(),
            chain: dir.join(&cert),
            key: dir.join(&key),
            id: if label == "no SAN" { NOBODY } else { ODD_ID }.to_string(),
            expect: Some(expect),
        });
    }

    // The good control with 8 junk bytes after its DER, inside the PEM block.
    openssl(
        dir,
        &[
            "x509", "-in", "odd0.pem", "-outform", "DER", "-out", "junk.der",
        ],
    );
    let mut der = std::fs::read(dir.join("junk.der")).unwrap();
    der.extend_from_slice(b"\x00junk!!\x00");
    std::fs::write(dir.join("junk.der"), der).unwrap();
    openssl(dir, &["base64", "-in", "junk.der", "-out", "junk.b64"]);
    let b64 = std::fs::read_to_string(dir.join("junk.b64")).unwrap();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}-----END CERTIFICATE-----\n");
    std::fs::write(dir.join("junk.pem"), pem).unwrap();
    cases.push(Case {
        name: "8 junk bytes after the DER".into(),
        chain: dir.join("junk.pem"),
        key: dir.join("odd0.key.pem"),
        id: ODD_ID.into(),
        expect: Some(false),
    });
    (cases, roots)
}

/// Every chain in certs/ with its key, asked for the identity it carries.
fn fixtures() -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(mesh_support::path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".chain.pem").map(str::to_string))
        .collect();
    names.sort();
    let known = |n: &str| -> Option<bool> {
        match n {
            "foo-ca1" | "bar-ca1" | "foo-ca2" | "foo-int1" | "spiffe-foo-ca1" | "p384-ca1" => {
                Some(true)
            }
            "expired-ca1" | "notyet-ca1" | "nosan-ca1" | "rsa1024-ca1" | "sha1-ca1" => Some(false),
            _ => None,
        }
    };
    let mut cases: Vec<Case> = names
        .iter()
        .map(|n| {
            let chain = mesh_support::path(&format!("{n}.chain.pem"));
            let der = creds::chain_from_pem(&std::fs::read(&chain).unwrap())
                .unwrap()
                .0;
            let id = meshtls::identity::identities(&der.0)
                .unwrap()
                .first()
                .map_or(NOBODY.to_string(), ToString::to_string);
            Case {
                name: format!("certs/{n}"),
                chain,
                key: mesh_support::path(&format!("{n}.key.pem")),
                id,
                expect: known(n),
            }
        })
        .collect();
    // A CA certificate used as a workload's, and a leaf without its intermediate.
    cases.push(Case {
        name: "certs/ca1 as a leaf".into(),
        chain: mesh_support::path("ca1.crt.pem"),
        key: mesh_support::path("ca1.key.pem"),
        id: NOBODY.into(),
        expect: Some(false),
    });
    cases.push(Case {
        name: "certs/foo-int1 without int1".into(),
        chain: mesh_support::path("foo-int1.crt.pem"),
        key: mesh_support::path("foo-int1.key.pem"),
        id: mesh_support::FOO.into(),
        expect: Some(false),
    });
    cases
}

fn cli_verdict(case: &Case, roots: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meshtls"))
        .arg("check-cert")
        .arg(&case.chain)
        .arg("--key")
        .arg(&case.key)
        .arg("--roots")
        .arg(roots)
        .args(["--id", &case.id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let findings: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("FINDING: "))
        .collect();
    match out.status.code() {
        Some(0) => (true, String::new()),
        Some(1) => (false, findings.join("; ")),
        other => panic!(
            "{}: check-cert exit {other:?}: {text}{}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn pem_chain(case: &Case) -> Vec<CertificateDer<'static>> {
    let (leaf, chain) = creds::chain_from_pem(&std::fs::read(&case.chain).unwrap()).unwrap();
    std::iter::once(leaf)
        .chain(chain)
        .map(|c| CertificateDer::from(c.0))
        .collect()
}

fn key_der(case: &Case) -> Vec<u8> {
    creds::key_from_pem(&std::fs::read(&case.key).unwrap()).unwrap()
}

/// `Store::set_certificate` on a fresh store for the case's identity.
fn store_verdict(case: &Case, roots: &[u8]) -> (Result<(), String>, Store, creds::Receiver) {
    let (mut store, rx) = creds::watch(id(&case.id), name(sni(&case.id)), roots).unwrap();
    let (leaf, chain) = creds::chain_from_pem(&std::fs::read(&case.chain).unwrap()).unwrap();
    let result = store
        .set_certificate(leaf, chain, key_der(case), in_a_day())
        .map_err(|e| e.to_string());
    (result, store, rx)
}

/// A rustls server on our provider presenting the case's certificate; a mesh client with the right
/// `ServerId` (and no client certificate) connects to it.
async fn mesh_client_accepts(case: &Case, roots: &[u8]) -> Result<(), String> {
    let key = PrivateKeyDer::try_from(key_der(case)).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(meshtls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pem_chain(case), key)
        .map_err(|e| format!("cannot present it: {e}"))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(tcp).await;
    });
    let (_store, rx) = creds::watch(id(mesh_support::BAR), name(mesh_support::BAR), roots).unwrap();
    let result = connect(&rx, addr, target(sni(&case.id), &case.id))
        .await
        .map(drop)
        .map_err(|e| format!("mesh client refused it: {e}"));
    server.abort();
    result
}

/// Accepts any server certificate; handshake signatures still verified with our provider.
#[derive(Debug)]
struct AnyServer;

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = meshtls::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = meshtls::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        meshtls::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A mesh server (foo) trusting the roots; a rustls client presents the case's certificate.
async fn mesh_server_accepts(case: &Case, roots: &[u8]) -> Result<(), String> {
    let (mut foo_store, foo) =
        creds::watch(id(mesh_support::FOO), name(mesh_support::FOO), roots).unwrap();
    mesh_support::set(&mut foo_store, "foo-ca1").unwrap();
    let key = PrivateKeyDer::try_from(key_der(case)).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(meshtls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer))
        .with_client_auth_cert(pem_chain(case), key)
        .map_err(|e| format!("cannot present it: {e}"))?;
    let (addr, mut accepted) = serve(foo.server()).await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let sni = ServerName::try_from(mesh_support::FOO).unwrap();
    let _client = tokio::time::timeout(STEP, connector.connect(sni, tcp)).await;
    let seen = tokio::time::timeout(STEP, accepted.recv())
        .await
        .expect("server handshake hung")
        .expect("server gone");
    match seen.tls {
        Ok(ServerTls::Established {
            client_id: Some(_), ..
        }) => Ok(()),
        Ok(other) => Err(format!("mesh server saw no client identity: {other:?}")),
        Err(e) => Err(format!("mesh server refused it: {e}")),
    }
}

/// When the store took the certificate: a mesh server on it serves a mesh client asking for its id.
async fn mesh_to_mesh(case: &Case, rx: &creds::Receiver, roots: &[u8]) -> Result<(), String> {
    let (addr, _accepted) = serve(rx.server()).await;
    let (mut bar_store, bar) =
        creds::watch(id(mesh_support::BAR), name(mesh_support::BAR), roots).unwrap();
    mesh_support::set(&mut bar_store, "bar-ca1").unwrap();
    connect(&bar, addr, target(sni(&case.id), &case.id))
        .await
        .map(drop)
        .map_err(|e| format!("mesh-to-mesh handshake failed: {e}"))
}

#[tokio::test]
async fn check_cert_store_and_handshake_agree_on_every_certificate() {
    let dir = std::env::temp_dir().join(format!("meshtls-agreement-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (odd, roots_path) = mint(&dir);
    let roots = std::fs::read(&roots_path).unwrap();
    let cases: Vec<Case> = fixtures().into_iter().chain(odd).collect();

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let (cli, findings) = cli_verdict(case, &roots_path);
        let (stored, _store, rx) = store_verdict(case, &roots);
        let client_side = mesh_client_accepts(case, &roots).await;
        let server_side = mesh_server_accepts(case, &roots).await;
        let mut handshake = client_side.clone().and(server_side.clone());
        if stored.is_ok() {
            handshake = handshake.and(mesh_to_mesh(case, &rx, &roots).await);
        }
        let verdicts = (cli, stored.is_ok(), handshake.is_ok());
        rows.push(format!(
            "{:<34} cli={:<5} store={:<5} handshake={:<5} expect={:<5} | {}",
            case.name,
            verdicts.0,
            verdicts.1,
            verdicts.2,
            case.expect.map_or("-".to_string(), |e| e.to_string()),
            if cli { String::new() } else { findings.clone() }
        ));
        if verdicts.0 != verdicts.1 || verdicts.1 != verdicts.2 {
            failures.push(format!(
                "{}: disagree: check-cert {cli} ({findings}); store {stored:?}; \
                 client side {client_side:?}; server side {server_side:?}; handshake {handshake:?}",
                case.name
            ));
        }
        if let Some(expect) = case.expect {
            if cli != expect {
                failures.push(format!(
                    "{}: expected {expect}, check-cert said {cli} ({findings})",
                    case.name
                ));
            }
        }
    }
    println!("{}", rows.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(cases.len() >= 25, "{} cases", cases.len());
}
