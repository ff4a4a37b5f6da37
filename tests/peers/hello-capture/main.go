// hello-capture: writes the first flight (the ClientHello records) of Go's crypto/tls client and of
// `openssl s_client` to tests/vectors/tls/hello-*.bin, for tests/detect_differential.rs.
//
// Run once, offline (standard library only), from this folder:
//
//	GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false go run . ../../vectors/tls
//
// Each capture reads records off the client's connection until its first handshake message is
// complete, writes exactly those bytes, and closes the connection. The files hold random values
// (client random, key shares), so a new run writes other bytes of the same shape; the test reads
// the files, not this program.
package main

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const foo = "foo.ns1.serviceaccount.identity.linkerd.cluster.local"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hello-capture OUT_DIR")
		os.Exit(2)
	}
	out := os.Args[1]
	goHellos := []struct {
		name string
		cfg  *tls.Config
	}{
		{"go-tls13", &tls.Config{ServerName: foo}},
		{"go-tls12", &tls.Config{ServerName: foo, MaxVersion: tls.VersionTLS12}},
		{"go-alpn-upper-dot", &tls.Config{ServerName: "FOO.ns1.serviceaccount.identity.linkerd.cluster.local.", NextProtos: []string{"h2", "http/1.1"}}},
		{"go-ip", &tls.Config{ServerName: "127.0.0.1"}},
	}
	for _, h := range goHellos {
		hello, err := captureGo(h.cfg)
		check(h.name, err)
		write(out, h.name, hello)
	}
	opensslHellos := []struct {
		name string
		args []string
	}{
		{"openssl-tls13", []string{"-servername", foo}},
		{"openssl-tls12", []string{"-servername", foo, "-tls1_2"}},
		{"openssl-alpn-upper", []string{"-servername", "Foo.NS1.serviceaccount.identity.linkerd.cluster.local", "-alpn", "h2,http/1.1"}},
		{"openssl-no-sni", []string{"-noservername"}},
	}
	for _, h := range opensslHellos {
		hello, err := captureOpenssl(h.args)
		check(h.name, err)
		write(out, h.name, hello)
	}
}

func check(name string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func write(dir, name string, hello []byte) {
	path := filepath.Join(dir, "hello-"+name+".bin")
	check(name, os.WriteFile(path, hello, 0o644))
	fmt.Printf("%s: %d bytes\n", path, len(hello))
}

// captureGo runs a crypto/tls client handshake over an in-memory pipe and returns its first flight.
func captureGo(cfg *tls.Config) ([]byte, error) {
	client, server := net.Pipe()
	defer server.Close()
	go func() {
		_ = tls.Client(client, cfg).Handshake()
		client.Close()
	}()
	return firstFlight(server)
}

// captureOpenssl runs `openssl s_client` against a local listener and returns its first flight.
func captureOpenssl(args []string) ([]byte, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	cmd := exec.Command("openssl", append([]string{"s_client", "-connect", ln.Addr().String()}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	conn, err := ln.Accept()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return firstFlight(conn)
}

// firstFlight reads whole TLS records until the first handshake message in them is complete.
func firstFlight(conn net.Conn) ([]byte, error) {
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	var wire, handshake []byte
	for {
		header := make([]byte, 5)
		if _, err := io.ReadFull(conn, header); err != nil {
			return nil, err
		}
		if header[0] != 22 {
			return nil, fmt.Errorf("record of content type %d before the hello ended", header[0])
		}
		fragment := make([]byte, binary.BigEndian.Uint16(header[3:]))
		if _, err := io.ReadFull(conn, fragment); err != nil {
			return nil, err
		}
		wire = append(append(wire, header...), fragment...)
		handshake = append(handshake, fragment...)
		if len(handshake) >= 4 {
			n := int(handshake[1])<<16 | int(handshake[2])<<8 | int(handshake[3])
			if len(handshake) == 4+n {
				return wire, nil
			}
			if len(handshake) > 4+n {
				return nil, errors.New("the hello's last record holds more than the hello")
			}
		}
	}
}
