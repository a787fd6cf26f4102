# http_server.py NAME [PORT]: HTTP on 0.0.0.0:PORT (80). `/` answers NAME, `/healthz` "ok" (what
# health checks ask), `/ready` "ready" (the lab's own readiness probe); anything else 404.
# One log line per request on standard error, so a test can count the checks a server answered.
import http.server, sys
name = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 80
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/": name + "\n", "/healthz": "ok", "/ready": "ready"}.get(self.path)
        self.send_response(200 if body is not None else 404)
        body = (body or "not found\n").encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
