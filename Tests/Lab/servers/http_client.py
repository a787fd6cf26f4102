# http_client.py VIP N [PORT]: N GETs of `/`, each on a new connection; prints `r1=3 r2=9 error=0`,
# and on standard error what went wrong with each failed request, with its client port.
# A request may take 15 s: an answer that slow in a loaded emulated guest is still an answer.
import collections, socket, sys, time
vip, n = sys.argv[1], int(sys.argv[2])
port = int(sys.argv[3]) if len(sys.argv) > 3 else 80
tally = collections.Counter()
for i in range(n):
    start = time.monotonic()
    s = None
    try:
        s = socket.create_connection((vip, port), timeout=15)
        s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        ok = head.split(b" ")[1:2] == [b"200"]
        tally[body.decode().strip() if ok else "error"] += 1
        if not ok:
            print("request %d: answer %r" % (i + 1, data[:80]), file=sys.stderr)
    except Exception as e:
        tally["error"] += 1
        try:
            port_used = s.getsockname()[1] if s else "-"
        except OSError:
            port_used = "?"
        print("request %d from port %s: %r after %.1f s" % (i + 1, port_used, e, time.monotonic() - start), file=sys.stderr)
print(" ".join("%s=%d" % kv for kv in sorted(tally.items())))
