//! detect against rustls's own server: every case goes to `meshtls::detect::parse_sni`, to
//! `detect()` over an in-memory duplex (whole reads) and over a reader handing out a few bytes (or
//! one) per read, and to rustls 0.23's `rustls::server::Acceptor` (fed with `read_tls`, `accept()`
//! after each read, as a server does); all must reach the same SNI verdict.
//!
//! The verdict rustls's result calls for:
//! - accepted: its `ClientHello::server_name()`, parsed as a meshtls `ServerName` (a name meshtls
//!   does not take, or none, is `NoSni`);
//! - refused (any error but `PeerIncompatible`, and a `read_tls` error: its buffer is full) and
//!   still waiting when the bytes end: `NotTls` (detect sees the end of the stream);
//! - refused as `PeerIncompatible` (no `null` compression, no signature_algorithms): detect's
//!   choice is to read such a hello anyway, so the verdict is rustls's on the same hello with the
//!   missing item put in (the compression byte set to `null` in place, or a signature_algorithms
//!   extension added), which also shows whether rustls would have refused it later for another
//!   reason.
//!
//! The corpus: real hellos from rustls (our provider and *ring*), Go and OpenSSL (captured into
//! `tests/vectors/tls/hello-*.bin`, see SOURCES.md); every truncation of each; each re-framed
//! into 1-byte, 7-byte and random-size records; every single-byte change of some; and hand-made
//! ones for each rule (duplicate extensions, server_name contents, record versions and lengths,
//! other records, sizes at rustls's limits, garbage). Many cases also assert the outcome they were
//! built for, so that the two sides cannot agree on something neither meant.

use std::collections::BTreeMap;
use std::ops::Add;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

mod detect_support;

use detect_support::*;
use meshtls::detect::{detect, parse_sni, Detected, Incomplete};
use meshtls::ServerName;
use rustls::server::Acceptor;
use rustls::{Error, PeerIncompatible};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

const FOO: &str = "foo.ns1.serviceaccount.identity.linkerd.cluster.local";
const BAR: &str = "bar.ns1.serviceaccount.identity.linkerd.cluster.local";
const TIMEOUT: Duration = Duration::from_secs(30);
/// rustls's limits: the longest record, and the most bytes it buffers while joining a message.
const MAX_RECORD: usize = 18_431;
const MAX_JOIN: usize = 0xffff;

fn name(s: &str) -> ServerName {
    s.parse().unwrap()
}

// === the two sides ===

/// What rustls's server made of the bytes.
#[derive(Clone, Debug)]
enum Rustls {
    Accepted(Option<String>),
    Incompatible(PeerIncompatible),
    Refused(String),
    Pending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Accepted,
    Incompatible,
    Refused,
    Pending,
}

impl Rustls {
    fn kind(&self) -> Kind {
        match self {
            Rustls::Accepted(_) => Kind::Accepted,
            Rustls::Incompatible(_) => Kind::Incompatible,
            Rustls::Refused(_) => Kind::Refused,
            Rustls::Pending => Kind::Pending,
        }
    }
}

fn rustls_reads(wire: &[u8]) -> Rustls {
    let mut acceptor = Acceptor::default();
    let mut rest = wire;
    loop {
        match acceptor.accept() {
            Ok(Some(accepted)) => {
                let sni = accepted.client_hello().server_name().map(str::to_string);
                return Rustls::Accepted(sni);
            }
            Ok(None) => {}
            Err((Error::PeerIncompatible(why), _)) => return Rustls::Incompatible(why),
            Err((e, _)) => return Rustls::Refused(e.to_string()),
        }
        if rest.is_empty() {
            return Rustls::Pending;
        }
        if let Err(e) = acceptor.read_tls(&mut rest) {
            return Rustls::Refused(format!("read_tls: {e}"));
        }
    }
}

/// The SNI verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Sni(ServerName),
    NoSni,
    NotTls,
}

impl Verdict {
    fn sni(&self) -> Option<ServerName> {
        match self {
            Verdict::Sni(n) => Some(n.clone()),
            _ => None,
        }
    }
}

/// rustls's result, and the verdict it calls for (see the module docs).
fn rustls_verdict(wire: &[u8]) -> (Rustls, Verdict) {
    let first = rustls_reads(wire);
    let mut result = first.clone();
    let mut wire = wire.to_vec();
    for _ in 0..3 {
        let Rustls::Incompatible(why) = &result else {
            break;
        };
        wire = make_compatible(&wire, why);
        result = rustls_reads(&wire);
    }
    let verdict = match result {
        Rustls::Accepted(Some(sni)) => sni.parse().map_or(Verdict::NoSni, Verdict::Sni),
        Rustls::Accepted(None) => Verdict::NoSni,
        Rustls::Refused(_) | Rustls::Pending => Verdict::NotTls,
        Rustls::Incompatible(why) => panic!("still incompatible after repair: {why:?}"),
    };
    (first, verdict)
}

/// The hello with what rustls found missing put in.
fn make_compatible(wire: &[u8], why: &PeerIncompatible) -> Vec<u8> {
    let offsets = handshake_offsets(wire);
    let message: Vec<u8> = offsets.iter().map(|&i| wire[i]).collect();
    match why {
        PeerIncompatible::NullCompressionRequired => {
            // In place, so that the framing (and whatever rustls checks next) is unchanged.
            let mut at = 4 + 34;
            at += 1 + usize::from(message[at]);
            at += 2 + usize::from(u16::from_be_bytes([message[at], message[at + 1]]));
            let mut wire = wire.to_vec();
            wire[offsets[at + 1]] = 0;
            wire
        }
        PeerIncompatible::SignatureAlgorithmsExtensionRequired => {
            // rustls checks this last: the hello passed every other check, so re-framing is safe.
            let mut hello = Hello::decode(&message);
            hello
                .extensions
                .get_or_insert_with(Vec::new)
                .insert(0, (0x000d, vec![0, 4, 4, 3, 8, 4]));
            hello.wire()
        }
        other => panic!("no repair for {other:?}"),
    }
}

/// A reader handing out at most `max` bytes per read (1 to `max`, varying).
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    max: usize,
    rng: Lcg,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let n = 1 + (this.rng.next() as usize) % this.max;
        let end = (this.at + n.min(buf.remaining())).min(this.bytes.len());
        buf.put_slice(&this.bytes[this.at..end]);
        this.at = end;
        Poll::Ready(Ok(()))
    }
}

fn verdict_of(detected: Detected) -> Verdict {
    match detected {
        Detected::Terminate => Verdict::Sni(name(FOO)),
        Detected::Passthru { sni } => {
            assert_ne!(sni, name(FOO), "Passthru for the local name");
            Verdict::Sni(sni)
        }
        Detected::NoSni => Verdict::NoSni,
        Detected::NotTls => Verdict::NotTls,
        Detected::TimedOut => panic!("timed out on an in-memory stream that ends"),
    }
}

/// detect over an in-memory duplex the whole case was written to (then closed); checks that
/// every byte is still readable after it.
async fn detect_duplex(wire: &[u8]) -> Verdict {
    let (mut client, server) = tokio::io::duplex(wire.len().max(1));
    client.write_all(wire).await.unwrap();
    drop(client);
    let (detected, mut io) = detect(server, &name(FOO), TIMEOUT).await.unwrap();
    assert!(
        io.prefix().len() <= MAX_JOIN,
        "read {} bytes",
        io.prefix().len()
    );
    let mut all = Vec::new();
    io.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, wire, "the bytes after detection");
    verdict_of(detected)
}

async fn detect_trickle(wire: &[u8], max: usize, seed: u64) -> Verdict {
    let io = Trickle {
        bytes: wire.to_vec(),
        at: 0,
        max,
        rng: Lcg(seed),
    };
    let (detected, mut io) = detect(io, &name(FOO), TIMEOUT).await.unwrap();
    let mut all = Vec::new();
    io.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, wire, "the bytes after detection");
    verdict_of(detected)
}

// === the comparison ===

#[derive(Clone, Copy)]
enum Reads {
    /// A few bytes per read (1 to 64), to keep the quadratic families (truncations, mutations)
    /// fast.
    Few,
    /// One byte per read, and a few per read.
    One,
}

struct Differential {
    rt: tokio::runtime::Runtime,
    seed: u64,
    cases: usize,
    by_kind: BTreeMap<Kind, usize>,
    by_family: BTreeMap<&'static str, usize>,
    refusals: BTreeMap<String, usize>,
}

impl Differential {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        Differential {
            rt,
            seed: 1,
            cases: 0,
            by_kind: BTreeMap::new(),
            by_family: BTreeMap::new(),
            refusals: BTreeMap::new(),
        }
    }

    /// One case: every side must reach the verdict rustls calls for. Returns rustls's result
    /// and that verdict.
    fn case(
        &mut self,
        family: &'static str,
        what: &str,
        wire: &[u8],
        reads: Reads,
    ) -> (Kind, Verdict) {
        let (rustls, want) = rustls_verdict(wire);
        let ctx = format!(
            "{family}: {what} ({} bytes; rustls: {rustls:?})",
            wire.len()
        );
        let parsed = parse_sni(wire);
        match rustls {
            // detect may decide before rustls does (see src/detect.rs), never otherwise.
            Rustls::Pending => assert!(
                matches!(parsed, Err(Incomplete) | Ok(None)),
                "{ctx}: parse_sni {parsed:?}"
            ),
            _ => assert_eq!(parsed, Ok(want.sni()), "{ctx}: parse_sni"),
        }
        self.seed += 1;
        let seed = self.seed;
        let (duplex, few, one) = self.rt.block_on(async {
            let one = match reads {
                Reads::One => Some(detect_trickle(wire, 1, seed).await),
                Reads::Few => None,
            };
            (
                detect_duplex(wire).await,
                detect_trickle(wire, 64, seed).await,
                one,
            )
        });
        assert_eq!(duplex, want, "{ctx}: detect over a duplex");
        assert_eq!(few, want, "{ctx}: detect, a few bytes per read");
        if let Some(one) = one {
            assert_eq!(one, want, "{ctx}: detect, one byte per read");
        }
        self.cases += 1;
        *self.by_kind.entry(rustls.kind()).or_default() += 1;
        *self.by_family.entry(family).or_default() += 1;
        if let Rustls::Refused(why) = &rustls {
            // The kind of error, without its details.
            let why = why.split('(').next().unwrap_or_default().trim();
            *self.refusals.entry(why.to_string()).or_default() += 1;
        }
        (rustls.kind(), want)
    }

    /// A case built for a known outcome.
    fn expect(&mut self, family: &'static str, what: &str, wire: &[u8], kind: Kind, want: Verdict) {
        let got = self.case(family, what, wire, Reads::One);
        assert_eq!(
            got,
            (kind, want),
            "{family}: {what}: built for this outcome"
        );
    }

    /// A prefix of a hello rustls would take: every side must still be waiting.
    fn prefix(&mut self, what: &str, wire: &[u8]) {
        let (kind, _) = self.case("truncation", what, wire, Reads::Few);
        assert_eq!(kind, Kind::Pending, "truncation {what}: rustls");
        assert_eq!(
            parse_sni(wire),
            Err(Incomplete),
            "truncation {what}: parse_sni"
        );
    }
}

// === building hellos ===

/// A ClientHello taken apart, to be changed and put together again.
#[derive(Clone)]
struct Hello {
    head: Vec<u8>, // legacy_version and random
    session_id: Vec<u8>,
    suites: Vec<u8>,
    compression: Vec<u8>,
    extensions: Option<Vec<(u16, Vec<u8>)>>,
}

impl Hello {
    /// From a whole handshake message (header included).
    fn decode(message: &[u8]) -> Hello {
        let mut r = &message[4..];
        let mut take = |n: usize| {
            let (a, b) = r.split_at(n);
            r = b;
            a.to_vec()
        };
        let head = take(34);
        let n = take(1)[0];
        let session_id = take(n.into());
        let n = take(2);
        let suites = take(u16::from_be_bytes([n[0], n[1]]).into());
        let n = take(1)[0];
        let compression = take(n.into());
        let extensions = (!r.is_empty()).then(|| {
            let mut exts = &r[2..];
            let mut list = Vec::new();
            while !exts.is_empty() {
                let typ = u16::from_be_bytes([exts[0], exts[1]]);
                let len = usize::from(u16::from_be_bytes([exts[2], exts[3]]));
                list.push((typ, exts[4..4 + len].to_vec()));
                exts = &exts[4 + len..];
            }
            list
        });
        Hello {
            head,
            session_id,
            suites,
            compression,
            extensions,
        }
    }

    fn from_wire(wire: &[u8]) -> Hello {
        Hello::decode(&handshake_message(wire))
    }

    fn body(&self) -> Vec<u8> {
        let mut b = self.head.clone();
        b.push(self.session_id.len() as u8);
        b.extend(&self.session_id);
        b.extend(vec16(&self.suites));
        b.push(self.compression.len() as u8);
        b.extend(&self.compression);
        if let Some(exts) = &self.extensions {
            let mut block = Vec::new();
            for (typ, data) in exts {
                block.extend(typ.to_be_bytes());
                block.extend(vec16(data));
            }
            b.extend(vec16(&block));
        }
        b
    }

    fn message(&self) -> Vec<u8> {
        handshake(1, &self.body())
    }

    fn wire(&self) -> Vec<u8> {
        records(&self.message(), 16_384, [3, 1])
    }

    fn exts(&mut self) -> &mut Vec<(u16, Vec<u8>)> {
        self.extensions.get_or_insert_with(Vec::new)
    }

    fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }

    /// The server_name extension's body replaced (or the extension added first).
    fn sni(self, data: Vec<u8>) -> Self {
        self.with(|h| match h.exts().iter_mut().find(|(t, _)| *t == 0) {
            Some((_, d)) => *d = data,
            None => h.exts().insert(0, (0, data)),
        })
    }

    fn without(self, typ: u16) -> Self {
        self.with(|h| h.exts().retain(|(t, _)| *t != typ))
    }

    /// An extension added before the last one (which may be pre_shared_key).
    fn plus(self, typ: u16, data: Vec<u8>) -> Self {
        self.with(|h| {
            let at = h.exts().len().saturating_sub(1);
            h.exts().insert(at, (typ, data));
        })
    }

    /// Padded (with a padding extension) to a handshake message of exactly `len` bytes.
    fn padded_to(self, len: usize) -> Self {
        let pad = len - self.message().len() - 4;
        self.plus(0x0015, vec![0; pad])
    }
}

fn vec16(b: &[u8]) -> Vec<u8> {
    [&(b.len() as u16).to_be_bytes()[..], b].concat()
}

fn handshake(typ: u8, body: &[u8]) -> Vec<u8> {
    let len = (body.len() as u32).to_be_bytes();
    [&[typ, len[1], len[2], len[3]][..], body].concat()
}

/// `message` framed in handshake records of random sizes from 1 to `max`.
fn random_records(message: &[u8], max: usize, rng: &mut Lcg) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let n = (1 + rng.next() as usize % max).min(rest.len());
        out.extend(record(22, [3, 3], &rest[..n]));
        rest = &rest[n..];
    }
    out
}

/// A server_name extension body holding these entries (name type, name).
fn sni_ext(entries: &[(u8, &[u8])]) -> Vec<u8> {
    let list: Vec<u8> = entries
        .iter()
        .flat_map(|(t, n)| [&[*t][..], &vec16(n)].concat())
        .collect();
    vec16(&list)
}

fn host(n: &str) -> Vec<u8> {
    sni_ext(&[(0, n.as_bytes())])
}

// === the real hellos ===

/// Every real hello, with the verdict it must get.
fn real_hellos() -> Vec<(String, Vec<u8>, Verdict)> {
    let ours = meshtls::provider;
    let ring = || Arc::new(rustls::crypto::ring::default_provider());
    let foo = || Verdict::Sni(name(FOO));
    let upper = FOO.to_uppercase();
    let dot = format!("{FOO}.");
    // (name, provider, SNI, TLS 1.2 only, ALPN, verdict)
    let clients = [
        ("rustls-ours", ours(), Some(FOO), false, false, foo()),
        (
            "rustls-ours-bar",
            ours(),
            Some(BAR),
            false,
            false,
            Verdict::Sni(name(BAR)),
        ),
        (
            "rustls-ours-no-sni",
            ours(),
            None,
            false,
            false,
            Verdict::NoSni,
        ),
        (
            "rustls-ours-ip",
            ours(),
            Some("127.0.0.1"),
            false,
            false,
            Verdict::NoSni,
        ),
        (
            "rustls-ours-tls12-alpn",
            ours(),
            Some(FOO),
            true,
            true,
            foo(),
        ),
        (
            "rustls-ours-upper",
            ours(),
            Some(&upper),
            false,
            false,
            foo(),
        ),
        ("rustls-ours-dot", ours(), Some(&dot), false, false, foo()),
        ("rustls-ring", ring(), Some(FOO), false, true, foo()),
        (
            "rustls-ring-tls12",
            ring(),
            Some(BAR),
            true,
            false,
            Verdict::Sni(name(BAR)),
        ),
    ];
    let mut hellos: Vec<_> = clients
        .into_iter()
        // rustls offers TLS 1.2 only in builds with the `tls12` feature.
        .filter(|(_, _, _, tls12, _, _)| cfg!(feature = "tls12") || !tls12)
        .map(|(what, p, sni, tls12, alpn, want)| {
            (what.to_string(), rustls_hello(p, sni, tls12, alpn), want)
        })
        .collect();
    // Captured once by tests/peers/hello-capture (see tests/vectors/SOURCES.md); every file is read.
    let files = [
        ("go-tls13", foo()),
        ("go-tls12", foo()),
        ("go-alpn-upper-dot", foo()),
        ("go-ip", Verdict::NoSni),
        ("openssl-tls13", foo()),
        ("openssl-tls12", foo()),
        ("openssl-alpn-upper", foo()),
        ("openssl-no-sni", Verdict::NoSni),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/tls");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.starts_with("hello-") && f.ends_with(".bin"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = files
        .iter()
        .map(|(f, _)| format!("hello-{f}.bin"))
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every captured hello is a case");
    for (file, want) in files {
        let wire = std::fs::read(format!("{dir}/hello-{file}.bin")).unwrap();
        hellos.push((file.to_string(), wire, want));
    }
    hellos
}

// === the tests ===

#[test]
fn detect_reads_hellos_as_rustls_does() {
    let mut d = Differential::new();
    let mut rng = Lcg(0xd1ff);
    let hellos = real_hellos();

    for (what, wire, want) in &hellos {
        d.expect("real", what, wire, Kind::Accepted, want.clone());
        // Bytes after the hello (the client's next flight) are not read by either.
        let mut more = wire.clone();
        more.extend(record(20, [3, 3], &[1]));
        more.extend(record(23, [3, 3], &[0; 40]));
        d.expect(
            "real",
            &format!("{what} + more records"),
            &more,
            Kind::Accepted,
            want.clone(),
        );
        for n in 0..wire.len() {
            d.prefix(&format!("{what}[..{n}]"), &wire[..n]);
        }
        let message = handshake_message(wire);
        for size in [1, 7, 100] {
            let split = records(&message, size, [3, 1]);
            d.expect(
                "re-framed",
                &format!("{what} in {size}-byte records"),
                &split,
                Kind::Accepted,
                want.clone(),
            );
        }
        for max in [20, 300] {
            let split = random_records(&message, max, &mut rng);
            d.expect(
                "re-framed",
                &format!("{what} in random records of 1..={max}"),
                &split,
                Kind::Accepted,
                want.clone(),
            );
        }
    }
    // Every truncation of one hello in 1-byte records, and of one in random records.
    let smallest = &hellos.iter().min_by_key(|h| h.1.len()).unwrap().1;
    let message: Vec<u8> = handshake_offsets(smallest)
        .iter()
        .map(|&i| smallest[i])
        .collect();
    for split in [
        records(&message, 1, [3, 3]),
        random_records(&message, 30, &mut rng),
    ] {
        for n in 0..split.len() {
            d.prefix(&format!("re-framed smallest[..{n}]"), &split[..n]);
        }
    }

    // Every single-byte change of four captured ones (so the cases reproduce), length fields included.
    for (what, wire, _) in hellos.iter().filter(|h| {
        [
            "openssl-tls13",
            "openssl-alpn-upper",
            "go-tls12",
            "go-tls13",
        ]
        .contains(&h.0.as_str())
    }) {
        for i in 0..wire.len() {
            for v in [0x00, 0xff, wire[i] ^ 0x01, wire[i].wrapping_add(0x80)] {
                let mut m = wire.clone();
                m[i] = v;
                d.case(
                    "mutation",
                    &format!("{what}[{i}] = {v:#04x}"),
                    &m,
                    Reads::Few,
                );
            }
        }
    }

    hand_made(&mut d, &hellos[0].1);
    garbage(&mut d, &mut rng);

    println!("{} cases", d.cases);
    println!("by rustls's result: {:?}", d.by_kind);
    println!("by family: {:?}", d.by_family);
    println!("rustls's refusals: {:#?}", d.refusals);
    for kind in [
        Kind::Accepted,
        Kind::Incompatible,
        Kind::Refused,
        Kind::Pending,
    ] {
        assert!(
            d.by_kind.get(&kind).copied().unwrap_or(0) > 0,
            "no case where rustls is {kind:?}"
        );
    }
}

/// The cases built for one rule each, on the first rustls hello.
fn hand_made(d: &mut Differential, base: &[u8]) {
    use Kind::*;
    use Verdict::*;
    let base = Hello::from_wire(base);
    let foo = || Sni(name(FOO));
    let mut e = |what: &str, hello: &Hello, kind: Kind, want: Verdict| {
        d.expect("hand-made", what, &hello.wire(), kind, want);
    };

    // server_name
    e("the base hello", &base, Accepted, foo());
    e(
        "two server_name extensions",
        &base.clone().plus(0, host(BAR)),
        Refused,
        NotTls,
    );
    e(
        "the same server_name twice",
        &base.clone().plus(0, host(FOO)),
        Refused,
        NotTls,
    );
    let two = sni_ext(&[(0, FOO.as_bytes()), (0, BAR.as_bytes())]);
    e(
        "two host names in one",
        &base.clone().sni(two),
        Refused,
        NotTls,
    );
    let then_other = sni_ext(&[(0, FOO.as_bytes()), (7, b"whatever")]);
    e(
        "a host name, then another type",
        &base.clone().sni(then_other),
        Accepted,
        foo(),
    );
    let other_first = sni_ext(&[(7, b"x"), (0, FOO.as_bytes())]);
    e(
        "another type, then a host name",
        &base.clone().sni(other_first),
        Refused,
        NotTls,
    );
    e(
        "an empty name list",
        &base.clone().sni(vec16(&[])),
        Refused,
        NotTls,
    );
    e(
        "an empty host name",
        &base.clone().sni(host("")),
        Refused,
        NotTls,
    );
    e(
        "a byte after the list",
        &base.clone().sni([host(FOO), vec![0]].concat()),
        Refused,
        NotTls,
    );
    e(
        "a list longer than the extension",
        &base.clone().sni(host(FOO)[..20].to_vec()),
        Refused,
        NotTls,
    );
    e(
        "an empty extension",
        &base.clone().sni(vec![]),
        Refused,
        NotTls,
    );
    e(
        "a trailing dot",
        &base.clone().sni(host(&format!("{FOO}."))),
        Accepted,
        foo(),
    );
    e(
        "upper case",
        &base.clone().sni(host(&FOO.to_uppercase())),
        Accepted,
        foo(),
    );
    e(
        "mixed case",
        &base.clone().sni(host(
            "Foo.NS1.serviceaccount.identity.linkerd.cluster.local",
        )),
        Accepted,
        foo(),
    );
    e(
        "an IPv4 literal",
        &base.clone().sni(host("10.1.2.3")),
        Accepted,
        NoSni,
    );
    e(
        "an IPv6 literal",
        &base.clone().sni(host("fe80::1")),
        Accepted,
        NoSni,
    );
    e(
        "an underscore (rustls takes it, meshtls does not)",
        &base.clone().sni(host("foo_bar.example.com")),
        Accepted,
        NoSni,
    );
    e(
        "two trailing dots",
        &base.clone().sni(host(&format!("{FOO}.."))),
        Refused,
        NotTls,
    );
    for bad in [
        "foo bar.example",
        "-foo.example",
        "a..b",
        "foo.123",
        ".",
        "\u{e9}t\u{e9}.example",
    ] {
        e(
            &format!("an invalid name {bad:?}"),
            &base.clone().sni(host(bad)),
            Refused,
            NotTls,
        );
    }
    e(
        "a name of 254 bytes",
        &base.clone().sni(host(
            &[&"a".repeat(63)[..]; 3]
                .join(".")
                .add(".")
                .add(&"b".repeat(62)),
        )),
        Refused,
        NotTls,
    );
    e(
        "a name that is not UTF-8",
        &base.clone().sni(sni_ext(&[(0, b"f\xffo.example")])),
        Refused,
        NotTls,
    );
    e("no server_name", &base.clone().without(0), Accepted, NoSni);

    // other extensions
    let groups = base.exts_of(0x000a);
    e(
        "supported_groups twice",
        &base.clone().plus(0x000a, groups),
        Refused,
        NotTls,
    );
    e(
        "an unknown extension twice",
        &base.clone().plus(0x1234, vec![1]).plus(0x1234, vec![]),
        Refused,
        NotTls,
    );
    e(
        "padding twice",
        &base.clone().plus(0x0015, vec![0; 3]).plus(0x0015, vec![0]),
        Refused,
        NotTls,
    );
    e(
        "an unknown extension",
        &base.clone().plus(0x1234, vec![1, 2, 3]),
        Accepted,
        foo(),
    );
    let psk = [
        vec16(&[vec16(&[0xaa]), vec![0; 4]].concat()),
        vec16(&[&[32u8][..], &[0; 32]].concat()),
    ]
    .concat();
    e(
        "pre_shared_key last",
        &base.clone().with(|h| h.exts().push((0x0029, psk.clone()))),
        Accepted,
        foo(),
    );
    e(
        "pre_shared_key not last",
        &base
            .clone()
            .with(|h| h.exts().insert(1, (0x0029, psk.clone()))),
        Refused,
        NotTls,
    );
    let malformed: [(&str, u16, Vec<u8>); 14] = [
        ("supported_versions empty", 0x002b, vec![0]),
        ("supported_versions odd", 0x002b, vec![3, 3, 4, 3]),
        (
            "key_share with an empty key",
            0x0033,
            vec16(&[0, 0x1d, 0, 0]),
        ),
        ("ALPN with an empty protocol", 0x0010, vec16(&[0])),
        ("extended_master_secret with a body", 0x0017, vec![0]),
        ("ticket_request of 3 bytes", 0x003a, vec![1, 1, 1]),
        ("ECH of type 2", 0xfe0d, vec![2]),
        ("ECH inner with a body", 0xfe0d, vec![1, 0]),
        (
            "ECH outer with an empty payload",
            0xfe0d,
            [&[0u8, 0, 1, 0, 1, 7][..], &vec16(&[1]), &vec16(&[])].concat(),
        ),
        ("status_request OCSP cut short", 0x0005, vec![1, 0, 0]),
        ("cookie empty", 0x002c, vec16(&[])),
        ("ec_point_formats empty", 0x000b, vec![0]),
        (
            "certificate_authorities with an empty name",
            0x002f,
            vec16(&vec16(&[])),
        ),
        ("renegotiation_info too long", 0xff01, vec![2, 0]),
    ];
    for (what, typ, data) in malformed {
        e(
            what,
            &base.clone().without(typ).plus(typ, data),
            Refused,
            NotTls,
        );
    }
    let well_formed: [(&str, u16, Vec<u8>); 6] = [
        ("status_request of another type", 0x0005, vec![2, 9, 9, 9]),
        (
            "status_request OCSP",
            0x0005,
            [vec![1], vec16(&vec16(&[1, 2])), vec16(&[])].concat(),
        ),
        ("session_ticket with a ticket", 0x0023, vec![7; 20]),
        ("ECH inner", 0xfe0d, vec![1]),
        (
            "ECH outer",
            0xfe0d,
            [&[0u8, 0, 1, 0, 1, 7][..], &vec16(&[]), &vec16(&[5; 16])].concat(),
        ),
        ("key_share empty", 0x0033, vec16(&[])),
    ];
    for (what, typ, data) in well_formed {
        e(
            what,
            &base.clone().without(typ).plus(typ, data),
            Accepted,
            foo(),
        );
    }

    // the body
    let with = |f: fn(&mut Hello)| base.clone().with(f);
    e(
        "a session id of 32 bytes",
        &with(|h| h.session_id = vec![1; 32]),
        Accepted,
        foo(),
    );
    e(
        "a session id of 33 bytes",
        &with(|h| h.session_id = vec![1; 33]),
        Refused,
        NotTls,
    );
    e(
        "no cipher suites",
        &with(|h| h.suites.clear()),
        Refused,
        NotTls,
    );
    e(
        "an odd cipher suite list",
        &with(|h| h.suites.push(0)),
        Refused,
        NotTls,
    );
    e(
        "no compression methods",
        &with(|h| h.compression.clear()),
        Refused,
        NotTls,
    );
    // PeerIncompatible: detect reads these (see src/detect.rs).
    e(
        "no null compression",
        &with(|h| h.compression = vec![1]),
        Incompatible,
        foo(),
    );
    e(
        "no signature_algorithms",
        &base.clone().without(0x000d),
        Incompatible,
        foo(),
    );
    e(
        "neither",
        &base
            .clone()
            .without(0x000d)
            .with(|h| h.compression = vec![1]),
        Incompatible,
        foo(),
    );
    e(
        "no null compression, an invalid name",
        &with(|h| h.compression = vec![1]).sni(host("foo bar")),
        Incompatible,
        NotTls,
    );
    e(
        "no extensions block",
        &with(|h| h.extensions = None),
        Incompatible,
        NoSni,
    );
    e(
        "an empty extensions block",
        &with(|h| h.extensions = Some(vec![])),
        Incompatible,
        NoSni,
    );
    let body = base.body();
    let mut e = |what: &str, wire: Vec<u8>, kind: Kind, want: Verdict| {
        d.expect("hand-made", what, &wire, kind, want);
    };
    e(
        "a byte after the extensions",
        records(&handshake(1, &[&body[..], &[0]].concat()), 16_384, [3, 1]),
        Refused,
        NotTls,
    );
    e(
        "an extensions block longer than the body",
        records(&handshake(1, &body[..body.len() - 1]), 16_384, [3, 1]),
        Refused,
        NotTls,
    );
    e(
        "an empty ClientHello",
        records(&handshake(1, &[]), 16_384, [3, 1]),
        Refused,
        NotTls,
    );

    // the handshake layer
    let message = base.message();
    let hs = |fragment: &[u8]| record(22, [3, 1], fragment);
    e("a ServerHello", hs(&handshake(2, &body)), Refused, NotTls);
    e(
        "a HelloRequest first",
        [hs(&handshake(0, &[])), base.wire()].concat(),
        Refused,
        NotTls,
    );
    e(
        "a message of 0x10000 bytes",
        hs(&[1, 1, 0, 0, 0]),
        Refused,
        NotTls,
    );
    e(
        "more handshake in the hello's record",
        hs(&[&message[..], &[0]].concat()),
        Refused,
        NotTls,
    );
    e(
        "a whole message after it, same record",
        hs(&[&message[..], &handshake(0, &[])].concat()),
        Refused,
        NotTls,
    );
    e(
        "a whole message after it, next record",
        [base.wire(), hs(&handshake(0, &[]))].concat(),
        Accepted,
        foo(),
    );
    e(
        "no null compression and more in the record",
        hs(&[&with(|h| h.compression = vec![1]).message()[..], &[0]].concat()),
        Incompatible,
        NotTls,
    );

    // records
    for (v, ok) in [
        ([0x00, 0x02], true),
        ([0x03, 0x00], true),
        ([0x03, 0x03], true),
        ([0x03, 0x05], true),
        ([0x03, 0xff], true),
        ([0xfe, 0xff], true),
        ([0xfe, 0xfd], true),
        ([0xfe, 0xfc], true),
        ([0x02, 0x00], false),
        ([0x00, 0x00], false),
        ([0x01, 0x00], false),
        ([0x04, 0x03], false),
        ([0xfe, 0xfe], false),
        ([0x00, 0x03], false),
    ] {
        let (kind, want) = if ok {
            (Accepted, foo())
        } else {
            (Refused, NotTls)
        };
        e(
            &format!("record version {v:02x?}"),
            records(&message, 16_384, v),
            kind,
            want.clone(),
        );
        let later = [
            records(&message[..50], 50, [3, 1]),
            records(&message[50..], 16_384, v),
        ]
        .concat();
        e(
            &format!("record version {v:02x?}, second record"),
            later,
            kind,
            want,
        );
    }
    let zero = record(22, [3, 1], &[]);
    e(
        "an empty handshake record first",
        [zero.clone(), base.wire()].concat(),
        Refused,
        NotTls,
    );
    e(
        "an empty handshake record between",
        [
            records(&message[..50], 50, [3, 1]),
            zero,
            records(&message[50..], 100, [3, 1]),
        ]
        .concat(),
        Refused,
        NotTls,
    );
    e(
        "an empty application data record first",
        [record(23, [3, 3], &[]), base.wire()].concat(),
        Refused,
        NotTls,
    );
    for (typ, what) in [
        (20, "change_cipher_spec"),
        (21, "alert"),
        (23, "application_data"),
        (24, "heartbeat"),
        (25, "unknown type 25"),
        (0, "type 0"),
    ] {
        e(
            &format!("a {what} record first"),
            [record(typ, [3, 3], &[1, 0]), base.wire()].concat(),
            Refused,
            NotTls,
        );
        let between = [
            records(&message[..50], 50, [3, 1]),
            record(typ, [3, 3], &[1]),
            records(&message[50..], 100, [3, 1]),
        ]
        .concat();
        e(
            &format!("a {what} record between"),
            between,
            Refused,
            NotTls,
        );
    }
    for (len, ok) in [
        (16_384, true),
        (16_385, true),
        (MAX_RECORD, true),
        (MAX_RECORD + 1, false),
    ] {
        let (kind, want) = if ok {
            (Accepted, foo())
        } else {
            (Refused, NotTls)
        };
        let wire = records(
            &base.clone().padded_to(len).message(),
            MAX_RECORD + 1,
            [3, 3],
        );
        e(&format!("one record of {len} bytes"), wire, kind, want);
    }

    // sizes at rustls's 0xffff-byte buffer: 4 records of 16 KiB, or 1-byte records
    for (len, size) in [(MAX_JOIN - 20, 16_384), (MAX_JOIN / 6, 1)] {
        for (len, kind, want) in [(len, Accepted, foo()), (len + 1, Refused, NotTls)] {
            let wire = records(&base.clone().padded_to(len).message(), size, [3, 3]);
            e(
                &format!(
                    "a {len}-byte hello in {size}-byte records ({} bytes)",
                    wire.len()
                ),
                wire,
                kind,
                want,
            );
        }
    }
    let huge = records(
        &base.clone().padded_to(MAX_JOIN + 4).message(),
        16_384,
        [3, 3],
    );
    e("a hello of 0xffff + 4 bytes", huge, Refused, NotTls);
}

impl Hello {
    fn exts_of(&self, typ: u16) -> Vec<u8> {
        let exts = self.extensions.as_ref().unwrap();
        exts.iter().find(|(t, _)| *t == typ).unwrap().1.clone()
    }
}

/// Random bytes, some framed as handshake records, and plaintext.
fn garbage(d: &mut Differential, rng: &mut Lcg) {
    for plain in [
        &b"GET / HTTP/1.1\r\nHost: foo\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x00",
        b"SSH-2.0-OpenSSH_9.6\r\n",
    ] {
        d.expect(
            "garbage",
            &format!("{:?}", String::from_utf8_lossy(plain)),
            plain,
            Kind::Refused,
            Verdict::NotTls,
        );
    }
    for i in 0..3000 {
        let len = (rng.next() % 400) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 3 == 0 && len >= 9 {
            let n = (len - 5) as u16;
            bytes[..5].copy_from_slice(&[22, 3, 1, (n >> 8) as u8, n as u8]);
            bytes[5] = 1;
        }
        d.case("garbage", &format!("random #{i}"), &bytes, Reads::Few);
    }
}
