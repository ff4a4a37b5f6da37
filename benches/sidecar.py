#!/usr/bin/env python3
"""`meshtls proxy` against the sidecars people run: stunnel4 and nginx's stream module.

Each implementation runs as a two-sided sidecar pair on loopback with the same certificates and
mutual TLS (client identity bar-ca1, server identity foo-ca1, roots from certs/), on the same
TLS 1.3 parameters (P-256 key exchange, TLS_AES_128_GCM_SHA256, no resumption on any side):

    wrk -> client-side sidecar (plain) -> mTLS -> server-side sidecar -> nginx backend (plain)

`wrk` (one thread, 8 connections) drives two workloads through each pair:
- `new-conn`: a small response on a new connection per request (`Connection: close`), so each
  request is a full mTLS handshake on both sidecars;
- `keepalive-64k`: 64 KiB responses over kept-alive connections, the data path.

The figure that holds on a shared 2-core host is the CPU time of the sidecar pair per request
(user + system, from /proc/<pid>/stat of each sidecar's processes, before and after the run); the
request rate is printed too. Rounds are interleaved (every implementation once per round), and
each figure is the median of the rounds with its spread (min-max). Nothing here asserts on time.

Needs: Debian's nginx-light (or nginx) with libnginx-mod-stream, stunnel4 and wrk
(`apt-get install -y nginx-light libnginx-mod-stream stunnel4 wrk`), and a Rust toolchain able
to build the FIPS module (see README). Run from the repository root:

    python3 benches/sidecar.py [--rounds 5] [--seconds 5]
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CERTS = os.path.join(ROOT, "certs")
SERVER_ID = "foo.ns1.serviceaccount.identity.linkerd.cluster.local"
CLIENT_ID = "bar.ns1.serviceaccount.identity.linkerd.cluster.local"
NGINX_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so"
TICKS = os.sysconf("SC_CLK_TCK")


def cert(name):
    return os.path.join(CERTS, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"error: {what} exited ({proc.returncode}) before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"error: {what} is not listening on {port} after {timeout}s")


def cpu_seconds(pid):
    """User + system CPU of `pid` and all its descendants (nginx's workers)."""
    pids = [pid]
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except OSError:
                continue
    total = 0
    while pids:
        p = pids.pop()
        pids.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / TICKS


def build_meshtls(work):
    """The release `meshtls` binary of the default and of the regulated build, copied to `work`."""
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binaries = {}
    for name, features in [
        ("meshtls-default", []),
        ("meshtls-fips", ["--no-default-features", "--features", "fips,cli"]),
    ]:
        subprocess.run(
            ["cargo", "build", "--locked", "--release", "--quiet", "--bin", "meshtls"] + features,
            cwd=ROOT,
            check=True,
        )
        path = os.path.join(work, name)
        shutil.copy(os.path.join(target, "release", "meshtls"), path)
        binaries[name] = path
    return binaries


class Pair:
    """A sidecar pair: processes started, the client side's plain port."""

    def __init__(self, name, procs, port):
        self.name, self.procs, self.port = name, procs, port

    def cpu(self):
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def start(cmd, log, what, port):
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    wait_listening(port, proc, what)
    return proc


def meshtls_pair(binary, name, backend, work):
    log = open(os.path.join(work, f"{name}.log"), "w")
    tls, plain = free_port(), free_port()
    common = [
        "--groups", "secp256r1", "--suites", "TLS_AES_128_GCM_SHA256", "--log-level", "warn",
        "--roots", cert("roots.pem"),
    ]
    server = start(
        [binary, "proxy", "server", "--listen", f"127.0.0.1:{tls}",
         "--target", f"127.0.0.1:{backend}", "--id", SERVER_ID,
         "--cert", cert("foo-ca1.chain.pem"), "--key", cert("foo-ca1.key.pem")] + common,
        log, f"{name} server", tls)
    client = start(
        [binary, "proxy", "client", "--listen", f"127.0.0.1:{plain}",
         "--target", f"127.0.0.1:{tls}", "--server-id", SERVER_ID, "--server-name", SERVER_ID,
         "--id", CLIENT_ID, "--cert", cert("bar-ca1.chain.pem"),
         "--key", cert("bar-ca1.key.pem")] + common,
        log, f"{name} client", plain)
    return Pair(name, [server, client], plain)


def stunnel_pair(backend, work):
    log = open(os.path.join(work, "stunnel.log"), "w")
    tls, plain = free_port(), free_port()
    common = (
        "foreground = yes\ndebug = 3\nsyslog = no\n"
        "sslVersionMin = TLSv1.3\nciphersuites = TLS_AES_128_GCM_SHA256\ncurves = P-256\n"
        f"CAfile = {cert('roots.pem')}\nverifyChain = yes\nsessionResume = no\n"
        "options = NO_TICKET\n"
    )
    procs = []
    for side, conf in [
        ("server", f"[server]\naccept = 127.0.0.1:{tls}\nconnect = 127.0.0.1:{backend}\n"
                   f"cert = {cert('foo-ca1.chain.pem')}\nkey = {cert('foo-ca1.key.pem')}\n"
                   "requireCert = yes\n"),
        ("client", f"[client]\nclient = yes\naccept = 127.0.0.1:{plain}\n"
                   f"connect = 127.0.0.1:{tls}\ncert = {cert('bar-ca1.chain.pem')}\n"
                   f"key = {cert('bar-ca1.key.pem')}\ncheckHost = {SERVER_ID}\n"
                   f"sni = {SERVER_ID}\n"),
    ]:
        path = os.path.join(work, f"stunnel-{side}.conf")
        with open(path, "w") as f:
            f.write(f"pid = {work}/stunnel-{side}.pid\n" + common + conf)
        port = tls if side == "server" else plain
        procs.append(start(["stunnel4", path], log, f"stunnel {side}", port))
    return Pair("stunnel", procs, plain)


def nginx_conf(work, name, body):
    prefix = os.path.join(work, name)
    os.makedirs(prefix, exist_ok=True)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(
            f"load_module {NGINX_STREAM};\n" if "stream" in body else ""
        )
        f.write(
            "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root;\n"
            f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
            "events { worker_connections 4096; }\n" + body
        )
    return ["nginx", "-p", prefix, "-c", path]


def nginx_pair(backend, work):
    log = open(os.path.join(work, "nginx-pair.log"), "w")
    tls, plain = free_port(), free_port()
    tls13 = ("ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256; "
             "ssl_conf_command Groups P-256;")
    server = nginx_conf(work, "nginx-server", f"""stream {{ server {{
    listen 127.0.0.1:{tls} ssl; proxy_pass 127.0.0.1:{backend};
    ssl_certificate {cert('foo-ca1.chain.pem')}; ssl_certificate_key {cert('foo-ca1.key.pem')};
    ssl_client_certificate {cert('roots.pem')}; ssl_verify_client on;
    ssl_session_tickets off; ssl_session_cache off; {tls13}
}} }}
""")
    client = nginx_conf(work, "nginx-client", f"""stream {{ server {{
    listen 127.0.0.1:{plain}; proxy_pass 127.0.0.1:{tls};
    proxy_ssl on; proxy_ssl_session_reuse off;
    proxy_ssl_certificate {cert('bar-ca1.chain.pem')};
    proxy_ssl_certificate_key {cert('bar-ca1.key.pem')};
    proxy_ssl_trusted_certificate {cert('roots.pem')}; proxy_ssl_verify on;
    proxy_ssl_name {SERVER_ID}; proxy_ssl_server_name on;
    {tls13.replace('ssl_', 'proxy_ssl_')}
}} }}
""")
    procs = [start(server, log, "nginx server", tls), start(client, log, "nginx client", plain)]
    return Pair("nginx", procs, plain)


def backend(work):
    root = os.path.join(work, "www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "64k"), "wb") as f:
        f.write(os.urandom(64 * 1024))
    with open(os.path.join(root, "small"), "wb") as f:
        f.write(b"ok\n")
    port = free_port()
    cmd = nginx_conf(work, "backend", f"""http {{ access_log off;
    server {{ listen 127.0.0.1:{port}; root {root}; keepalive_requests 1000000; }} }}
""")
    log = open(os.path.join(work, "backend.log"), "w")
    return start(cmd, log, "nginx backend", port), port


def wrk(port, workload, seconds):
    path, extra = {"new-conn": ("small", ["-H", "Connection: close"]),
                   "keepalive-64k": ("64k", [])}[workload]
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s"] + extra + [f"http://127.0.0.1:{port}/{path}"],
        capture_output=True, text=True, check=True,
    ).stdout
    requests, errors = None, 0
    for line in out.splitlines():
        words = line.split()
        if "requests in" in line:
            requests = int(words[0])
        if line.strip().startswith("Socket errors") or "Non-2xx" in line:
            errors += sum(int(w.strip(",")) for w in words if w.strip(",").isdigit())
    if requests is None:
        sys.exit(f"error: cannot read wrk's output:\n{out}")
    return requests, errors


def spread(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    for tool in ["nginx", "stunnel4", "wrk", "cargo"]:
        if shutil.which(tool) is None:
            sys.exit(f"error: '{tool}' is needed (see this script's docstring)")
    if not os.path.exists(NGINX_STREAM):
        sys.exit(f"error: {NGINX_STREAM} is missing (apt-get install -y libnginx-mod-stream)")

    work = tempfile.mkdtemp(prefix="meshtls-sidecar-")
    binaries = build_meshtls(work)
    back, back_port = backend(work)
    pairs = [
        meshtls_pair(binaries["meshtls-default"], "meshtls-default", back_port, work),
        meshtls_pair(binaries["meshtls-fips"], "meshtls-fips", back_port, work),
        stunnel_pair(back_port, work),
        nginx_pair(back_port, work),
    ]
    workloads = ["new-conn", "keepalive-64k"]
    results = {(p.name, w): [] for p in pairs for w in workloads}
    try:
        for pair in pairs:  # warm-up, and a check that each pair serves
            for w in workloads:
                requests, errors = wrk(pair.port, w, 1)
                if requests == 0 or errors:
                    sys.exit(f"error: {pair.name} {w}: {requests} requests, {errors} errors"
                             f" (logs in {work})")
        for r in range(args.rounds):
            for w in workloads:
                for pair in pairs:
                    before = pair.cpu()
                    requests, errors = wrk(pair.port, w, args.seconds)
                    cpu = pair.cpu() - before
                    results[(pair.name, w)].append(
                        (requests / args.seconds, cpu / requests * 1e6, errors))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        for pair in pairs:
            pair.stop()
        back.send_signal(signal.SIGTERM)
        back.wait(timeout=10)

    print(f"# sidecar pairs, {args.rounds} interleaved rounds of {args.seconds} s, wrk -t1 -c8;"
          " median (min-max)")
    print("| pair | workload | requests/s | sidecar-pair CPU µs per request | errors |")
    print("|---|---|---|---|---|")
    for w in workloads:
        for pair in pairs:
            rows = results[(pair.name, w)]
            print(f"| {pair.name} | {w} | {spread([r[0] for r in rows], lambda v: f'{v:.0f}')} |"
                  f" {spread([r[1] for r in rows], lambda v: f'{v:.1f}')} |"
                  f" {sum(r[2] for r in rows)} |")
    print()
    print("| meshtls ÷ peer | new-conn rate / CPU per request | keep-alive 64 KiB rate / CPU per"
          " request |")
    print("|---|---|---|")
    for ours in ["meshtls-default", "meshtls-fips"]:
        for peer in ["stunnel", "nginx"]:
            cells = []
            for w in workloads:
                # Ratios per round (interleaved runs share the host's conditions), then median.
                rate = [a[0] / b[0] for a, b in zip(results[(ours, w)], results[(peer, w)])]
                cpu = [a[1] / b[1] for a, b in zip(results[(ours, w)], results[(peer, w)])]
                cells.append(f"{spread(rate, lambda v: f'{v:.2f}×')} /"
                             f" {spread(cpu, lambda v: f'{v:.2f}×')}")
            print(f"| {ours} ÷ {peer} | {cells[0]} | {cells[1]} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
