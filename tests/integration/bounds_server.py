#!/usr/bin/env python3
"""A hostile site for t_crawl_bounds: sitemaps that never end and URLs too long to index.
Usage: bounds_server.py PORT MODE
  MODE "bomb": /sitemap.xml is an index of 50,000 entries: gzip indexes /sm/idx-N.xml.gz of 50,000 entries each,
    except the 4th and 5th, two urlsets (/sm/set-0.xml: 30 pages and one 6,000-character URL; /sm/set-1.xml.gz:
    30 pages).
    / links to 19 pages and one 6,000-character URL.
  MODE "long": /sitemap.xml is a urlset of 10 pages, one 6,000-character URL and /redir, which redirects to a
    6,000-character URL.
  MODE "slow": /sitemap.xml is an index of 50,000 gzip urlsets /sm/u-N.xml.gz, each of 50,000 URLs on another
    host: every one is read to the end and yields nothing.
Every request is logged to stderr as "GET PATH" (paths cut to 80 characters)."""
import gzip
import random
import string
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

N = 50000
# 6,000 characters that do not compress: PostgreSQL compresses a long index key, and a repetitive URL would fit
_rnd = random.Random(6000)
NOISE = "".join(_rnd.choice(string.ascii_letters + string.digits) for _ in range(6000))
LONG = "/l/" + NOISE
PAGE = b"<html><head><title>p</title></head><body><p>A page found by discovery.</p></body></html>"
ROOT = ("<html><head><title>root</title></head><body>"
        + "".join('<a href="/l/%d">%d</a> ' % (i, i) for i in range(19))
        + '<a href="%s">long</a></body></html>' % LONG).encode()


def index(locs):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join("<sitemap><loc>%s</loc></sitemap>\n" % u for u in locs) + "</sitemapindex>\n").encode()


def urlset(locs):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join("<url><loc>%s</loc></url>\n" % u for u in locs) + "</urlset>\n").encode()


def build(mode, base):
    files = {}
    if mode == "bomb":
        files["/sitemap.xml"] = index([base + "/sm/idx-%d.xml.gz" % i for i in range(3)]
                                      + [base + "/sm/set-0.xml", base + "/sm/set-1.xml.gz"]
                                      + [base + "/sm/idx-%d.xml.gz" % i for i in range(3, N - 2)])
        a = [base + "/p/a%d" % i for i in range(10)] + [base + "/p/long-" + NOISE] + \
            [base + "/p/a%d" % i for i in range(10, 30)]
        files["/sm/set-0.xml"] = urlset(a)
        files["/sm/set-1.xml.gz"] = gzip.compress(urlset([base + "/p/b%d" % i for i in range(30)]), 6)
        files["idx"] = gzip.compress(index([base + "/sm/deep-%d.xml" % i for i in range(N)]), 6)
    elif mode == "long":
        files["/sitemap.xml"] = urlset([base + "/p/a%d" % i for i in range(5)] + [base + "/p/long-" + NOISE]
                                       + [base + "/p/a%d" % i for i in range(5, 10)] + [base + "/redir"])
    else:
        files["/sitemap.xml"] = index([base + "/sm/u-%d.xml.gz" % i for i in range(N)])
        files["u"] = gzip.compress(urlset(["http://elsewhere.example/page/%d" % i for i in range(N)]), 6)
    return files


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="text/html"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path
        sys.stderr.write("GET %s\n" % p[:80])
        sys.stderr.flush()
        files = self.server.files
        if p == "/":
            self.send(200, ROOT)
        elif p in files:
            self.send(200, files[p], "application/xml")
        elif p.startswith("/sm/idx-") and "idx" in files:
            self.send(200, files["idx"], "application/gzip")
        elif p.startswith("/sm/u-") and "u" in files:
            self.send(200, files["u"], "application/gzip")
        elif p == "/redir":
            self.send_response(302)
            self.send_header("Location", LONG)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif p.startswith("/p/") or p.startswith("/l/"):
            self.send(200, PAGE)
        else:
            self.send(404, b"not found", "text/plain")


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.files = build(mode, "http://127.0.0.1:%d" % port)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
