//! The ClientHello reader behind [`detect`](super::detect) and [`parse_sni`](super::parse_sni):
//! rustls 0.23's server rules, applied to each byte once.
//!
//! [`HelloReader::feed`] takes the new bytes of each read. Record headers are checked as their
//! fields arrive, handshake fragments are appended once to the one reassembled message, and the
//! ClientHello body is parsed once, when its last byte arrives. So the work is linear in the bytes
//! fed however they are split into records and reads, and memory is bounded by [`MAX_PEEK`]. (The
//! first version re-parsed the whole buffer after every read: quadratic on a hello sent in 1-byte
//! records.)
//!
//! The rules are those of rustls 0.23's `Acceptor` (its `msgs/deframer`, `msgs/message`,
//! `msgs/handshake.rs` and `server/hs.rs`), so that [`Hello::NotTls`] is said exactly when
//! rustls's server would refuse the bytes as malformed or misbehaving:
//!
//! - Records: a known content type (rustls refuses any other at once) which must be handshake
//!   until the hello ends (a first record of another type, or one between the hello's fragments,
//!   is refused once it is complete; we refuse it at its first byte); a version `03 XX`, or one of
//!   rustls's other named versions (SSLv2 `00 02`, DTLS `fe ff`, `fe fd`, `fe fc`); a length of 1
//!   to 18431 (2^14 plus rustls's 2 KiB allowance, applied to plaintext records as well).
//! - The handshake message: its first is the hello (we refuse any other type at its first byte;
//!   rustls once it is complete), at most 0xffff bytes long, reassembled across any number of
//!   records; the record that ends it must end with it (rustls: `KeyEpochWithPendingFragment`);
//!   later records are not read. rustls buffers at most 0xffff bytes of records while it joins a
//!   message, so the hello must end within the first [`MAX_PEEK`] bytes.
//! - The body: a session id of at most 32 bytes; non-empty cipher suite (of 2-byte entries) and
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

const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const RECORD_HEADER_LEN: usize = 5;
const HANDSHAKE_HEADER_LEN: usize = 4;
/// rustls refuses a record this long or longer (2^14 + 2048).
const MAX_RECORD_LEN: usize = 18_432;
/// The longest handshake message body rustls joins.
const MAX_HANDSHAKE_LEN: usize = 0xffff;
/// Most bytes read before a verdict: the records rustls's server buffers while it joins a
/// handshake message (0xffff bytes, headers included). A hello that has not ended by then, rustls
/// refuses.
pub(super) const MAX_PEEK: usize = 0xffff;

const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_PRE_SHARED_KEY: u16 = 0x0029;
const NAME_TYPE_HOST_NAME: u8 = 0;

/// What the first bytes of a connection are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Hello {
    /// Not TLS, or a ClientHello rustls's server refuses as malformed or misbehaving.
    NotTls,
    /// A ClientHello, with its SNI if it has one that is a valid meshtls [`ServerName`].
    ClientHello(Option<ServerName>),
}

/// Reads a ClientHello from a connection's first bytes, fed as they arrive.
#[derive(Debug, Default)]
pub(super) struct HelloReader {
    /// Bytes fed so far (at most [`MAX_PEEK`]).
    fed: usize,
    /// The record header being read: `header_len` bytes of it so far.
    header: [u8; RECORD_HEADER_LEN],
    header_len: usize,
    /// Bytes still to come of the current record's fragment; 0 between records.
    fragment_left: usize,
    /// The handshake message so far, its header included.
    message: Vec<u8>,
    /// The message's whole length once its header is in (0 before).
    message_len: usize,
}

impl HelloReader {
    /// Takes the next bytes of the connection. `Some` once there is a verdict (the reader is then
    /// done: feed it no more); `None` while the bytes so far may still be the start of a
    /// ClientHello.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<Hello> {
        let (mut rest, _beyond) = split(bytes, MAX_PEEK.saturating_sub(self.fed));
        self.fed += rest.len();
        while !rest.is_empty() {
            let verdict = if self.fragment_left > 0 {
                self.fragment(&mut rest)
            } else if self.header_len == 0 && self.message_len > 0 {
                self.whole_records(&mut rest)
            } else {
                self.record_header(&mut rest)
            };
            if verdict.is_some() {
                return verdict;
            }
        }
        // rustls stops buffering here: the hello did not end in time.
        (self.fed >= MAX_PEEK).then_some(Hello::NotTls)
    }

    /// Takes the whole records at the start of `rest` in one step each (the same rules as
    /// [`Self::record_header`] and [`Self::fragment`]: the fast path for a hello sent in many
    /// small records), then the start of a partial one.
    fn whole_records(&mut self, rest: &mut &[u8]) -> Option<Hello> {
        while let [typ, v0, v1, l0, l1, ref tail @ ..] = **rest {
            let len = usize::from(u16::from_be_bytes([l0, l1]));
            let Some((fragment, after)) = tail.split_at_checked(len) else {
                break;
            };
            let need = self.message_len - self.message.len();
            if typ != CONTENT_HANDSHAKE
                || !record_version_ok(u16::from_be_bytes([v0, v1]))
                || len == 0
                || len >= MAX_RECORD_LEN
                || len > need
            {
                return Some(Hello::NotTls);
            }
            match *fragment {
                [byte] => self.message.push(byte), // cheaper than a 1-byte copy
                _ => self.message.extend_from_slice(fragment),
            }
            *rest = after;
            if len == need {
                return Some(self.verdict());
            }
        }
        if rest.is_empty() {
            return None;
        }
        self.record_header(rest)
    }

    /// Reads (more of) a record header, refusing each field as soon as it is readable.
    fn record_header(&mut self, rest: &mut &[u8]) -> Option<Hello> {
        let (new, tail) = split(rest, RECORD_HEADER_LEN - self.header_len);
        *rest = tail;
        for (slot, &b) in self.header.iter_mut().skip(self.header_len).zip(new) {
            *slot = b;
        }
        self.header_len += new.len();
        let [typ, v0, v1, l0, l1] = self.header;
        if typ != CONTENT_HANDSHAKE
            || (self.header_len >= 3 && !record_version_ok(u16::from_be_bytes([v0, v1])))
        {
            return Some(Hello::NotTls);
        }
        if self.header_len < RECORD_HEADER_LEN {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        if len == 0 || len >= MAX_RECORD_LEN {
            return Some(Hello::NotTls);
        }
        self.header_len = 0;
        self.fragment_left = len;
        None
    }

    /// Appends (part of) a record's fragment to the message: up to the end of the message's
    /// header, then up to the end of the message.
    fn fragment(&mut self, rest: &mut &[u8]) -> Option<Hello> {
        let want = if self.message_len == 0 {
            HANDSHAKE_HEADER_LEN - self.message.len()
        } else {
            self.message_len - self.message.len()
        };
        let (new, tail) = split(rest, want.min(self.fragment_left));
        *rest = tail;
        self.message.extend_from_slice(new);
        self.fragment_left -= new.len();

        if self.message_len == 0 {
            match *self.message {
                [typ, ..] if typ != HANDSHAKE_CLIENT_HELLO => return Some(Hello::NotTls),
                [_, a, b, c] => {
                    let body_len = (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c);
                    if body_len > MAX_HANDSHAKE_LEN {
                        return Some(Hello::NotTls);
                    }
                    self.message_len = HANDSHAKE_HEADER_LEN + body_len;
                    self.message.reserve_exact(body_len);
                }
                _ => return None,
            }
        }
        if self.message.len() < self.message_len {
            return None;
        }
        // The hello is complete. More handshake bytes in the same record: rustls refuses it.
        if self.fragment_left > 0 {
            return Some(Hello::NotTls);
        }
        Some(self.verdict())
    }

    /// The verdict on the complete message.
    fn verdict(&self) -> Hello {
        let body = self.message.get(HANDSHAKE_HEADER_LEN..).unwrap_or_default();
        match client_hello(body) {
            None | Some(Sni::Invalid) => Hello::NotTls,
            Some(Sni::Absent) => Hello::ClientHello(None),
            Some(Sni::Dns(name)) => Hello::ClientHello(name),
        }
    }
}

/// rustls takes any version `03 XX` and its other named ones: SSLv2 and DTLS 1.0, 1.2, 1.3.
fn record_version_ok(version: u16) -> bool {
    version >> 8 == 3 || matches!(version, 0x0002 | 0xfeff | 0xfefd | 0xfefc)
}

/// `bytes` split after `n` bytes, or not at all if it is shorter.
fn split(bytes: &[u8], n: usize) -> (&[u8], &[u8]) {
    bytes.split_at_checked(n).unwrap_or((bytes, &[]))
}

/// What a well-formed ClientHello says of its server name.
enum Sni {
    /// No server_name extension, or an IP literal in it (which rustls ignores).
    Absent,
    /// A DNS name rustls takes; `None` if it is not a valid meshtls name.
    Dns(Option<ServerName>),
    /// A name rustls refuses, or no host name at all.
    Invalid,
}

/// Parses a complete ClientHello body; `None` if it is malformed.
fn client_hello(body: &[u8]) -> Option<Sni> {
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
