#!/usr/bin/env python3
"""A misbehaving HTTP server for the crawl tests (what nginx cannot do): redirect loops, a lazily streamed
1 GB body, a one-byte-per-second drip, a page that fails once with 500, redirects to private addresses
(/private/), and slow pages that count how many requests are in flight at once (/wide/, /wide-max).
robots.txt answers 404 unless GET /control/robots?MODE sets it to: 503 (always, with Retry-After: 1), 503xN (503 N times, then a
small robots.txt), huge (600 KiB: "Disallow: /calm/secret" at the top, "Disallow: /calm/two" past 500 KiB).
/calm/ is a quiet little site for those tests: it links to /calm/two and /calm/secret.
Usage: crawl_server.py PORT"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HITS = {}
LOCK = threading.Lock()
ROBOTS = {"mode": "404", "served": 0}
CALM = b"""<!doctype html><html><head><title>Calm</title></head><body><h1>Calm</h1><p>A quiet page.</p>
<a href="/calm/two">two</a> <a href="/calm/secret">secret</a></body></html>"""
WIDE = {"now": 0, "max": 0}  # requests under /wide/ in flight, and the most at once
WIDE_PAGES = 20

INDEX = b"""<!doctype html><html><head><title>Trouble</title></head><body><h1>Trouble</h1>
<a href="/loop">loop</a> <a href="/huge">huge</a> <a href="/slow">slow</a> <a href="/flaky">flaky</a>
<a href="/forbidden">forbidden</a>
</body></html>"""


PRIVATE_INDEX = b"""<!doctype html><html><head><title>Private</title></head><body><h1>Redirects inward</h1>
<a href="/private/to-10">10/8</a> <a href="/private/to-metadata">metadata</a> <a href="/private/to-ula">ULA</a>
<a href="/private/to-localhost">localhost</a>
</body></html>"""

# /private/NAME -> where it redirects; "{port}" is this server's port.
PRIVATE_REDIRECTS = {
    "/private/to-10": "http://10.255.255.1/x",
    "/private/to-metadata": "http://169.254.169.254/latest/meta-data/",
    "/private/to-ula": "http://[fd00::1]/",
    "/private/to-localhost": "http://localhost:{port}/private/ok",
}


def hit(path):
    with LOCK:
        HITS[path] = HITS.get(path, 0) + 1
        return HITS[path]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%.3f %s\n" % (time.time(), fmt % args))

    def send_plain(self, status, body=b"", ctype="text/html", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def robots(self):
        with LOCK:
            mode = ROBOTS["mode"]
            ROBOTS["served"] += 1
            served = ROBOTS["served"]
        small = b"User-agent: *\nDisallow: /calm/secret\n"
        if mode == "503" or (mode.startswith("503x") and served <= int(mode[4:])):
            # Retry-After: 1, or the politeness gate would space the retries 5 s apart (its default for a 503)
            self.send_plain(503, b"down for maintenance", "text/plain", [("Retry-After", "1")])
        elif mode.startswith("503x"):
            self.send_plain(200, small, "text/plain")
        elif mode == "huge":
            pad = b"".join(b"# padding line %06d of a robots.txt far bigger than crawl.max_bytes\n" % i
                           for i in range(8200))  # about 560 KB
            self.send_plain(200, small + pad + b"Disallow: /calm/two\n", "text/plain")
        else:
            self.send_plain(404, b"not found")

    def do_GET(self):
        n = hit(self.path)
        if self.path.startswith("/control/robots?"):
            with LOCK:
                ROBOTS["mode"] = self.path.split("?", 1)[1]
                ROBOTS["served"] = 0
            self.send_plain(200, b"ok", "text/plain")
        elif self.path == "/robots.txt":
            self.robots()
        elif self.path in ("/calm/", "/calm/two", "/calm/secret"):
            self.send_plain(200, CALM)
        elif self.path == "/":
            self.send_plain(200, INDEX)
        elif self.path == "/loop":
            self.send_plain(302, headers=[("Location", "/loop2")])
        elif self.path == "/loop2":
            self.send_plain(302, headers=[("Location", "/loop")])
        elif self.path == "/huge":
            self.huge()
        elif self.path == "/slow":
            self.slow()
        elif self.path == "/flaky":
            if n == 1:
                self.send_plain(500, b"try again")
            else:
                self.send_plain(200, b"<html><body><p>Second time lucky.</p></body></html>")
        elif self.path == "/forbidden":
            self.send_plain(403, b"no")
        elif self.path == "/private/":
            self.send_plain(200, PRIVATE_INDEX)
        elif self.path in PRIVATE_REDIRECTS:
            target = PRIVATE_REDIRECTS[self.path].format(port=self.server.server_address[1])
            self.send_plain(302, headers=[("Location", target)])
        elif self.path == "/private/ok":
            self.send_plain(200, b"<html><body><p>Reached through localhost.</p></body></html>")
        elif self.path.startswith("/wide/"):
            self.wide()
        elif self.path == "/wide-max":
            with LOCK:
                body = b"%d\n" % WIDE["max"]
            self.send_plain(200, body, "text/plain")
        elif self.path == "/hits":
            with LOCK:
                body = "".join("%s %d\n" % kv for kv in sorted(HITS.items())).encode()
            self.send_plain(200, body, "text/plain")
        else:
            self.send_plain(404, b"not found")

    def wide(self):
        with LOCK:
            WIDE["now"] += 1
            WIDE["max"] = max(WIDE["max"], WIDE["now"])
        try:
            time.sleep(0.15)
            if self.path == "/wide/":
                links = "".join('<a href="p%d.html">p%d</a> ' % (i, i) for i in range(WIDE_PAGES))
                self.send_plain(200, ("<html><body>%s</body></html>" % links).encode())
            else:
                self.send_plain(200, b"<html><body><p>" + self.path.encode() + b"</p></body></html>")
        finally:
            with LOCK:
                WIDE["now"] -= 1

    def huge(self):
        size = 1 << 30
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b"<p>" + b"x" * 65530 + b"</p>"
        try:
            sent = 0
            while sent < size:
                self.wfile.write(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def slow(self):
        body = b"<html><body>" + b"s" * 100 + b"</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
