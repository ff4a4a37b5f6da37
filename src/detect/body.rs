//! The ClientHello body, parsed once it is complete, by rustls 0.23's server rules (its
//! `msgs/handshake.rs` and `server/hs.rs`): `None` exactly when rustls refuses the hello as
//! malformed or misbehaving.
//!
//! - A session id of at most 32 bytes; non-empty cipher suite (of 2-byte entries) and
//!   compression lists; the extensions block optional, but if present it is exactly what is left;
//!   no extension type twice; pre_shared_key last; and every extension rustls's server knows
//!   well-formed as rustls reads it (see [`extension_ok`]).
//! - server_name: a non-empty list whose host names are read until an entry of another type
//!   (whose length cannot be known); exactly one host name, non-empty; it is classified by the
//!   same `rustls::pki_types::ServerName` parse rustls uses: a DNS name (lower-cased, a trailing
//!   dot dropped: what `ClientHello::server_name()` returns), an IP literal (rustls ignores it: no
//!   SNI) or invalid (rustls refuses the hello). A list with no host name is refused too.
//!
//! rustls also refuses hellos without the `null` compression method or the signature_algorithms
//! extension (`PeerIncompatible`): those are well-formed, and are not checked here (see the
//! module docs of [`detect`](super) for why).

use rustls::pki_types;

use crate::identity::ServerName;

const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_PRE_SHARED_KEY: u16 = 0x0029;
const NAME_TYPE_HOST_NAME: u8 = 0;

/// What a well-formed ClientHello says of its server name.
pub(super) enum Sni {
    /// No server_name extension, or an IP literal in it (which rustls ignores).
    Absent,
    /// A DNS name rustls takes; `None` if it is not a valid meshtls name.
    Dns(Option<ServerName>),
    /// A name rustls refuses, or no host name at all.
    Invalid,
}

/// Parses a complete ClientHello body; `None` if it is malformed.
pub(super) fn client_hello(body: &[u8]) -> Option<Sni> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // legacy_version, random
    if r.vec8()?.len() > 32 {
        return None; // legacy_session_id
    }
    list(r.vec16()?, true, |s| s.u16().map(drop))?; // cipher_suites
    list(r.vec8()?, true, |c| c.u8().map(drop))?; // legacy_compression_methods
    if r.0.is_empty() {
        return Some(Sni::Absent); // no extensions block at all
    }
    let mut exts = Reader(r.vec16()?);
    r.end()?;

    let mut seen = vec![0u64; 1 << 10]; // one bit per extension type
    let mut sni = Sni::Absent;
    while !exts.0.is_empty() {
        let typ = exts.u16()?;
        let data = exts.vec16()?;
        let word = seen.get_mut(usize::from(typ >> 6))?;
        let bit = 1u64 << (typ & 63);
        if *word & bit != 0 {
            return None; // a duplicate extension
        }
        *word |= bit;
        if typ == EXT_PRE_SHARED_KEY && !exts.0.is_empty() {
            return None; // pre_shared_key must be the last extension
        }
        if typ == EXT_SERVER_NAME {
            sni = server_name(data)?;
        } else {
            extension_ok(typ, data)?;
        }
    }
    Some(sni)
}

/// The server_name extension, read the way rustls's server reads it.
fn server_name(data: &[u8]) -> Option<Sni> {
    let mut r = Reader(data);
    let mut names = Reader(r.vec16()?);
    r.end()?;
    if names.0.is_empty() {
        return None;
    }
    let mut found = None;
    while !names.0.is_empty() {
        if names.u8()? != NAME_TYPE_HOST_NAME {
            break; // an entry of another type: its length cannot be known, so it ends the list
        }
        let name = names.vec16()?;
        if name.is_empty() || found.is_some() {
            return None; // an empty host name, or a second one
        }
        found = Some(match pki_types::ServerName::try_from(name) {
            Ok(pki_types::ServerName::DnsName(dns)) => Sni::Dns(dns.as_ref().parse().ok()),
            Ok(pki_types::ServerName::IpAddress(_)) => Sni::Absent,
            Ok(_) | Err(_) => Sni::Invalid,
        });
    }
    Some(found.unwrap_or(Sni::Invalid))
}

/// Whether the body of an extension rustls's server parses (other than server_name) is
/// well-formed as rustls reads it; `Some` for any extension it does not parse.
fn extension_ok(typ: u16, data: &[u8]) -> Option<()> {
    let mut r = Reader(data);
    let u8_item = |i: &mut Reader<'_>| i.u8().map(drop);
    let u16_item = |i: &mut Reader<'_>| i.u16().map(drop);
    match typ {
        // status_request: an OCSP request, or any other type and anything after it
        0x0005 => {
            if r.u8()? == 1 {
                list(r.vec16()?, false, |i| i.vec16().map(drop))?;
                r.vec16()?;
            } else {
                r.0 = &[];
            }
        }
        // supported_groups, signature_algorithms
        0x000a | 0x000d => list(r.vec16()?, true, u16_item)?,
        // ec_point_formats, client/server_certificate_type, psk_key_exchange_modes
        0x000b | 0x0013 | 0x0014 | 0x002d => list(r.vec8()?, true, u8_item)?,
        // application_layer_protocol_negotiation
        0x0010 => list(r.vec16()?, true, |i| non_empty(i.vec8()?))?,
        // extended_master_secret, early_data: empty
        0x0017 | 0x002a => {}
        // compress_certificate, supported_versions, ech_outer_extensions
        0x001b | 0x002b | 0xfd00 => list(r.vec8()?, true, u16_item)?,
        // pre_shared_key: identities (non-empty, with a ticket age), then binders
        0x0029 => {
            list(r.vec16()?, true, |i| {
                non_empty(i.vec16()?)?;
                i.take(4).map(drop)
            })?;
            list(r.vec16()?, true, |i| non_empty(i.vec8()?))?;
        }
        // cookie
        0x002c => non_empty(r.vec16()?)?,
        // certificate_authorities
        0x002f => list(r.vec16()?, false, |i| non_empty(i.vec16()?))?,
        // key_share: group and non-empty key exchange
        0x0033 => list(r.vec16()?, false, |i| {
            i.u16()?;
            non_empty(i.vec16()?)
        })?,
        // ticket_request: two counts
        0x003a => {
            r.take(2)?;
        }
        // renegotiation_info
        0xff01 => {
            r.vec8()?;
        }
        // encrypted_client_hello: outer (suite, config id, enc, non-empty payload) or inner
        0xfe0d => match r.u8()? {
            0 => {
                r.take(2 + 2 + 1)?;
                r.vec16()?;
                non_empty(r.vec16()?)?;
            }
            1 => {}
            _ => return None,
        },
        // session_ticket, quic_transport_parameters (and its draft), and every unknown type
        _ => r.0 = &[],
    }
    r.end()
}

/// A list filling `bytes`, of items each read by `item`; `non_empty` if it must have one.
fn list(bytes: &[u8], non_empty: bool, item: impl Fn(&mut Reader<'_>) -> Option<()>) -> Option<()> {
    if non_empty && bytes.is_empty() {
        return None;
    }
    let mut r = Reader(bytes);
    while !r.0.is_empty() {
        item(&mut r)?;
    }
    Some(())
}

fn non_empty(bytes: &[u8]) -> Option<()> {
    (!bytes.is_empty()).then_some(())
}

/// A bounds-checked cursor: every read returns `None` past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.0.split_first()?;
        self.0 = tail;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let [a, b] = *self.take(2)? else { return None };
        Some(u16::from_be_bytes([a, b]))
    }

    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// `Some` if everything was read.
    fn end(&self) -> Option<()> {
        non_empty(self.0).is_none().then_some(())
    }
}
