#!/usr/bin/env python3
"""Writes the hostile-input regression corpus into a directory, with cases.json listing how to
run lvsctl on each input.

Nothing here is committed as data: every input is generated (some are tens of megabytes). The
classes come from the day-two probe (issue #17): huge fields and numbers, NaN/Inf, escapes,
control characters, deep includes and include diamonds, FIFOs, CRLF, empty files, 100k-line
configurations. Tests/LVSCommandsTests/CorpusTests.swift runs every case against the built
binary: no crash, an answer within the time limit, every error with a location.

usage: generate.py DIR
"""
import json
import os
import sys

MB = 1 << 20


def manifest(services=None, **top):
    doc = {"apiVersion": "lvsctl/v1", "name": "corpus"}
    doc.update(top)
    doc["services"] = services if services is not None else [service()]
    return doc


def service(name="web", address="10.0.0.1", port=80, **extra):
    s = {"name": name, "protocol": "tcp", "address": address, "port": port, "scheduler": "wrr",
         "forwarding": "dr", "realServers": [{"address": "10.0.1.1", "port": 80, "weight": 1}]}
    s.update(extra)
    return s


def keepalived_vs(i, servers=2, lb_algo="wrr", extra=""):
    a = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    lines = [f"virtual_server {a} 80 {{", f"    lb_algo {lb_algo}", "    lb_kind DR", "    protocol TCP"]
    if extra:
        lines.append("    " + extra)
    for r in range(servers):
        lines += [f"    real_server 192.168.{r >> 8}.{(r & 255) + 1} 80 {{", "        weight 1",
                  "        TCP_CHECK {", "            connect_timeout 3", "        }", "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


class Corpus:
    def __init__(self, root):
        self.root = root
        self.cases = []

    def path(self, *parts):
        p = os.path.join(self.root, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def write(self, rel, data):
        p = self.path(rel)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p

    def case(self, name, args, expect=None, timeout=5):
        """`args` use {dir} for the corpus directory. `expect`: the exit codes allowed (default
        any of 0, 1, 2, 64). `timeout`: seconds (5 for every hostile input; the two migrations
        of a 10,000-service site may take 30)."""
        self.cases.append({"name": name, "args": args, "expect": expect or [0, 1, 2, 64], "timeout": timeout})

    # Manifests: `lvsctl validate`.
    def validate(self, name, data, expect=None):
        rel = f"manifests/{name}.json"
        self.write(rel, data if isinstance(data, (bytes, str)) else json.dumps(data))
        self.case(f"validate {name}", ["validate", "{dir}/" + rel], expect)

    # keepalived.conf: `lvsctl import keepalived` (each case in its own directory, for includes).
    def keepalived(self, name, files, expect=None, timeout=5):
        for rel, data in files.items():
            self.write(f"keepalived/{name}/{rel}", data)
        self.case(f"import keepalived {name}",
                  ["import", "keepalived", "{dir}/keepalived/" + name + "/keepalived.conf",
                   "--out", "{dir}/out/" + name + ".json"], expect, timeout)

    def ipvsadm(self, name, data, expect=None, timeout=5):
        rel = f"ipvsadm/{name}.txt"
        self.write(rel, data)
        self.case(f"import ipvsadm {name}",
                  ["import", "ipvsadm", "{dir}/" + rel, "--out", "{dir}/out/ipvsadm-" + name + ".json"], expect, timeout)


def generate(root):
    c = Corpus(root)
    os.makedirs(os.path.join(root, "out"), exist_ok=True)
    ten = 10 * MB

    # --- manifests -----------------------------------------------------------------------------
    c.validate("valid", manifest(), expect=[0])
    c.validate("huge-scheduler", manifest([service(scheduler="a" * ten)]), expect=[1])
    c.validate("huge-address", manifest([service(address="1" * ten)]), expect=[1])
    c.validate("huge-name", manifest(name="n" * ten), expect=[1])
    c.validate("huge-service-name", manifest([service(name="s" * ten)]), expect=[1])
    c.validate("huge-key", json.dumps(manifest()).replace('"apiVersion"', '"' + "k" * ten + '": 1, "apiVersion"'),
               expect=[1])
    c.validate("huge-number", json.dumps(manifest()).replace('"port": 80', '"port": ' + "9" * ten, 1), expect=[1])
    c.validate("huge-fraction", json.dumps(manifest()).replace('"port": 80', '"port": 0.' + "0" * ten + "1", 1),
               expect=[1])
    c.validate("huge-escapes", json.dumps(manifest([service(scheduler="\\u0041" * (ten // 6))]))
               .replace("\\\\u0041", "\\u0041"), expect=[1])
    c.validate("huge-description", manifest([service(description="d" * ten)]), expect=[0])
    c.validate("trailing-whitespace-32m", json.dumps(manifest()) + " " * (32 * MB), expect=[0])
    c.validate("trailing-whitespace-65m", json.dumps(manifest()) + " " * (65 * MB), expect=[1])
    keys = ", ".join(f'"unknown{i}": {i}' for i in range(40000))
    c.validate("40k-unknown-keys", json.dumps(manifest()).replace('"apiVersion"', keys + ', "apiVersion"'), expect=[1])
    c.validate("40k-unknown-service-keys",
               json.dumps(manifest()).replace('"name": "web"', keys + ', "name": "web"'), expect=[1])
    c.validate("nan", json.dumps(manifest()).replace('"port": 80', '"port": NaN', 1), expect=[1])
    c.validate("infinity", json.dumps(manifest()).replace('"port": 80', '"port": Infinity', 1), expect=[1])
    c.validate("1e400", json.dumps(manifest()).replace('"port": 80', '"port": 1e400', 1), expect=[1])
    c.validate("timeout-1e400", json.dumps(manifest([service(healthCheck={"type": "tcp", "connectTimeout": 3})]))
               .replace('"connectTimeout": 3', '"connectTimeout": 1e400'), expect=[1])
    c.validate("negative-zero-weight", json.dumps(manifest()).replace('"weight": 1', '"weight": -0'), expect=[0, 1])
    c.validate("deep-arrays", "[" * 100000 + "]" * 100000, expect=[1])
    c.validate("deep-objects", '{"a":' * 100000 + "1" + "}" * 100000, expect=[1])
    c.validate("control-chars", manifest([service(scheduler="\x1b]0;pwned\x07\x1b[2J\x1b[31mred")]), expect=[1])
    c.validate("raw-escape-byte", json.dumps(manifest()).replace('"wrr"', '"w\x1b[2Jrr"'), expect=[1])
    c.validate("bidi-override", manifest([service(scheduler="rr\u202egnp.exe")]), expect=[1])
    c.validate("empty", "", expect=[1])
    c.validate("whitespace-only", " \n\t\r\n", expect=[1])
    c.validate("invalid-utf8", b'{"apiVersion": "lvsctl/v1", "name": "\xff\xfe"}', expect=[1])
    c.validate("bom", b"\xef\xbb\xbf" + json.dumps(manifest()).encode(), expect=[0])
    c.validate("crlf", json.dumps(manifest(), indent=2).replace("\n", "\r\n"), expect=[0])
    c.validate("nul-bytes", json.dumps(manifest()).replace('"wrr"', '"w\\u0000rr"'), expect=[1])
    big = [service(name=f"s{i}", address=f"10.{i >> 8 & 255}.{i & 255}.1", port=80,
                   realServers=[{"address": f"192.168.{r}.1", "port": 80, "weight": 1} for r in range(10)])
           for i in range(2000)]
    c.validate("2k-by-10", manifest(big), expect=[0])
    fifo = c.path("manifests", "fifo.json")
    os.mkfifo(fifo)
    c.case("validate fifo", ["validate", fifo], expect=[1])
    c.case("validate /dev/zero", ["validate", "/dev/zero"], expect=[1])
    c.case("validate directory", ["validate", "{dir}/manifests"], expect=[1])
    c.case("validate missing", ["validate", "{dir}/manifests/no-such-file.json"], expect=[1])

    # --- keepalived.conf -------------------------------------------------------------------------
    base = keepalived_vs(1)
    c.keepalived("valid", {"keepalived.conf": base}, expect=[0])
    c.keepalived("crlf", {"keepalived.conf": base.replace("\n", "\r\n")}, expect=[0])
    # CR alone ends no line (keepalived reads to LF); CR is white space, so it is one long line.
    c.keepalived("cr-only", {"keepalived.conf": base.replace("\n", "\r")}, expect=[0, 1])
    c.keepalived("unknown-lb-algo", {"keepalived.conf": keepalived_vs(1, lb_algo="nosuch")}, expect=[0])
    c.keepalived("persistence-0", {"keepalived.conf": keepalived_vs(1, extra="persistence_timeout 0")}, expect=[0])
    c.keepalived("control-chars", {"keepalived.conf": keepalived_vs(1, lb_algo="\x1b]0;pwned\x07\x1b[2J")},
                 expect=[0])
    c.keepalived("huge-line", {"keepalived.conf": base + "# " + "x" * (ten // 2) + "\n" + "foo " + "y" * (ten // 2) + "\n"},
                 expect=[0])
    c.keepalived("too-large", {"keepalived.conf": base + "# " + "x" * (17 * MB) + "\n"}, expect=[1])
    c.keepalived("huge-lb-algo", {"keepalived.conf": keepalived_vs(1, lb_algo="z" * ten)}, expect=[0])
    c.keepalived("huge-number", {"keepalived.conf": keepalived_vs(1, extra="persistence_timeout " + "9" * ten)},
                 expect=[0])
    c.keepalived("huge-address", {"keepalived.conf": base.replace("10.0.0.1 80", "1" * ten + " 80")}, expect=[1])
    c.keepalived("10k-services", {"keepalived.conf": "".join(keepalived_vs(i, servers=1) for i in range(10000))},
                 expect=[0], timeout=30)
    c.keepalived("100k-lines", {"keepalived.conf": "".join(keepalived_vs(i, servers=1) for i in range(10000))
                                + "".join(f"unknown_keyword_{i} x\n" for i in range(20000))}, expect=[0], timeout=30)
    c.keepalived("nul-byte", {"keepalived.conf": base.replace("lb_kind DR", "lb_kind\x00DR")}, expect=[1])
    c.keepalived("unbalanced", {"keepalived.conf": base + "}\n}\n"}, expect=[1])
    c.keepalived("unclosed", {"keepalived.conf": "virtual_server 10.0.0.1 80 {\n" * 50000}, expect=[1])
    c.keepalived("empty", {"keepalived.conf": ""}, expect=[1])
    c.keepalived("empty-include", {"keepalived.conf": "include empty.conf\n" + base, "empty.conf": ""}, expect=[0])
    # A diamond: each level includes the next level twice (at the top level and inside blocks).
    files = {"keepalived.conf": "include d0.conf\n" + base}
    for i in range(30):
        files[f"d{i}.conf"] = f"include d{i + 1}.conf\ninclude d{i + 1}.conf\n"
    files["d30.conf"] = "# bottom\n"
    c.keepalived("diamond-30", files, expect=[0])
    files = {"keepalived.conf": "virtual_server 10.0.0.1 80 {\n lb_kind DR\n protocol TCP\n include b0.conf\n}\n"}
    for i in range(30):
        files[f"b{i}.conf"] = f"include b{i + 1}.conf\ninclude b{i + 1}.conf\n"
    files["b30.conf"] = "real_server 10.0.1.1 80 {\n weight 1\n}\n"
    c.keepalived("diamond-30-in-block", files, expect=[1])
    files = {"keepalived.conf": "include c0.conf\n" + base}
    for i in range(40):
        files[f"c{i}.conf"] = f"include c{i + 1}.conf\n"
    files["c40.conf"] = "\n"
    c.keepalived("include-depth-40", files, expect=[1])
    c.keepalived("include-cycle", {"keepalived.conf": "include a.conf\n" + base, "a.conf": "include keepalived.conf\n"},
                 expect=[1])
    c.keepalived("include-dir", {"keepalived.conf": "include sub\n" + base, "sub/x.conf": "\n"}, expect=[1])
    c.keepalived("include-dev-zero", {"keepalived.conf": "include /dev/zero\n" + base}, expect=[1])
    d = os.path.join(root, "keepalived", "include-fifo")
    c.keepalived("include-fifo", {"keepalived.conf": "include pipe.conf\n" + base}, expect=[1])
    os.mkfifo(os.path.join(d, "pipe.conf"))
    d = os.path.join(root, "keepalived", "fifo")
    os.makedirs(d, exist_ok=True)
    os.mkfifo(os.path.join(d, "keepalived.conf"))
    c.case("import keepalived fifo", ["import", "keepalived", os.path.join(d, "keepalived.conf"),
                                       "--out", "{dir}/out/fifo.json"], expect=[1])
    c.case("import keepalived /dev/zero", ["import", "keepalived", "/dev/zero", "--name", "zero",
                                           "--out", "{dir}/out/zero.json"], expect=[1])

    # --- ipvsadm -Sn -------------------------------------------------------------------------------
    dump = "-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n"
    c.ipvsadm("valid", dump, expect=[0])
    c.ipvsadm("crlf", dump.replace("\n", "\r\n"), expect=[0])
    big = []
    for i in range(10000):
        a = f"10.{i >> 8 & 255}.{i & 255}.1:80"
        big.append(f"-A -t {a} -s wrr")
        big += [f"-a -t {a} -r 192.168.{r}.1:80 -g -w 1" for r in range(10)]
    c.ipvsadm("10k-by-10", "\n".join(big) + "\n", expect=[0], timeout=30)
    c.ipvsadm("2k-by-10", "\n".join(big[:22000]) + "\n", expect=[0])
    c.ipvsadm("huge-line", dump + "-A -t 10.0.0.2:80 -s " + "s" * ten + "\n", expect=[1])
    c.ipvsadm("huge-weight", dump.replace("-w 1", "-w " + "9" * ten), expect=[1])
    c.ipvsadm("control-chars", dump.replace("-s wrr", "-s \x1b]0;pwned\x07"), expect=[0, 1])
    c.ipvsadm("empty", "", expect=[0, 1])
    c.ipvsadm("nul-byte", dump.replace("wrr", "w\x00rr"), expect=[0, 1])
    fifo = c.path("ipvsadm", "fifo.txt")
    os.mkfifo(fifo)
    c.case("import ipvsadm fifo", ["import", "ipvsadm", fifo, "--out", "{dir}/out/ipvsadm-fifo.json"], expect=[1])

    # --- numeric options: range-checked before anything runs (usage error, 64) -------------------
    valid = "{dir}/manifests/valid.json"
    for v in ["nan", "inf", "-inf", "1e300", "1e16", "-1"]:
        for cmd in (["apply", "-f", valid], ["drift", "--fix"], ["rollback", "corpus", "--to", "1"],
                    ["drain", "tcp/10.0.0.1:80"], ["undrain", "tcp/10.0.0.1:80"]):
            c.case(f"{cmd[0]} --lock-timeout {v}", cmd + ["--lock-timeout=" + v], expect=[64])
    for v in ["nan", "inf", "1e300", "-5"]:
        c.case(f"apply --wait-timeout {v}", ["apply", "-f", valid, "--wait", "--wait-timeout=" + v], expect=[64])
        c.case(f"drain --wait-timeout {v}", ["drain", "tcp/10.0.0.1:80", "--wait", "--wait-timeout=" + v], expect=[64])
        c.case(f"apply --max-removal {v}", ["apply", "-f", valid, "--max-removal=" + v], expect=[64])
        c.case(f"run --interval {v}", ["run", "--interval=" + v], expect=[64])
    for v in ["99999999", "1e300", "-1"]:
        c.case(f"apply --drain-timeout {v}", ["apply", "-f", valid, "--drain-timeout=" + v], expect=[64])
    for v in ["99999999999999999999d", "1e400s", "nanm", "infh", "-5d"]:
        c.case(f"history --since {v}", ["history", "--since", v], expect=[64])
        c.case(f"history --until {v}", ["history", "--until", v], expect=[64])
    for v in ["0", "-1", "99999999999999999999"]:
        c.case(f"history --limit {v}", ["history", "--limit=" + v], expect=[64])

    with open(os.path.join(root, "cases.json"), "w") as f:
        json.dump(c.cases, f, indent=1)
    return c.cases


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    cases = generate(sys.argv[1])
    print(f"{len(cases)} cases in {sys.argv[1]}")
