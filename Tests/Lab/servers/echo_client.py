# echo_client.py VIP LOG STOP [PORT]: one long-lived TCP connection to VIP:PORT (default 80). Writes to LOG
# `connected NAME` (the server's greeting), `pong N` for each echoed ping (one every 0.2 s),
# `error ...` on a bad or missing reply, and `closed` once the file STOP exists.
import os, socket, sys, time
vip, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
port = int(sys.argv[4]) if len(sys.argv) > 4 else 80
def say(line):
    with open(log, "a") as f:
        f.write(line + "\n")
s = socket.create_connection((vip, port), timeout=10)
f = s.makefile("rb")
say("connected " + f.readline().decode().strip())
n = 0
try:
    while not os.path.exists(stop):
        n += 1
        s.sendall(("ping %d\n" % n).encode())
        reply = f.readline().decode().strip()
        if reply != "ping %d" % n:
            say("error bad reply %r" % reply)
            break
        say("pong %d" % n)
        time.sleep(0.2)
except Exception as e:
    say("error %s" % e)
s.close()
say("closed")
