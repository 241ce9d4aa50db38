#!/usr/bin/env python3
"""Stand-in for a remote embedding API (OpenAI /v1/embeddings and Ollama /api/embed) for pgkb's tests.

Serves deterministic vectors of --dim dimensions, logs one JSON line per request to --log (path, number of
inputs, model, whether a key was sent, concurrency), and follows --plan, a comma-separated list of what to do
for requests 1, 2, 3, ... (the last entry repeats):
  ok            200 with vectors
  429[:S]       rate limited, with Retry-After: S when given
  500           server error
  quota         429 insufficient_quota, whose message quotes the API key it was sent (to test redaction)
  echo401       401 invalid_api_key quoting the bearer token it was sent after 450 characters of text, so
                that a 500-character cut of the message falls inside the key
  dim:N         200 with N-dimensional vectors
  badjson       200 with a truncated JSON body
  hang          200 headers and half a body, then nothing (until the client gives up)
--latency-ms adds a delay to every request. --blackhole listens without ever accepting (connect timeouts).
Writes its port to --port-file once listening. POST /control {"plan": "..."} replaces the plan and restarts
the request count.
"""
import argparse
import hashlib
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"count": 0, "inflight": 0}


def vector(text, dim):
    out = []
    seed = hashlib.sha256(text.encode()).digest()
    i = 0
    while len(out) < dim:
        block = hashlib.sha256(seed + struct.pack("<I", i)).digest()
        out.extend((b - 127.5) / 127.5 for b in block)
        i += 1
    out = out[:dim]
    norm = sum(x * x for x in out) ** 0.5
    return [round(x / norm, 6) for x in out]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj=None, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/control":  # {"plan": "429,ok"}: a new plan, counting requests from 1 again
            with LOCK:
                ARGS.plan = req["plan"].split(",")
                STATE["count"] = 0
            self.reply(200, {"ok": True})
            return
        texts = req.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        auth = self.headers.get("Authorization", "")
        with LOCK:
            STATE["count"] += 1
            n = STATE["count"]
            STATE["inflight"] += 1
            inflight = STATE["inflight"]
            plan = ARGS.plan[min(n, len(ARGS.plan)) - 1]
            with open(ARGS.log, "a") as f:
                f.write(json.dumps({"n": n, "path": self.path, "inputs": len(texts), "model": req.get("model"),
                                    "key": bool(auth), "inflight": inflight, "plan": plan, "t": time.time()}) + "\n")
        try:
            if ARGS.latency_ms:
                time.sleep(ARGS.latency_ms / 1000.0)
            self.serve(plan, texts, auth)
        finally:
            with LOCK:
                STATE["inflight"] -= 1

    def serve(self, plan, texts, auth):
        kind, _, arg = plan.partition(":")
        if kind == "429":
            self.reply(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                       "code": "rate_limit_exceeded"}},
                       {"Retry-After": arg} if arg else None)
        elif kind == "500":
            self.reply(500, {"error": {"message": "The server had an error", "type": "server_error"}})
        elif kind == "quota":
            key = auth.replace("Bearer ", "")
            self.reply(429, {"error": {"message": "You exceeded your current quota, please check your plan and "
                                       "billing details. (key %s)" % key, "type": "insufficient_quota",
                                       "code": "insufficient_quota"}})
        elif kind == "echo401":
            key = auth.replace("Bearer ", "")
            filler = ("Authentication failed for this request; " * 12)[:450]
            self.reply(401, {"error": {"message": "%s The key %s is not valid." % (filler, key),
                                       "type": "invalid_request_error", "code": "invalid_api_key"}})
        elif kind == "badjson":
            self.reply(200, raw=b'{"data": [{"embedding": [0.1, 0.2')
        elif kind == "hang":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"data": [')
            self.wfile.flush()
            time.sleep(3600)
        else:
            dim = int(arg) if kind == "dim" else ARGS.dim
            vecs = [vector(t, dim) for t in texts]
            if self.path.startswith("/api/embed"):
                self.reply(200, {"model": "m", "embeddings": vecs, "prompt_eval_count": len(texts)})
            else:
                self.reply(200, {"object": "list", "model": "m",
                                 "data": [{"object": "embedding", "index": i, "embedding": v}
                                          for i, v in enumerate(vecs)],
                                 "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}})


def blackhole(port_file):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue; later SYNs are dropped and connects time out
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.2)
    with open(port_file, "w") as f:
        f.write(str(port))
    while True:
        time.sleep(3600)


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", default="/dev/null")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--plan", default="ok")
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--blackhole", action="store_true")
    ARGS = p.parse_args()
    ARGS.plan = ARGS.plan.split(",")
    if ARGS.blackhole:
        blackhole(ARGS.port_file)
        return
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
