// go-peer: a Go crypto/tls TLS 1.3 peer for meshtls's interop tests (tests/go_interop.rs, and
// in FIPS 140-3 mode tests/go_fips.rs).
//
// Standard library only, so building it never needs the network. Both modes use mutual
// authentication and check the peer's identity (a DNS or URI SAN of its leaf, given by flag) the
// way a mesh proxy does, inside the handshake (tls.Config.VerifyConnection), so a wrong identity
// aborts the handshake with an alert.
//
// Output is line-oriented on stdout (one line each, flushed):
//
//	LISTENING <ip:port>                                  (server, once listening)
//	RESULT version=.. suite=.. group=.. hrr=.. fips140=.. module=.. peer_id=dns:..|uri:.. line=..
//	ERROR <message>                                      (then exit status 1)
//
// group is Go's name of the negotiated key exchange (tls.CurveID.String(), e.g. CurveP256,
// SecP256r1MLKEM768), hrr whether a HelloRetryRequest was sent or received, fips140 the FIPS 140-3
// mode of the Go Cryptographic Module (off, on, or only: see crypto/fips140) and module its version
// (crypto/fips140.Version(): "latest" for the standard library's own tree, "v1.0.0" when built
// with GOFIPS140=v1.0.0).
//
// The exchange: the client sends one line, the server answers "echo:<line>" and closes.
package main

import (
	"bufio"
	"crypto/fips140"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"time"
)

const usage = `usage:
  go-peer server -cert chain.pem -key key.pem -roots roots.pem (-expect-dns NAME | -expect-uri URI)
                 [-listen 127.0.0.1:0] [-curves CurveP256,SecP256r1MLKEM768] [-timeout 20s]
  go-peer client -connect ip:port -sni NAME -cert chain.pem -key key.pem -roots roots.pem
                 (-expect-dns NAME | -expect-uri URI) [-message text] [-curves CurveP384] [-timeout 20s]
                 [-ignore-ca-hints]
  go-peer version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "version":
		fmt.Printf("go-peer %s crypto/tls %s/%s fips140=%s module=%s\n",
			runtime.Version(), runtime.GOOS, runtime.GOARCH, fipsMode(), fips140.Version())
		return
	case "server":
		err = server(os.Args[2:])
	case "client":
		err = client(os.Args[2:])
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		emit("ERROR " + oneLine(err.Error()))
		os.Exit(1)
	}
}

func emit(line string) {
	fmt.Fprintln(os.Stdout, line)
	os.Stdout.Sync()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// common holds the flags both modes share.
type common struct {
	cert, key, roots, expectDNS, expectURI, curves string
	timeout                                        time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.cert, "cert", "", "PEM chain to present (leaf first)")
	fs.StringVar(&c.key, "key", "", "PEM private key of the leaf")
	fs.StringVar(&c.roots, "roots", "", "PEM trust anchors for the peer's chain")
	fs.StringVar(&c.expectDNS, "expect-dns", "", "the peer leaf must carry this DNS SAN")
	fs.StringVar(&c.expectURI, "expect-uri", "", "the peer leaf must carry this URI SAN")
	fs.StringVar(&c.curves, "curves", "", "restrict key exchange to these groups, by Go's names (see groups)")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Second, "deadline for the whole exchange")
}

// config builds the shared part of tls.Config: TLS 1.3 only, our certificate, curves.
func (c *common) config() (*tls.Config, *x509.CertPool, error) {
	if c.cert == "" || c.key == "" || c.roots == "" {
		return nil, nil, errors.New("-cert, -key and -roots are required")
	}
	if (c.expectDNS == "") == (c.expectURI == "") {
		return nil, nil, errors.New("give exactly one of -expect-dns and -expect-uri")
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s / %s: %w", c.cert, c.key, err)
	}
	pem, err := os.ReadFile(c.roots)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("no certificates in %s", c.roots)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
	}
	if c.curves != "" {
		for _, name := range strings.Split(c.curves, ",") {
			id, err := group(name)
			if err != nil {
				return nil, nil, err
			}
			cfg.CurvePreferences = append(cfg.CurvePreferences, id)
		}
	}
	return cfg, roots, nil
}

// groups are the key exchanges -curves can name. Go's order of preference is its own and fixed
// (CurvePreferences only filters it), and in FIPS 140-3 mode crypto/tls drops X25519 from it.
var groups = []tls.CurveID{
	tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024,
	tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521,
}

// group looks up a key exchange by Go's name for it (tls.CurveID.String()).
func group(name string) (tls.CurveID, error) {
	for _, id := range groups {
		if id.String() == name {
			return id, nil
		}
	}
	return 0, fmt.Errorf("-curves: unknown group %q (known: %v)", name, groups)
}

// fipsMode names the FIPS 140-3 mode the fips140 GODEBUG setting (or GOFIPS140) put us in.
func fipsMode() string {
	switch {
	case fips140.Enforced():
		return "only"
	case fips140.Enabled():
		return "on"
	}
	return "off"
}

// identity checks that the peer's leaf carries the expected DNS or URI SAN and names it.
func (c *common) identity(leaf *x509.Certificate) (string, error) {
	if c.expectDNS != "" {
		for _, name := range leaf.DNSNames {
			if name == c.expectDNS {
				return "dns:" + name, nil
			}
		}
		return "", fmt.Errorf("identity: peer leaf has DNS SANs %v, expected %q", leaf.DNSNames, c.expectDNS)
	}
	var uris []string
	for _, u := range leaf.URIs {
		if u.String() == c.expectURI {
			return "uri:" + u.String(), nil
		}
		uris = append(uris, u.String())
	}
	return "", fmt.Errorf("identity: peer leaf has URI SANs %v, expected %q", uris, c.expectURI)
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return fmt.Sprintf("0x%04x", v)
}

// result is the RESULT line: what was negotiated, the module's mode, and what was exchanged.
// Go's TLS 1.3 suites are not configurable (tls.Config.CipherSuites is for TLS 1.0-1.2 only), so
// the suite reported is whatever Go agreed to: AES-GCM first with AES hardware, and in FIPS 140-3
// mode only TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384.
func result(cs tls.ConnectionState, peerID, line string) string {
	return fmt.Sprintf("RESULT version=%s suite=%s group=%s hrr=%t fips140=%s module=%s peer_id=%s line=%s",
		versionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), cs.CurveID, cs.HelloRetryRequest,
		fipsMode(), fips140.Version(), peerID, line)
}

func server(args []string) error {
	var c common
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	c.register(fs)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (one connection)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, roots, err := c.config()
	if err != nil {
		return err
	}
	// Go verifies the client's chain (clientAuth usage) against -roots; the identity is ours to check.
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = roots
	var peerID string
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		id, err := c.identity(cs.PeerCertificates[0])
		peerID = id
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	emit("LISTENING " + ln.Addr().String())
	deadline := time.Now().Add(c.timeout)
	if err := ln.(*net.TCPListener).SetDeadline(deadline); err != nil {
		return err
	}
	raw, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	conn := tls.Server(raw, cfg)
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	if err := conn.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	if _, err := fmt.Fprintf(conn, "echo:%s\n", line); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	emit(result(conn.ConnectionState(), peerID, line))
	return nil
}

func client(args []string) error {
	var c common
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	c.register(fs)
	connect := fs.String("connect", "", "server address ip:port")
	sni := fs.String("sni", "", "server name to send (SNI)")
	message := fs.String("message", "hello", "the line to send")
	ignoreHints := fs.Bool("ignore-ca-hints", false,
		"present -cert even if its issuer is not among the CAs the server asks for (Go sends no certificate then)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *connect == "" || *sni == "" {
		return errors.New("-connect and -sni are required")
	}
	cfg, roots, err := c.config()
	if err != nil {
		return err
	}
	// A SPIFFE server has no DNS name to match the SNI against, so the chain is verified here, in
	// VerifyConnection (serverAuth usage, against -roots), followed by the identity check.
	if *ignoreHints {
		pair := cfg.Certificates[0]
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &pair, nil
		}
	}
	cfg.ServerName = *sni
	cfg.InsecureSkipVerify = true
	var peerID string
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		inter := x509.NewCertPool()
		for _, cert := range cs.PeerCertificates[1:] {
			inter.AddCert(cert)
		}
		opts := x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
			return err
		}
		id, err := c.identity(cs.PeerCertificates[0])
		peerID = id
		return err
	}

	dialer := net.Dialer{Timeout: c.timeout}
	raw, err := dialer.Dial("tcp", *connect)
	if err != nil {
		return err
	}
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	if err := conn.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "%s\n", *message); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	// In TLS 1.3 a server that refuses our certificate says so after our Finished: it shows here.
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	emit(result(conn.ConnectionState(), peerID, strings.TrimSuffix(line, "\n")))
	return nil
}
