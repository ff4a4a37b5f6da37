//! The HCL configuration files of a test SPIRE server and agent.
//!
//! The server listens on 127.0.0.1 only, keeps its registrations in an embedded SQLite file and its
//! keys in memory, and attests agents by join token; with [`Upstream`] its X.509 CA is signed by a
//! CA the test holds (the `disk` UpstreamAuthority). The agent attests with a join token, keeps its
//! keys in memory, attests workloads by their Unix process attributes and serves the Workload API
//! on a Unix socket.

use std::path::{Path, PathBuf};

/// An upstream CA on disk (PEM certificate and key) that signs the server's X.509 CA.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// The CA certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

/// Where a server runs and keeps its files.
#[derive(Debug)]
pub struct Server<'a> {
    /// Its trust domain (`a.test`).
    pub trust_domain: &'a str,
    /// Its agent API port on 127.0.0.1.
    pub port: u16,
    /// Its admin API socket.
    pub socket: &'a Path,
    /// Its data directory.
    pub data_dir: &'a Path,
    /// The SQLite file of its datastore.
    pub datastore: &'a Path,
    /// The CA above its own, if any.
    pub upstream: Option<&'a Upstream>,
}

/// Where an agent runs and whom it talks to.
#[derive(Debug)]
pub struct Agent<'a> {
    /// The trust domain of its server.
    pub trust_domain: &'a str,
    /// Its server's port on 127.0.0.1.
    pub server_port: u16,
    /// The Workload API socket it serves.
    pub socket: &'a Path,
    /// Its data directory.
    pub data_dir: &'a Path,
}

/// A path as an HCL string literal.
fn quoted(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// The server's configuration file.
pub fn server(config: &Server<'_>) -> String {
    let upstream = config.upstream.map_or_else(String::new, |up| {
        format!(
            r#"
  UpstreamAuthority "disk" {{
    plugin_data {{
      cert_file_path = {}
      key_file_path = {}
    }}
  }}"#,
            quoted(&up.cert),
            quoted(&up.key)
        )
    });
    format!(
        r#"server {{
  bind_address = "127.0.0.1"
  bind_port = "{port}"
  socket_path = {socket}
  trust_domain = "{td}"
  data_dir = {data}
  log_level = "INFO"
  ca_ttl = "24h"
  default_x509_svid_ttl = "1h"
}}

plugins {{
  DataStore "sql" {{
    plugin_data {{
      database_type = "sqlite3"
      connection_string = {datastore}
    }}
  }}
  KeyManager "memory" {{
    plugin_data {{}}
  }}
  NodeAttestor "join_token" {{
    plugin_data {{}}
  }}{upstream}
}}
"#,
        port = config.port,
        socket = quoted(config.socket),
        td = config.trust_domain,
        data = quoted(config.data_dir),
        datastore = quoted(config.datastore),
    )
}

/// The agent's configuration file.
pub fn agent(config: &Agent<'_>) -> String {
    format!(
        r#"agent {{
  data_dir = {data}
  log_level = "INFO"
  server_address = "127.0.0.1"
  server_port = "{port}"
  socket_path = {socket}
  trust_domain = "{td}"
  insecure_bootstrap = true
}}

plugins {{
  NodeAttestor "join_token" {{
    plugin_data {{}}
  }}
  KeyManager "memory" {{
    plugin_data {{}}
  }}
  WorkloadAttestor "unix" {{
    plugin_data {{}}
  }}
}}
"#,
        data = quoted(config.data_dir),
        port = config.server_port,
        socket = quoted(config.socket),
        td = config.trust_domain,
    )
}
