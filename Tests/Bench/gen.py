#!/usr/bin/env python3
"""Generates a benchmark IPVS table as an lvsctl v1 manifest and the equivalent ipvsadm-restore input.

Usage: gen.py SERVICES REALSERVERS OUTDIR [--variant base|weight1|pct1]

The table mixes schedulers (rr, wrr, wlc, sh, mh), forwarding methods (dr, nat, tunnel), TCP and
UDP, and persistence on every seventh service. It is deterministic: the same arguments always give
the same files, so that variants differ only where they are meant to.
  base     the table
  weight1  the table with the weight of one real server changed (one kernel write)
  pct1     the table with 1% of the real servers' weights changed (one write each)
Writes OUTDIR/NAME.json (manifest) and OUTDIR/NAME.ipvsadm (restore input) for NAME = the variant,
and prints the number of changed real servers relative to base.
"""
import json
import sys

SCHEDULERS = ["rr", "wrr", "wlc", "sh", "mh"]
FORWARDING = ["dr", "nat", "tunnel"]
IPVSADM_FWD = {"dr": "-g", "nat": "-m", "tunnel": "-i"}


def service_table(n_services, n_real):
    """[(proto, vip, port, scheduler, forwarding, persistence, [(rip, rport, weight)])]."""
    out = []
    for i in range(n_services):
        proto = "udp" if i % 4 == 3 else "tcp"
        vip = "10.%d.%d.%d" % (100 + i // 65536, (i // 256) % 256, i % 256)
        port = 80 + (i % 3) * 363  # 80, 443, 806
        sched = SCHEDULERS[i % len(SCHEDULERS)]
        fwd = FORWARDING[(i // 5) % len(FORWARDING)]
        persistence = 300 if i % 7 == 0 else None
        reals = []
        for j in range(n_real):
            k = i * n_real + j
            rip = "172.%d.%d.%d" % (16 + k // 65536 % 16, (k // 254) % 256, k % 254 + 1)
            # Direct routing and tunnelling keep the service's port in the kernel; NAT may map.
            rport = port if fwd != "nat" else 8000 + j
            weight = 1 + (k % 5)
            reals.append((rip, rport, weight))
        out.append((proto, vip, port, sched, fwd, persistence, reals))
    return out


def apply_variant(table, variant):
    changed = 0
    total = sum(len(s[6]) for s in table)
    if variant == "base":
        return changed
    if variant == "weight1":
        targets = {(len(table) // 2, 0)}
    elif variant == "pct1":
        count = max(1, total // 100)
        step = total // count
        targets = set()
        for c in range(count):
            k = c * step
            targets.add((k // len(table[0][6]), k % len(table[0][6])))
    else:
        raise SystemExit("unknown variant " + variant)
    for (si, ri) in targets:
        rip, rport, w = table[si][6][ri]
        table[si][6][ri] = (rip, rport, w + 10)
        changed += 1
    return changed


def manifest(table):
    services = []
    for idx, (proto, vip, port, sched, fwd, persistence, reals) in enumerate(table):
        s = {"name": "svc%d" % idx, "protocol": proto, "address": vip, "port": port,
             "scheduler": sched, "forwarding": fwd}
        if persistence:
            s["persistence"] = {"timeout": persistence}
        s["realServers"] = [{"address": rip, "port": rport, "weight": w} for (rip, rport, w) in reals]
        services.append(s)
    return {"apiVersion": "lvsctl/v1", "name": "bench", "services": services}


def restore_text(table):
    lines = []
    for (proto, vip, port, sched, fwd, persistence, reals) in table:
        p = "-u" if proto == "udp" else "-t"
        line = "-A %s %s:%d -s %s" % (p, vip, port, sched)
        if persistence:
            line += " -p %d" % persistence
        lines.append(line)
        for (rip, rport, w) in reals:
            lines.append("-a %s %s:%d -r %s:%d %s -w %d" % (p, vip, port, rip, rport, IPVSADM_FWD[fwd], w))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    n_services, n_real, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    variant = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--variant" else "base"
    table = service_table(n_services, n_real)
    changed = apply_variant(table, variant)
    with open("%s/%s.json" % (outdir, variant), "w") as f:
        json.dump(manifest(table), f, separators=(",", ":"))
    with open("%s/%s.ipvsadm" % (outdir, variant), "w") as f:
        f.write(restore_text(table))
    print(changed)


if __name__ == "__main__":
    main()
