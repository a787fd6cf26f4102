#!/usr/bin/env python3
"""The lvsctl benchmark (issue #8): lvsctl against ipvsadm on the same kernel, in one run.

Run by Tests/Bench/run (`make bench`) as root on a kernel with IPVS (the lab guest, or the host).
Everything happens in a private network namespace that this process enters with setns(2), so
every child (lvsctl, ipvsadm) works on the same, otherwise empty, IPVS table and nobody pays for
`ip netns exec`. For each size (services x real servers) it measures, each case BENCH_REPEAT times:

  apply-empty  `lvsctl apply -f` on a flushed kernel with a fresh database  vs  `ipvsadm -R`
  noop         `lvsctl plan -f` of the applied table (nothing to do)        vs  `ipvsadm -Sn`
  weight1      `lvsctl apply -f` with one weight changed: time and kernel writes (must be 1)
  pct1         `lvsctl apply -f` with 1% of the weights changed: writes must equal the changes

and the peak resident memory (ru_maxrss from wait4) of every lvsctl run. It writes
results/latest.json and results/latest.md and prints whether each target holds.

Environment: BENCH_SIZES (default "1000x10,10000x10"), BENCH_REPEAT (default 3), LVSCTL (the
binary, default .build/release/lvsctl), BENCH_OUT (default Tests/Bench/results), BENCH_WORK (scratch
directory, default a new one under /tmp).
"""
import ctypes
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LVSCTL = os.path.abspath(os.environ.get("LVSCTL", os.path.join(REPO, ".build/release/lvsctl")))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))

def parse_sizes(text):
    """`1000x10,10000x10:1` → [(1000, 10, REPEAT), (10000, 10, 1)]: an optional `:R` overrides the repeats."""
    out = []
    for item in text.split(","):
        size, _, rep = item.partition(":")
        n, m = (int(x) for x in size.split("x"))
        out.append((n, m, int(rep) if rep else REPEAT))
    return out


SIZES = parse_sizes(os.environ.get("BENCH_SIZES", "1000x10,10000x10"))
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "results"))
NETNS = "lvsbench"
VERSION = "?"
MIB = 1024 * 1024


def log(msg):
    print("bench: " + msg, flush=True)


CREATED = []


def enter_namespace(name=NETNS):
    """A fresh network namespace with lo up (IPv4 real servers need it), entered by this process.

    Every apply from empty gets a namespace of its own: the kernel keeps the real servers of a
    flushed table in a per-namespace trash list for a minute or two and walks that list on every
    real-server add, so a run right after `ipvsadm -C` of 100 000 real servers would pay for the
    previous run's table (seen: 202 s instead of 53 s for lvsctl at 10 000 x 10).
    Namespaces are deleted at the end, not between runs: tearing one down frees its table in a
    kernel worker that would compete with the next timed run."""
    subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    CREATED.append(name)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise SystemExit("bench: setns into %s failed: %s" % (name, os.strerror(ctypes.get_errno())))
    os.close(fd)


def delete_namespaces():
    for name in CREATED:
        subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
    CREATED.clear()


def run(argv, stdin=None, stdout=subprocess.DEVNULL, env=None):
    """Runs argv; returns (seconds, maxrss bytes, stdout text or None). Fails loudly on exit != 0."""
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    pipe = stdout == subprocess.PIPE
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=fin, stdout=stdout, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    # communicate() reaps the child; its own rusage comes from wait4 only if we reap it ourselves.
    elapsed = time.monotonic() - start
    if fin is not subprocess.DEVNULL:
        fin.close()
    if p.returncode != 0:
        raise SystemExit("bench: %s exited %d: %s" % (" ".join(argv), p.returncode, (err or b"").decode()[-2000:]))
    return elapsed, (out.decode() if pipe else None)


def run_rss(argv, stdout=subprocess.DEVNULL):
    """Like run, but reaps the child with wait4 to read its own peak RSS."""
    start = time.monotonic()
    out_f = tempfile.TemporaryFile() if stdout == subprocess.PIPE else subprocess.DEVNULL
    err_f = tempfile.TemporaryFile()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_f, stderr=err_f)
    _, status, ru = os.wait4(p.pid, 0)
    elapsed = time.monotonic() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    err_f.seek(0)
    err = err_f.read().decode()
    out = None
    if out_f is not subprocess.DEVNULL:
        out_f.seek(0)
        out = out_f.read().decode()
    if p.returncode not in (0,):
        raise SystemExit("bench: %s exited %d: %s" % (" ".join(argv), p.returncode, err[-2000:]))
    return elapsed, ru.ru_maxrss * 1024, out


def install_binary(work):
    """Copies lvsctl next to the scratch files, as `make install` puts it on a director's own disk.

    In the lab guest the repository (where the build is) is a 9p share without caching, so every
    run would page the 140 MB binary in over virtio again, while ipvsadm comes from the guest's
    cached root file system. The scratch directory is on tmpfs there."""
    global LVSCTL
    installed = os.path.join(work, "lvsctl")
    shutil.copy2(LVSCTL, installed)
    LVSCTL = installed


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def bench_size(n, m, repeat, work):
    d = os.path.join(work, "%dx%d" % (n, m))
    os.makedirs(d, exist_ok=True)
    gen = os.path.join(HERE, "gen.py")
    changed = {}
    for v in ("base", "weight1", "pct1"):
        changed[v] = int(subprocess.run([sys.executable, gen, str(n), str(m), d, "--variant", v],
                                        check=True, capture_output=True, text=True).stdout.strip())
    base, restore = os.path.join(d, "base.json"), os.path.join(d, "base.ipvsadm")
    db = os.path.join(d, "lvsctl.db")

    def fresh_db():
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)

    def lvs(*args):
        return [LVSCTL] + list(args) + ["--db", db]

    res = {"services": n, "realServers": n * m, "perService": m, "repeat": repeat, "cases": {}}
    rss = []

    # 1. apply from an empty kernel.
    t_ipvsadm, t_lvs, writes = [], [], []
    for r in range(repeat):
        enter_namespace("%s-%d-%d-ipvsadm" % (NETNS, n, r))
        t, _ = run(["ipvsadm", "-R"], stdin=restore)
        t_ipvsadm.append(t)
        log("%dx%d apply-empty ipvsadm -R run %d: %.3f s" % (n, m, r + 1, t))
        enter_namespace("%s-%d-%d-lvsctl" % (NETNS, n, r))
        fresh_db()
        # Text output: JSON would encode the whole 110 000-change plan, which no operator needs
        # to read an apply from empty. "Applied N changes" counts the applied kernel writes.
        t, peak, out = run_rss(lvs("apply", "-f", base), stdout=subprocess.PIPE)
        t_lvs.append(t)
        rss.append(peak)
        m_applied = re.search(r"^Applied (\d+) change", out, re.M)
        writes.append(int(m_applied.group(1)) if m_applied else None)
        log("%dx%d apply-empty lvsctl run %d: %.3f s, %.1f MiB, %s writes" % (n, m, r + 1, t, peak / MIB, writes[-1]))
    expected = n + n * m
    res["cases"]["apply-empty"] = {"lvsctl": summary(t_lvs), "ipvsadm": summary(t_ipvsadm),
                                   "ipvsadmCommand": "ipvsadm -R < rules", "kernelWrites": writes,
                                   "expectedWrites": expected}

    # The table now holds the base rules applied by lvsctl (its database owns them).
    # 2. no-op reconcile.
    t_ipvsadm, t_lvs = [], []
    for r in range(repeat):
        t, _ = run(["ipvsadm", "-Sn"])
        t_ipvsadm.append(t)
        t, peak, out = run_rss(lvs("plan", "-f", base, "--detailed-exitcode"))
        t_lvs.append(t)
        rss.append(peak)
        log("%dx%d noop: ipvsadm -Sn %.3f s, lvsctl plan %.3f s, %.1f MiB" % (n, m, t_ipvsadm[-1], t, peak / MIB))
    res["cases"]["noop"] = {"lvsctl": summary(t_lvs), "ipvsadm": summary(t_ipvsadm),
                            "ipvsadmCommand": "ipvsadm -Sn > /dev/null"}

    # 3 and 4. one weight, 1% of the weights. Runs alternate between the variant and base: going
    # back is the same number of changes, so every run is timed and none is wasted on a reset.
    for case in ("weight1", "pct1"):
        t_lvs, writes = [], []
        for r in range(repeat):
            target = os.path.join(d, (case if r % 2 == 0 else "base") + ".json")
            t, peak, out = run_rss(lvs("apply", "-f", target, "--output", "json"), stdout=subprocess.PIPE)
            t_lvs.append(t)
            rss.append(peak)
            j = json.loads(out)
            writes.append(j.get("kernelWrites"))
            log("%dx%d %s run %d: %.3f s, %s writes (audit rows %s), %.1f MiB"
                % (n, m, case, r + 1, t, writes[-1], j.get("auditRows"), peak / MIB))
        if repeat % 2 == 1:
            run_rss(lvs("apply", "-f", base))  # back to base, untimed
        res["cases"][case] = {"lvsctl": summary(t_lvs), "kernelWrites": writes, "expectedWrites": changed[case]}
    res["peakRSSBytes"] = max(rss)
    enter_namespace()
    delete_namespaces()
    shutil.rmtree(d, ignore_errors=True)
    return res


def evaluate(results):
    """[(target, holds, detail)]."""
    checks = []
    by = {(r["services"], r["perService"]): r for r in results}
    for r in results:
        tag = "%dx%d" % (r["services"], r["perService"])
        c = r["cases"]
        a = c["apply-empty"]
        ratio = a["lvsctl"]["median"] / a["ipvsadm"]["median"]
        checks.append(("apply from empty <= 0.5 x ipvsadm -R at " + tag, ratio <= 0.5, "ratio %.3f" % ratio))
        ok = all(w == a["expectedWrites"] for w in a["kernelWrites"])
        checks.append(("apply from empty writes = %d at %s" % (a["expectedWrites"], tag), ok, "writes %s" % a["kernelWrites"]))
        nop = c["noop"]
        ratio = nop["lvsctl"]["median"] / nop["ipvsadm"]["median"]
        checks.append(("no-op reconcile <= 1.0 x ipvsadm -Sn at " + tag, ratio <= 1.0, "ratio %.3f" % ratio))
        w1 = c["weight1"]
        ok = all(w == 1 for w in w1["kernelWrites"])
        checks.append(("single change: exactly 1 kernel write at " + tag, ok, "writes %s" % w1["kernelWrites"]))
        ratio = w1["lvsctl"]["median"] / nop["lvsctl"]["median"]
        checks.append(("single change <= 1.1 x no-op reconcile at " + tag, ratio <= 1.1, "ratio %.3f" % ratio))
        p1 = c["pct1"]
        ok = all(w == p1["expectedWrites"] for w in p1["kernelWrites"])
        checks.append(("1%% change: writes = changes (%d) at %s" % (p1["expectedWrites"], tag), ok,
                       "writes %s" % p1["kernelWrites"]))
    sizes = sorted(by)
    if len(sizes) >= 2:
        small, large = by[sizes[0]], by[sizes[-1]]
        tag = "%dx%d/%dx%d" % (sizes[-1] + sizes[0])
        pairs = [("apply-empty", "apply-empty"), ("noop", "noop"), ("weight1", "noop"), ("pct1", "noop")]
        for case, ref in pairs:
            lr = large["cases"][case]["lvsctl"]["median"] / small["cases"][case]["lvsctl"]["median"]
            ir = large["cases"][ref]["ipvsadm"]["median"] / small["cases"][ref]["ipvsadm"]["median"]
            checks.append(("scaling %s %s: lvsctl ratio <= ipvsadm's (%s)" % (case, tag, ref), lr <= ir,
                           "lvsctl x%.2f, ipvsadm x%.2f" % (lr, ir)))
        peak = large["peakRSSBytes"]
        checks.append(("peak RSS <= 100 MiB at " + "%dx%d" % sizes[-1], peak <= 100 * MIB, "%.1f MiB" % (peak / MIB)))
    else:
        r = by[sizes[0]]
        checks.append(("peak RSS <= 100 MiB at %dx%d" % sizes[0], r["peakRSSBytes"] <= 100 * MIB,
                       "%.1f MiB" % (r["peakRSSBytes"] / MIB)))
    return checks


def markdown(doc):
    lines = ["# lvsctl benchmark: latest results", "",
             "Date: %s. Kernel: %s. Host: %s. Repeats: %s (median, min–max in seconds). lvsctl commit: %s." % (
                 doc["date"], doc["kernel"], doc["where"],
                 ", ".join("%d at %d × %d" % (r["repeat"], r["services"], r["perService"]) for r in doc["results"]),
                 doc["lvsctlVersion"]),
             "All times are wall-clock times of whole processes, measured in the same run; "
             "only the ratios are meaningful (the lab guest is an emulated CPU).", "",
             "| size | case | lvsctl median (min–max) | ipvsadm median (min–max) | lvsctl/ipvsadm | kernel writes |",
             "|---|---|---|---|---|---|"]
    names = {"apply-empty": "apply from empty (vs `ipvsadm -R`)", "noop": "no-op reconcile `plan` (vs `ipvsadm -Sn`)",
             "weight1": "one weight changed (`apply`)", "pct1": "1% of real servers changed (`apply`)"}
    for r in doc["results"]:
        tag = "%d × %d" % (r["services"], r["perService"])
        for case in ("apply-empty", "noop", "weight1", "pct1"):
            c = r["cases"][case]
            lv = c["lvsctl"]
            cell = lambda s: "%.3f (%.3f–%.3f)" % (s["median"], s["min"], s["max"])
            ip = c.get("ipvsadm")
            ratio = "%.3f" % (lv["median"] / ip["median"]) if ip else ("%.3f × no-op" % (lv["median"] / r["cases"]["noop"]["lvsctl"]["median"]))
            writes = "%s (expected %s)" % (",".join(str(w) for w in c["kernelWrites"]), c["expectedWrites"]) if "kernelWrites" in c else ""
            lines.append("| %s | %s | %s | %s | %s | %s |" % (tag, names[case], cell(lv), cell(ip) if ip else "—", ratio, writes))
        lines.append("| %s | peak RSS of lvsctl (any case) | %.1f MiB | | | |" % (tag, r["peakRSSBytes"] / MIB))
    lines += ["", "## Targets", "", "| target | holds | measured |", "|---|---|---|"]
    for name, ok, detail in doc["targets"]:
        lines.append("| %s | %s | %s |" % (name, "yes" if ok else "**no**", detail))
    return "\n".join(lines) + "\n"


def main():
    if os.geteuid() != 0 or not os.path.exists("/proc/net/ip_vs"):
        raise SystemExit("bench: needs root and a kernel with IPVS; run it through Tests/Bench/run (make bench)")
    if not os.access(LVSCTL, os.X_OK):
        raise SystemExit("bench: no lvsctl binary at %s; build it with swift build -c release --product lvsctl" % LVSCTL)
    enter_namespace()
    # Tests/Bench/run passes the commit the binary was built from; git here would see later edits.
    global VERSION
    VERSION = os.environ.get("BENCH_COMMIT") or subprocess.run(
        ["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip() or "?"
    work = os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="lvsbench.")
    os.makedirs(work, exist_ok=True)
    install_binary(work)
    started = time.monotonic()
    results = []
    try:
        for (n, m, repeat) in SIZES:
            log("size %d x %d (%d real servers), %d repeats" % (n, m, n * m, repeat))
            results.append(bench_size(n, m, repeat, work))
    finally:
        enter_namespace()
        delete_namespaces()
    version = VERSION
    doc = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "kernel": platform.release(), "where": os.environ.get("BENCH_WHERE", "?"),
           "repeat": REPEAT, "lvsctlVersion": version, "seconds": round(time.monotonic() - started, 1),
           "results": results}
    doc["targets"] = [list(t) for t in evaluate(results)]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "latest.json"), "w") as f:
        json.dump(doc, f, indent=2)
    with open(os.path.join(OUT, "latest.md"), "w") as f:
        f.write(markdown(doc))
    print(markdown(doc))
    held = sum(1 for t in doc["targets"] if t[1])
    log("%d of %d targets hold (%.0f s)" % (held, len(doc["targets"]), doc["seconds"]))


if __name__ == "__main__":
    main()
