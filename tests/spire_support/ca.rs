//! A CA whose key the test holds, made with the `openssl` command: it stands above a SPIRE server
//! as its upstream authority (so that server's bundle is this CA), and it signs certificates no
//! SPIRE would issue, such as one claiming another trust domain's SPIFFE ID.

use std::fs;
use std::process::Command;

use super::process::{self, TempDir};
use super::{Result, Upstream};

/// An ECDSA P-256 root CA in its own temp dir.
#[derive(Debug)]
pub struct TestCa {
    dir: TempDir,
    upstream: Upstream,
    issued: usize,
}

impl TestCa {
    /// A new self-signed CA named `name`, valid for two days.
    pub fn new(name: &str) -> Result<Self> {
        let dir = TempDir::new("mtls-ca")?;
        let upstream = Upstream {
            cert: dir.join("ca.crt"),
            key: dir.join("ca.key"),
        };
        let mut req = Command::new("openssl");
        req.args(["req", "-x509", "-newkey", "ec", "-pkeyopt"]);
        req.args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-sha256"]);
        req.arg("-subj").arg(format!("/O=meshtls tests/CN={name}"));
        req.args(["-addext", "basicConstraints=critical,CA:TRUE"]);
        req.args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        req.arg("-keyout").arg(&upstream.key);
        req.arg("-out").arg(&upstream.cert);
        process::run(req)?;
        Ok(Self {
            dir,
            upstream,
            issued: 0,
        })
    }

    /// Where its certificate and key are, for a server's `UpstreamAuthority "disk"`.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Its certificate, PEM.
    pub fn cert_pem(&self) -> Result<Vec<u8>> {
        Ok(fs::read(&self.upstream.cert)?)
    }

    /// A leaf for `spiffe_id` that meets the X509-SVID rules (one URI SAN, digitalSignature, not a
    /// CA, serverAuth and clientAuth), valid for a day: its certificate and its key, PEM.
    pub fn issue(&mut self, spiffe_id: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        self.issued += 1;
        let base = format!("leaf{}", self.issued);
        let (key, csr, cert, ext) = (
            self.dir.join(&format!("{base}.key")),
            self.dir.join(&format!("{base}.csr")),
            self.dir.join(&format!("{base}.crt")),
            self.dir.join(&format!("{base}.ext")),
        );
        fs::write(
            &ext,
            format!(
                "basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth,clientAuth\n\
                 subjectAltName=URI:{spiffe_id}\n"
            ),
        )?;
        let mut req = Command::new("openssl");
        req.args(["req", "-new", "-newkey", "ec", "-pkeyopt"]);
        req.args([
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/O=meshtls tests",
        ]);
        req.arg("-keyout").arg(&key).arg("-out").arg(&csr);
        process::run(req)?;
        let mut sign = Command::new("openssl");
        sign.args(["x509", "-req", "-sha256", "-days", "1", "-in"])
            .arg(&csr);
        sign.arg("-CA").arg(&self.upstream.cert);
        sign.arg("-CAkey").arg(&self.upstream.key);
        sign.arg("-set_serial")
            .arg(format!("{}", 1000 + self.issued));
        sign.arg("-extfile").arg(&ext).arg("-out").arg(&cert);
        process::run(sign)?;
        Ok((fs::read(&cert)?, fs::read(&key)?))
    }
}
