#!/usr/bin/env python3
"""test_control_boundary — the control socket and privd's files, attacked.

Runs the real dpifd (privd, spawner, workers, dummy datapath) as root with
the privilege drop and attacks it from outside, as real other uids (users
created for the test, removed afterwards if the test made them):

  run-dir   a symlinked, group-writable or foreign-owned run directory is
            refused with a clear error (B7);
  racer     a process of uid dpifd swaps the socket name for a symlink to
            a root-owned 0600 file while privd starts, again and again: the
            file stays root's 0600 (B7: no chown/chmod by path);
  cleanup   after SIGTERM nothing privd made is left: a run directory it
            created is gone, in a root-owned one neither socket nor empty
            root stays, and the log has no "Permission denied" (F2);
  groups    dpifd-admin created (in privd's view of /etc/group) after
            privd started: an admin's change works without a restart, and
            fails before (F1);
  slots     16 idle connections of a reader get 4 (per-uid quota); four
            reader uids cannot take the writers' slots: root and an admin
            are still served; idle connections are closed after
            CONTROL_IDLE_MSEC (B8);
  parking   with the revalidator stopped, readers park 4 revalidator/wait
            and the fifth gets EBUSY, and an admin's revalidator/purge
            still parks (B8);
  escape    a datapath name with a newline is logged on one line, escaped
            (B10);
  tmpfiles  a symlink planted at the old fixed temporary names of the rules
            file and the metrics textfile is never followed (Also).

Usage: test_control_boundary.py DPIFD DPIFCTL
"""
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "helpers"))
from dpifd_users import Users  # noqa: E402

DPIFD, DPIFCTL = sys.argv[1], sys.argv[2]
IDLE_SEC = 10           # CONTROL_IDLE_MSEC
PER_UID = 4             # CONTROL_MAX_PER_UID
PARKED_READERS = 4      # CONTROL_MAX_PARKED_READERS

failures = []
users = Users()
tmp = tempfile.mkdtemp(prefix="test-control-boundary.")
os.chmod(tmp, 0o755)
daemons = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def wait_for(pred, what, seconds=15):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    fail("timed out waiting for " + what)
    return False


def as_user(user, cmd):
    return ["setpriv", "--reuid", user, "--regid", user, "--init-groups",
            "--"] + cmd


class Dpifd:
    """One dpifd on a dummy datapath; 'prefix' runs it in a wrapper."""

    def __init__(self, name, run_dir, extra_conf="", prefix=(),
                 rules=None, sock=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.run_dir = run_dir
        self.sock = sock or os.path.join(run_dir, "dpifd.ctl")
        self.log_path = os.path.join(self.dir, "log")
        conf = os.path.join(self.dir, "dpifd.conf")
        with open(conf, "w") as f:
            f.write("handlers = 1\nrevalidators = 1\nlog-level = info\n%s"
                    "[datapath dummy@dp0]\nport = p1:dummy\n"
                    "port = p2:dummy\n%s" % (extra_conf, "rules = %s\n"
                                              % rules if rules else ""))
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(list(prefix) + [DPIFD, "--config", conf,
                                                     "--run-dir", run_dir],
                                     stdout=self.log, stderr=self.log)
        daemons.append(self)

    def ctl(self, *args, user=None, timeout=30):
        cmd = [DPIFCTL, "--socket", self.sock] + list(args)
        try:
            p = subprocess.run(as_user(user, cmd) if user else cmd,
                               capture_output=True, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return -1, "", "no reply in %d s" % timeout
        return p.returncode, p.stdout, p.stderr

    def wait_ready(self, workers=True):
        ok = wait_for(lambda: self.proc.poll() is not None
                      or self.ctl("show")[0] == 0, "dpifd to answer")
        if ok and self.proc.poll() is None and workers:
            ok = wait_for(lambda: self.ctl("procs")[1].count("running") >= 4,
                          "the workers to run")
        return ok and self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("dpifd did not exit on SIGTERM")
        self.log.close()
        log = self.text()
        check("AddressSanitizer" not in log and "runtime error:" not in log
              and "LeakSanitizer" not in log,
              "%s: sanitizer report: %s" % (self.dir, log[-1500:]))
        return self.proc.returncode

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def counter(self, name):
        out = self.ctl("counters")[1]
        m = re.search(r"(?m)^%s\s+([0-9]+)$" % re.escape(name), out)
        return int(m.group(1)) if m else 0


def refused_start(name, run_dir, want):
    d = Dpifd(name, run_dir)
    try:
        rc = d.proc.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
    d.stop()
    log = d.text()
    check(rc == 1 and want in log,
          "%s: run-dir %s: exit %s, wanted 1 with %r: %s"
          % (name, run_dir, rc, want, log.strip()[-300:]))


# ----- B7: the run directory is checked ----------------------------------

def test_run_dir_checks():
    real = os.path.join(tmp, "real-run")
    os.mkdir(real, 0o755)
    link = os.path.join(tmp, "link-run")
    os.symlink(real, link)
    refused_start("symlink", link, "symbolic link")
    gw = os.path.join(tmp, "gw-run")
    os.mkdir(gw)
    os.chmod(gw, 0o775)
    refused_start("group-writable", gw, "writable by its group")
    foreign = os.path.join(tmp, "foreign-run")
    os.mkdir(foreign, 0o755)
    shutil.chown(foreign, "dpifd-test-b-reader")
    refused_start("foreign", foreign, "is owned by uid")
    for p in (real, gw, foreign):
        check(os.listdir(p) == [], "%s: privd made something in a refused "
              "run directory: %s" % (p, os.listdir(p)))
    print("run-dir: symlink, group-writable and foreign run dirs refused")


# ----- B7: a racer in a run directory of uid dpifd ------------------------

RACER = r'''
import os, sys, time
ctl, victim, end = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])
n = 0
while time.time() < end:
    try:
        os.unlink(ctl)
    except OSError:
        pass
    try:
        os.symlink(victim, ctl)
        n += 1
    except OSError:
        pass
print(n)
'''


def test_racer():
    run = os.path.join(tmp, "racer-run")
    os.mkdir(run, 0o755)
    shutil.chown(run, "dpifd", "dpifd")
    victim = os.path.join(tmp, "victim")
    with open(victim, "w") as f:
        f.write("root's secret\n")
    os.chmod(victim, 0o600)
    racer = subprocess.Popen(as_user("dpifd", [sys.executable, "-c", RACER,
                                               os.path.join(run, "dpifd.ctl"),
                                               victim, "12"]),
                             stdout=subprocess.PIPE, text=True)
    starts = 0
    end = time.time() + 10
    while time.time() < end:
        d = Dpifd("racer%d" % starts, run)
        deadline = time.time() + 5
        while d.proc.poll() is None and time.time() < deadline \
                and "listening on" not in d.text():
            time.sleep(0.01)
        d.stop()
        starts += 1
    racer.wait(30)
    swaps = int(racer.stdout.read().strip() or 0)
    st = os.lstat(victim)
    check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
          and st.st_gid == 0,
          "racer: the victim became uid %d gid %d mode %o" %
          (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
    check(open(victim).read() == "root's secret\n", "racer: victim changed")
    check(swaps > 100 and starts >= 3,
          "racer: only %d swaps, %d starts" % (swaps, starts))
    # A run directory privd makes is root's: the racer cannot even plant.
    own = os.path.join(tmp, "own-run")
    d = Dpifd("own", own)
    if d.wait_ready(workers=False):
        st = os.stat(own)
        check(st.st_uid == 0 and not st.st_mode & 0o022,
              "own run dir: uid %d mode %o" % (st.st_uid, st.st_mode))
        p = subprocess.run(as_user("dpifd", ["ln", "-s", victim,
                                             os.path.join(own, "x")]),
                           capture_output=True)
        check(p.returncode != 0, "uid dpifd may write privd's new run dir")
    d.stop()
    print("racer: %d symlink swaps over %d starts, victim untouched"
          % (swaps, starts))


# ----- F2: nothing privd made is left -------------------------------------

def test_cleanup():
    made = os.path.join(tmp, "made-run")         # privd makes it
    given = os.path.join(tmp, "given-run")       # root's, exists
    os.mkdir(given, 0o755)
    for name, run in (("made", made), ("given", given)):
        d = Dpifd("cleanup-" + name, run)
        if not d.wait_ready():
            d.stop()
            continue
        inside = sorted(os.listdir(run))
        check("dpifd.ctl" in inside and "empty" in inside,
              "%s: run dir holds %s" % (name, inside))
        rc = d.stop()
        check(rc == 0, "%s: exit status %s" % (name, rc))
        log = d.text()
        check("Permission denied" not in log and "stays at exit" not in log,
              "%s: exit log: %s" % (name, log.strip()[-400:]))
        if name == "made":
            check(not os.path.exists(made),
                  "made: privd's run dir stays: %s"
                  % (os.listdir(made) if os.path.isdir(made) else "?"))
        else:
            check(os.listdir(given) == [],
                  "given: left in the run dir: %s" % os.listdir(given))
    print("cleanup: nothing left in a made or a given run dir")


# ----- F1 + B8: groups, slots, idle, parking ------------------------------

HOLDER = r'''
import os, select, socket, sys, time
path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    socks.append(s)
time.sleep(1.0)
def closed(s):
    r, _, _ = select.select([s], [], [], 0)
    return bool(r) and s.recv(1, socket.MSG_DONTWAIT) == b""
held = [s for s in socks if not closed(s)]
print("held %d refused %d" % (len(held), n - len(held)), flush=True)
end = time.time() + hold
while time.time() < end and not all(closed(s) for s in held):
    time.sleep(0.2)
print("closed %d" % sum(closed(s) for s in held), flush=True)
'''


def holder(d, user, n, hold):
    p = subprocess.Popen(as_user(user, [sys.executable, "-c", HOLDER,
                                        d.sock, str(n), str(hold)]),
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    return p, (int(line[1]), int(line[3])) if len(line) == 4 else (-1, -1)


def test_groups_slots_parking():
    # privd's view of the group database: a copy without dpifd-admin,
    # bind-mounted over /etc/group in privd's own mount namespace, so that
    # the group can be "created" after privd started without touching the
    # machine's groups.
    view = os.path.join(tmp, "group")
    with open("/etc/group") as f:
        lines = f.readlines()
    admin_line = [l for l in lines if l.startswith("dpifd-admin:")]
    with open(view, "w") as f:
        f.writelines(l for l in lines if not l.startswith("dpifd-admin:"))
    os.chmod(view, 0o644)
    wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/group && exec "$@"', view]
    d = Dpifd("slots", os.path.join(tmp, "slots-run"), prefix=wrap)
    if not d.wait_ready():
        d.stop()
        fail("slots: dpifd did not start: " + d.text()[-400:])
        return

    # F1: admin denied while the group does not exist for privd; allowed
    # once it does, without a restart.
    rc, _, err = d.ctl("fdb/flush", "dp0", user="dpifd-test-b-admin")
    check(rc == 1 and "permission denied" in err,
          "groups: admin may change before dpifd-admin exists: %d %s"
          % (rc, err))
    with open(view, "a") as f:
        f.writelines(admin_line)
    rc, _, err = d.ctl("fdb/flush", "dp0", user="dpifd-test-b-admin")
    check(rc == 0, "groups: dpifd-admin created after start: admin "
          "cannot change: %s" % err)
    rc, _, err = d.ctl("fdb/flush", "dp0", user="dpifd-test-b-reader")
    check(rc == 1 and "permission denied" in err,
          "groups: reader may change: %d %s" % (rc, err))
    print("groups: dpifd-admin created after start counts at once")

    # B8: per-uid quota and the writers' slots, idle timeout.
    t0 = time.time()
    h1, (held, refused) = holder(d, "dpifd-test-b-reader", 16, IDLE_SEC + 6)
    check(held == PER_UID and refused == 16 - PER_UID,
          "slots: one reader holds %d of 16 (want %d)" % (held, PER_UID))
    others = [holder(d, "dpifd-test-b-r%d" % i, PER_UID, IDLE_SEC + 6)
              for i in (2, 3)]
    for _, (h, r) in others:
        check(h == PER_UID, "slots: another reader holds %d" % h)
    # 12 reader connections: the fourth reader uid finds no slot ...
    h4, (h, r) = holder(d, "dpifd-test-b-r4", 1, 0)
    check(h == 0 and r == 1, "slots: a 13th reader connection was served")
    h4.wait(10)
    # ... but root and an administrator do.
    rc, _, err = d.ctl("show")
    check(rc == 0, "slots: root locked out by readers: " + err)
    rc, _, err = d.ctl("fdb/flush", "dp0", user="dpifd-test-b-admin")
    check(rc == 0, "slots: admin locked out by readers: " + err)
    for name in ("control_client_uid_limit", "control_client_reader_limit"):
        check(d.counter(name) >= 1, "slots: counter %s not counted" % name)
    # Idle connections go after IDLE_SEC.
    for p in [h1] + [p for p, _ in others]:
        line = p.stdout.readline().split()
        p.wait(30)
        check(line == ["closed", str(PER_UID)],
              "idle: the held connections were not closed: %s" % line)
    elapsed = time.time() - t0
    check(IDLE_SEC - 1 <= elapsed <= IDLE_SEC + 6,
          "idle: closed after %.1f s" % elapsed)
    check(d.counter("control_client_idle_closed") >= 3 * PER_UID,
          "idle: control_client_idle_closed not counted")
    print("slots: reader quota %d, writers served, idle closed after %.1fs"
          % (PER_UID, elapsed))

    # B8: parking per class.  A stopped revalidator never finishes a cycle
    # (of a datapath with a flow to revalidate).
    flow = ("in_port(1),eth(src=02:00:00:00:00:0a,dst=02:00:00:00:00:0b),"
            "eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,"
            "ttl=64),udp(src=1000,dst=53)")
    rc, _, err = d.ctl("inject", "--flow", flow, "dp0", "p1")
    check(rc == 0, "parking: inject: " + err)
    wait_for(lambda: "flows: 1" in d.ctl("show", "dp0")[1], "a flow")
    procs = d.ctl("procs")[1]
    m = re.search(r"(?m)^revalidator\s+\S+\s+\S+\s+([0-9]+)", procs)
    if not check(m, "parking: no revalidator pid in procs: " + procs):
        d.stop()
        return
    reval = int(m.group(1))
    os.kill(reval, signal.SIGSTOP)
    try:
        waits = []
        for i in range(PARKED_READERS):
            user = "dpifd-test-b-reader" if i < 2 else "dpifd-test-b-r2"
            waits.append(subprocess.Popen(
                as_user(user, [DPIFCTL, "--socket", d.sock,
                               "revalidator/wait"]),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        wait_for(lambda: "control_parked" in d.ctl("counters")[1]
                 and d.counter("control_parked") >= PARKED_READERS,
                 "the readers' waits to park", 10)
        rc, _, err = d.ctl("revalidator/wait", user="dpifd-test-b-r3",
                           timeout=10)
        check(rc == 1 and "without write rights" in err,
              "parking: a fifth reader wait: %d %s" % (rc, err))
        purge = subprocess.Popen(
            as_user("dpifd-test-b-admin", [DPIFCTL, "--socket", d.sock,
                                           "revalidator/purge"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        if purge.poll() is not None:
            check(purge.returncode == 0, "parking: admin purge: %s"
                  % purge.stderr.read())
        check(d.counter("control_parked_reader_limit") >= 1,
              "parking: control_parked_reader_limit not counted")
    finally:
        os.kill(reval, signal.SIGCONT)
    for p in waits + [purge]:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
        err = p.stderr.read()
        check("EBUSY" not in err and "try again" not in err,
              "parking: a parked request failed: " + err)
    print("parking: %d reader waits parked, the next refused, admin purge "
          "parked" % PARKED_READERS)

    # B10: a client's newline does not start a log line.
    d.ctl("del-dp", "nosuch\nprivd|main|err|FORGED")
    d.stop()
    log = d.text()
    check(not re.search(r"(?m)^privd\|main\|err\|FORGED", log)
          and "nosuch\\nprivd|main|err|FORGED" in log,
          "escape: the client's newline reached the log: %s"
          % [l for l in log.splitlines() if "FORGED" in l])
    print("escape: a newline from a client is logged as \\n")


# ----- Also: no fixed temporary names -------------------------------------

def test_tmpfiles():
    files = os.path.join(tmp, "files")
    os.mkdir(files, 0o755)
    shutil.chown(files, "dpifd", "dpifd")
    rules = os.path.join(files, "dp0.rules")
    with open(rules, "w") as f:
        f.write("priority=300,arp,actions=normal\n")
    shutil.chown(rules, "dpifd", "dpifd")
    prom = os.path.join(files, "dpifd.prom")
    victims = []
    for target in (rules, prom):
        v = target + ".victim"
        with open(v, "w") as f:
            f.write("victim\n")
        shutil.chown(v, "dpifd", "dpifd")
        os.symlink(v, target + ".tmp")
        victims.append(v)
    d = Dpifd("tmpfiles", os.path.join(tmp, "tmpfiles-run"), rules=rules,
              extra_conf="metrics-textfile = %s\nmetrics-interval = 1\n"
              % prom)
    if d.wait_ready():
        rc, out, err = d.ctl("rules/add", "dp0",
                             "priority=10,icmp,actions=flood")
        check(rc == 0, "tmpfiles: rules/add: %s" % err)
        wait_for(lambda: os.path.exists(prom), "the metrics textfile")
    d.stop()
    for v in victims:
        check(open(v).read() == "victim\n", "tmpfiles: %s was written "
              "through a planted symlink" % v)
        check(os.path.islink(v[:-len(".victim")] + ".tmp"),
              "tmpfiles: the planted symlink is gone")
    for f in (rules, prom):
        check(os.path.isfile(f) and not os.path.islink(f),
              "tmpfiles: %s is not a regular file" % f)
    check("icmp" in open(rules).read(), "tmpfiles: rules/add not saved")
    check("dpifd_" in open(prom).read(), "tmpfiles: textfile empty")
    leftovers = [n for n in os.listdir(files) if ".tmp." in n]
    check(not leftovers, "tmpfiles: temporary files left: %s" % leftovers)
    print("tmpfiles: planted symlinks ignored, both files written")


def main():
    if os.geteuid():
        print("not root: these attacks need real uids and the privilege "
              "drop; skipped")
        return 77
    users.ensure("dpifd")
    users.ensure("dpifd-worker")
    users.group("dpifd")
    users.group("dpifd-admin")
    users.ensure("dpifd-test-b-reader", ["dpifd"])
    for i in (2, 3, 4):
        users.ensure("dpifd-test-b-r%d" % i, ["dpifd"])
    users.ensure("dpifd-test-b-admin", ["dpifd", "dpifd-admin"])
    test_run_dir_checks()
    test_racer()
    test_cleanup()
    test_groups_slots_parking()
    test_tmpfiles()
    return 0


try:
    status = main()
finally:
    for dm in daemons:
        if dm.proc.poll() is None:
            dm.proc.kill()
            dm.proc.wait()
    users.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
if failures:
    print("%d failures" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
sys.exit(status)
