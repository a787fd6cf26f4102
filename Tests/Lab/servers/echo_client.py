# echo_client.py VIP[:PORT] LOG STOP [INTERVAL [TIMEOUT]]: one long-lived TCP connection to VIP:PORT
# (80). Writes to LOG `connected NAME` (the server's greeting), `pong N` for each echoed ping (one
# every INTERVAL seconds, 0.2), `error ...` on a bad or missing reply (none within TIMEOUT seconds,
# 10), and `closed` once the file STOP exists.
import os, socket, sys, time
vip, log, stop = sys.argv[1], sys.argv[2], sys.argv[3]
port = 80
if ":" in vip:
    vip, port = vip.rsplit(":", 1)
    port = int(port)
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.2
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 10
def say(line):
    with open(log, "a") as f:
        f.write(line + "\n")
s = socket.create_connection((vip, port), timeout=timeout)
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
        time.sleep(interval)
except Exception as e:
    say("error %s" % e)
s.close()
say("closed")
