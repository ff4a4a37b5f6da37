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
//!
//! The ClientHello body, once complete, is read by `body.rs`, which lists its rules.

use super::body::{client_hello, Sni};
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
