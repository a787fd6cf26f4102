# echo_server.py NAME [PORT]: TCP on 0.0.0.0:PORT (80); greets each connection with NAME, then
# echoes every line back.
import socket, sys, threading
name = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 80
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(64)
def serve(c):
    with c:
        c.sendall((name + "\n").encode())
        f = c.makefile("rb")
        for line in f:
            c.sendall(line)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
