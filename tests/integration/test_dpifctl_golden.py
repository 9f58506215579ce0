#!/usr/bin/env python3
"""test_dpifctl_golden — dpifctl's output against a real dpifd.

Starts the real dpifd (privd, spawner, dpif-handlerd, dpif-revald) on a
dummy datapath with a rules file, sends a little traffic with
"dpifctl inject", then runs the real dpifctl for every read command and
checks:

  * text output: equal to tests/integration/golden/NAME.txt after
    normalize() (below) has replaced what changes from run to run
    (counters and metrics: every golden line present, since modules add
    counters);
  * JSON output (--format json): one valid document (json.loads, and
    "python3 -m json.tool" accepts it) with the members that
    docs/dpifctl-json.md lists for that command (SCHEMA below);
  * exit codes: 0 ok, 1 failed operation, 2 usage;
  * permissions (as root only): a user in group dpifd reads and gets
    "permission denied" (exit 1) on a change; a user in dpifd-admin
    changes; a user in neither cannot connect.  The users and groups are
    created (helpers/dpifd_users.py) before dpifd starts, so the test does
    not depend on what an earlier run left on the machine, and removed
    afterwards if this run created them.  (A group created after dpifd
    started is test_control_boundary's case.)

Regenerate the golden files after an intended change of the output with
    DPIFD_GOLDEN_UPDATE=1 ctest -R test_dpifctl_golden
and review the diff.

Usage: test_dpifctl_golden.py DPIFD DPIFCTL GOLDEN_DIR
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "helpers"))
from dpifd_users import Users  # noqa: E402

DPIFD, DPIFCTL, GOLDEN = sys.argv[1], sys.argv[2], sys.argv[3]
UPDATE = os.environ.get("DPIFD_GOLDEN_UPDATE") == "1"
ROOT = os.geteuid() == 0

# ----- normalizer ---------------------------------------------------------
#
# Volatile fields, replaced in this order:
#   - UFIDs (8-4-4-4-12 hex)                     -> <ufid>
#   - "used:1.234s" and "used:never"             -> used:<t>
#   - durations printed by procs ("61ms", "2.5s", "1m03s", "1h02m")
#                                                -> <dur>
#   - procs' PID, UID and CAPABILITIES columns    -> <pid>, <uid>, <caps>
#     (they depend on whether the test runs as root)
#   - values that move by themselves: every counter's value (counters),
#     rss_bytes (memory/show), every sample value (metrics) -> N
#   - upcall/show: average, maximum and dump duration -> N, and each
#     worker row's PID and count (upcalls, keys) -> <pid> <n>
#   - fdb/show: ages -> <age>, and the rows sorted (the table's bucket
#     order follows a keyed hash)
#   - runs of blank characters                   -> one space (column
#     widths follow the longest cell, e.g. a pid's digits)
#   - dump-flows lines are sorted (the dump order is a hash order).


def normalize(name, text):
    t = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
               r"[0-9a-f]{12}", "<ufid>", text)
    t = re.sub(r"used:(never|[0-9.]+s)", "used:<t>", t)
    if name == "procs":
        lines = []
        for line in t.splitlines():
            f = line.split()
            if f and f[0] in ("privd", "spawner", "handler", "revalidator"):
                # ROLE ID DP PID UID CAPABILITIES STATE RESTARTS UPTIME EXIT
                f[3] = "<pid>"
                f[4] = "<uid>"
                f[5] = "<caps>"     # root: after the drop; else none
                f[8] = "<dur>"
                line = " ".join(f)
            lines.append(line)
        t = "\n".join(lines) + "\n"
    if name == "counters":
        t = re.sub(r"(?m)^(\S+)\s+[0-9]+$", r"\1 N", t)
    if name == "memory-show":
        t = re.sub(r"(?m)^(rss_bytes\s+\S+\s+)[0-9]+$", r"\1N", t)
    if name == "metrics":
        t = re.sub(r"(?m)^([a-z_]+(\{[^}]*\})?) [0-9.e+-]+$", r"\1 N", t)
    if name == "upcall-show":
        t = re.sub(r"\(avg [0-9]+\) \(max [0-9]+\)", "(avg N) (max N)", t)
        t = re.sub(r"(?m)^(  dump duration : )[0-9]+ms$", r"\1Nms", t)
        t = re.sub(r"(?m)^(\s+[0-9]+)\s+([0-9]+|\(respawning\))\s+"
                   r"([0-9]+|-)$", r"\1 <pid> <n>", t)
    if name == "dump-flows":
        t = "".join(sorted(t.splitlines(keepends=True)))
    if name == "fdb-show":
        # Ages, and the table's bucket order (a keyed hash): sorted.
        t = re.sub(r"(?m) [0-9]+$", " <age>", t)
        head, *body = t.splitlines(keepends=True)
        t = head + "".join(sorted(body))
    t = re.sub(r"[ \t]+", " ", t)
    return t


# ----- JSON schema (docs/dpifctl-json.md): required members --------------

SCHEMA = {
    "show": {"datapaths": [{"name": 0, "type": 0, "lookups": 0, "flows": 0,
                            "masks": 0,
                            "ports": [{"port_no": 0, "name": 0, "type": 0,
                                       "stats": 0}]}]},
    "dump-dps": {"datapaths": [{"name": 0, "type": 0}]},
    "dump-flows": {"flows": [{"ufid": 0, "match": 0, "actions": 0,
                              "packets": 0, "bytes": 0, "used_msec": 0,
                              "idle_msec": 0, "tcp_flags": 0,
                              "tcp_flags_text": 0}]},
    "get-flow": {"flow": {"ufid": 0, "match": 0, "actions": 0, "packets": 0,
                          "bytes": 0}},
    "procs": {"processes": [{"role": 0, "id": 0, "dp": 0, "pid": 0,
                             "uid": 0, "capabilities": 0, "state": 0,
                             "restarts": 0, "uptime_msec": 0,
                             "last_exit": 0}]},
    "counters": {"counters": [{"name": 0, "process": 0, "value": 0}]},
    "memory-show": {"items": [{"name": 0, "process": 0, "value": 0}]},
    "metrics": {"format": 0, "text": 0},
    "rules-show": {"dp": 0, "generation": 0, "rules_file": 0, "rules": 0},
    "fdb-show": {"entries": [{"port_no": 0, "vlan": 0, "mac": 0,
                              "age_sec": 0}], "n_more": 0},
    "capture": {"frames": [{"port_no": 0, "frame": 0, "time_msec": 0}],
                "more": 0},
    "upcall-show": {"datapaths": [{"dp": 0, "flows": 0,
                                   "dump_duration_msec": 0, "megaflows": 0,
                                   "handlers": 0, "revalidators": 0}]},
}

# Golden outputs that share their command's normalizer and schema.
ALIASES = {"show-dp": "show", "dump-flows-more": "dump-flows"}

# Outputs that grow whenever a module adds a counter: every golden line
# must be there, new ones are fine.
SUBSET = {"counters", "metrics"}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def check_schema(name, doc, schema, path="$"):
    if isinstance(schema, dict):
        if not isinstance(doc, dict):
            fail("%s %s: expected an object" % (name, path))
            return
        for key, sub in schema.items():
            if key not in doc:
                fail("%s %s: member %r missing" % (name, path, key))
            elif doc[key] is not None:
                check_schema(name, doc[key], sub, path + "." + key)
    elif isinstance(schema, list):
        if not isinstance(doc, list):
            fail("%s %s: expected an array" % (name, path))
            return
        for i, item in enumerate(doc):
            check_schema(name, item, schema[0], "%s[%d]" % (path, i))


# ----- running things --------------------------------------------------------

tmp = tempfile.mkdtemp(prefix="test-dpifctl-golden.")
os.chmod(tmp, 0o755)
run_dir = os.path.join(tmp, "run")
sock = os.path.join(run_dir, "dpifd.ctl")
daemon = None
users = Users()


def ctl(*args, user=None, stdin=None):
    cmd = [DPIFCTL, "--socket", sock] + list(args)
    if user:
        cmd = ["setpriv", "--reuid", user, "--regid", user, "--init-groups",
               "--"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL if stdin is None else stdin)
    return p.returncode, p.stdout, p.stderr


def wait_for(pred, what, seconds=10):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise SystemExit("FAIL: timed out waiting for " + what)


def cleanup():
    if daemon and daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
    users.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    global daemon
    if ROOT:
        users.ensure("dpifd")
        users.ensure("dpifd-worker")
        users.group("dpifd")
        users.group("dpifd-admin")
        users.ensure("dpifd-test-reader", ["dpifd"])
        # The socket is the dpifd group's: an administrator is in both.
        users.ensure("dpifd-test-admin", ["dpifd", "dpifd-admin"])
        users.ensure("dpifd-test-other")
    # privd saves rules as uid dpifd: their directory is its.
    rules_dir = os.path.join(tmp, "rules")
    os.mkdir(rules_dir, 0o755)
    rules = os.path.join(rules_dir, "dp0.rules")
    with open(rules, "w") as f:
        f.write("# golden test rules\n"
                "priority=300,arp,actions=normal\n"
                "priority=200,tcp,tp_dst=22,actions=drop\n")
    conf = os.path.join(tmp, "dpifd.conf")
    with open(conf, "w") as f:
        f.write("handlers = 1\nrevalidators = 1\nlog-level = warn\n"
                "[datapath dummy@dp0]\nport = p1:dummy\nport = p2:dummy\n"
                "port = p3:dummy\nrules = %s\n" % rules)
    if ROOT:
        shutil.chown(rules_dir, "dpifd")
        shutil.chown(rules, "dpifd")
    log = open(os.path.join(tmp, "log"), "w")
    daemon = subprocess.Popen([DPIFD, "--config", conf, "--run-dir",
                               run_dir], stdout=log, stderr=log)
    wait_for(lambda: ctl("show")[0] == 0, "dpifd to answer")
    wait_for(lambda: ctl("procs")[1].count("running") >= 4,
             "the workers to run")
    wait_for(lambda: "n_packets" in ctl("rules/show", "dp0")[1],
             "the policy")

    def udp(inp, src, dst):
        return ("in_port(%d),eth(src=%s,dst=%s),eth_type(0x0800),"
                "ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64),"
                "udp(src=1000,dst=53)" % (inp, src, dst))
    a, b = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
    for flow, port, n in ((udp(1, a, b), "p1", 1), (udp(2, b, a), "p2", 2)):
        rc, out, err = ctl("inject", "--flow", flow, "dp0", port)
        if rc:
            raise SystemExit("FAIL: inject: " + err)
        wait_for(lambda: ctl("show", "dp0")[1].count("flows: %d" % n) == 1,
                 "flow %d" % n)
    ctl("inject", "--flow", udp(1, a, b), "dp0", "p1")
    wait_for(lambda: "hit:1 " in ctl("show", "dp0")[1], "a datapath hit")
    # A learned B after its first flow flooded: the revalidators turn that
    # flow into unicast; wait for it so the outputs do not race with it.
    wait_for(lambda: "actions:0,2,3" not in ctl("dump-flows", "dp0")[1],
             "the revalidators to re-check the flooding flow")

    rc, dump, _ = ctl("dump-flows", "--more", "dp0")
    first = re.search(r"ufid:[0-9a-f-]{36}", dump).group(0)

    # Golden text of every read command; upcall/show while privd says it
    # is not available is skipped (it has its own tests on that branch).
    reads = [
        ("show", ["show"]),
        ("show-dp", ["show", "dp0"]),
        ("dump-dps", ["dump-dps"]),
        ("dump-flows", ["dump-flows", "dp0"]),
        ("dump-flows-more", ["dump-flows", "--more", "dp0"]),
        ("get-flow", ["get-flow", "dp0", first]),
        ("procs", ["procs"]),
        ("counters", ["counters"]),
        ("memory-show", ["memory/show"]),
        ("metrics", ["metrics"]),
        ("rules-show", ["rules/show", "dp0"]),
        ("fdb-show", ["fdb/show", "dp0"]),
        ("capture", ["capture", "dp0", "p3"]),
        ("upcall-show", ["upcall/show"]),
    ]
    n_golden = 0
    for name, args in reads:
        rc, out, err = ctl(*args)
        if name == "upcall-show" and rc and "not available" in err:
            print("note: upcall/show not available in this build: skipped")
            continue
        if rc:
            fail("%s: exit %d: %s" % (" ".join(args), rc, err.strip()))
            continue
        key = ALIASES.get(name, name)
        got = normalize(key, out)
        path = os.path.join(GOLDEN, name + ".txt")
        if UPDATE:
            with open(path, "w") as f:
                f.write(got)
        elif not os.path.exists(path):
            fail("%s: no golden file %s (DPIFD_GOLDEN_UPDATE=1 writes it)"
                 % (name, path))
        else:
            want = open(path).read()
            if name in SUBSET:
                missing = [l for l in want.splitlines()
                           if l not in got.splitlines()]
                if missing:
                    fail("%s: lines of %s missing:\n%s"
                         % (name, path, "\n".join(missing)))
            elif got != want:
                fail("%s: differs from %s:\n--- want\n%s--- got\n%s"
                     % (name, path, want, got))
        n_golden += 1

        # JSON.
        rc, out, err = ctl("--format", "json", *args)
        if rc:
            fail("%s --format json: exit %d: %s" % (name, rc, err.strip()))
            continue
        tool = subprocess.run([sys.executable, "-m", "json.tool"],
                              input=out, capture_output=True, text=True)
        if tool.returncode:
            fail("%s: json.tool refuses the output: %s" % (name, tool.stderr))
            continue
        check_schema(name, json.loads(out), SCHEMA[key])

    # Exit codes: 2 usage, 1 failed operation, 0 ok.
    for args, want in ((["show", "dp0", "extra"], 2),
                       (["no-such-command"], 2),
                       (["dump-flows", "--bogus-option", "dp0"], 2),
                       (["show", "nodp"], 1),
                       (["get-flow", "dp0", "ufid:00000000-0000-0000-0000-"
                         "000000000000"], 1),
                       (["rules/add", "dp0", "priority=1,nw_dest=1,"
                         "actions=drop"], 1),
                       (["dump-dps"], 0)):
        rc, _, err = ctl(*args)
        if rc != want:
            fail("%s: exit %d, expected %d (%s)" % (" ".join(args), rc, want,
                                                    err.strip()))
    rc, _, err = ctl("rules/add", "dp0", "priority=1,nw_dest=1,actions=drop")
    if "1:12" not in err:
        fail("rules/add error does not name line and column: " + err)

    # A change through dpifctl is saved to the rules file.
    rc, out, err = ctl("rules/add", "dp0", "priority=10,icmp,actions=flood")
    if rc or "saved to " + rules not in out:
        fail("rules/add: %d %s %s" % (rc, out, err))
    if "priority=10,icmp,actions=flood" not in open(rules).read():
        fail("rules/add did not reach " + rules)
    rc, out, err = ctl("rules/del", "dp0", "--priority", "10", "icmp")
    if rc or "1 rule deleted" not in out:
        fail("rules/del: %d %s %s" % (rc, out, err))
    if "icmp" in open(rules).read():
        fail("rules/del did not reach " + rules)

    if ROOT:
        check_permissions()
    else:
        print("note: not root: permission checks skipped")
    return n_golden


def check_permissions():
    rc, out, err = ctl("show", user="dpifd-test-reader")
    if rc:
        fail("a member of dpifd cannot read: %s" % err)
    rc, out, err = ctl("fdb/flush", "dp0", user="dpifd-test-reader")
    if rc != 1 or "permission denied" not in err:
        fail("a member of dpifd may change: exit %d %s" % (rc, err))
    rc, out, err = ctl("fdb/flush", "dp0", user="dpifd-test-admin")
    if rc:
        fail("a member of dpifd-admin cannot change: %s" % err)
    rc, out, err = ctl("show", user="dpifd-test-other")
    if rc != 1 or not err:
        fail("a user in neither group can connect: exit %d" % rc)
    print("permissions: reader reads, reader denied a change, admin "
          "changes, other cannot connect")


try:
    n = main()
finally:
    cleanup()
if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok: %d golden outputs, JSON and exit codes checked" % n)
