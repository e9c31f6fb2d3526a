#!/usr/bin/env python3
"""Registration rate: G-IKEv2 GSA_AUTH next to plain IKEv2 IKE_AUTH (lab only).

  load.py --uri unix://.../charon.vici --group-conn gcks --plain-conn plain
          [--seconds 8] [--block 2] [--log charon.log]

Runs in the group member's namespace and talks to its charon over vici (lib/vici.py,
no swanctl process per cycle, so process start-up does not hide the protocol cost).
One cycle = initiate the childless IKE SA of a connection and wait for its ike-updown
event, terminate that IKE SA (by unique ID) and wait for the event of it going down;
for --group-conn also wait until the member's plugin has logged "gikev2: registered"
(it processes the key download and installs the group SAs in a job after the IKE SA
is up: a registration counts once it is complete). Both commands are asynchronous
(timeout -1): a vici initiate or terminate that streams charon's log back (any timeout
>= 0) makes charon format every log message at every level while it runs (its
controller asks for LEVEL_PRIVATE), so the loop would measure the formatting of each
parsed field at debug level 3 rather than the exchanges, the larger GSA_AUTH messages
more so. Registrations in production are started by charon itself, without a vici log
listener. For --group-conn the plugin turns the IKE_AUTH into GSA_AUTH (the connection
carries a membership), for --plain-conn it is a plain IKE_AUTH with the same proposals
against the same responder. The two loops alternate in blocks of --block seconds until
each ran --seconds, so both see the same machine load. A cycle that does not finish
within --timeout-ms (charon sends no event for an IKE SA that fails before it is up)
counts as failed; the session is reopened and the connection's IKE SAs terminated.

Prints the cycles per second of each and their ratio. Exit 0 if both completed at
least one cycle (there is no timing assertion).
"""

import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vici import Session, ViciError  # noqa: E402


class Timeout(Exception):
    pass


def wait_updown(s, conn, up, deadline, uniqueid=None):
    """Waits for the ike-updown event of an IKE SA of `conn` going up (or down), with
    `uniqueid` if given (IKE SAs the member's plugin starts on its own are ignored);
    returns the event's IKE SA unique ID. Raises Timeout at `deadline` (charon sends no
    event for an IKE SA that fails before it is up)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("no ike-updown event for %s" % conn)
        try:
            name, msg = s.next_event(left)
        except socket.timeout:
            raise Timeout("no ike-updown event for %s" % conn)
        sa = msg.get(conn) if name == "ike-updown" else None
        if not isinstance(sa, dict):
            continue
        if uniqueid is not None and sa.get("uniqueid") != uniqueid:
            continue
        if (msg.get("up") == "yes") == up:
            return sa.get("uniqueid")


class LogCounter:
    """Counts lines containing `needle` appended to a log file since it was opened."""

    def __init__(self, path, needle):
        self.f = open(path, errors="replace") if path and os.path.exists(path) else None
        if self.f:
            self.f.seek(0, os.SEEK_END)
        self.needle = needle
        self.rest = ""
        self.count = 0

    def poll(self):
        if self.f:
            data = self.rest + self.f.read()
            lines = data.split("\n")
            self.rest = lines.pop()
            self.count += sum(1 for l in lines if self.needle in l)
        return self.count


def cycle(s, conn, timeout_ms, registrations=None):
    """One cycle; with `registrations` (a LogCounter and the count it must reach) the
    cycle ends only when the member's plugin has also logged the registration done (it
    processes the key download in a job after the IKE SA is up)."""
    deadline = time.monotonic() + timeout_ms / 1000.0
    # timeout -1: charon answers once the exchange is started, without streaming its log
    # to us. With a log callback (any timeout >= 0) charon's controller asks for every
    # log message at every level while the command runs, and formats each one: that
    # would measure charon's debug formatting of every parsed field, not the protocols.
    r = s.request("initiate", {"ike": conn, "timeout": "-1"})
    if r.get("success") != "yes":
        return False, r.get("errmsg", "initiate failed")
    uid = wait_updown(s, conn, True, deadline)
    r = s.request("terminate", {"ike-id": uid, "timeout": "-1"})
    if r.get("success") != "yes":
        return False, r.get("errmsg", "terminate failed")
    wait_updown(s, conn, False, deadline, uid)
    if registrations:
        counter, want = registrations
        while counter.poll() < want:
            if time.monotonic() > deadline:
                raise Timeout("registration not logged")
            time.sleep(0.0002)
    return True, None


def count_in_log(path, offset, needle):
    if not path:
        return None
    try:
        with open(path, errors="replace") as f:
            f.seek(offset)
            return sum(1 for l in f if needle in l)
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", required=True)
    ap.add_argument("--group-conn", default="gcks")
    ap.add_argument("--plain-conn", default="plain")
    ap.add_argument("--seconds", type=float, default=8.0, help="run time of each loop")
    ap.add_argument("--block", type=float, default=2.0, help="alternate every this many seconds")
    ap.add_argument("--timeout-ms", type=int, default=10000, help="time limit of one cycle")
    ap.add_argument("--log", help="charon log of this host (counts 'gikev2: registered')")
    a = ap.parse_args()

    def session():
        s = Session(a.uri, timeout=a.timeout_ms / 1000.0)
        s.register("ike-updown")
        return s

    s = session()
    log_off = os.path.getsize(a.log) if a.log and os.path.exists(a.log) else 0
    # A group cycle is done when the member has processed the key download, too.
    counter = LogCounter(a.log, "gikev2: registered") if a.log else None
    stats = {a.group_conn: [0, 0.0, 0, None], a.plain_conn: [0, 0.0, 0, None]}  # ok, time, errors, last error
    order = [a.group_conn, a.plain_conn]
    i = 0
    while any(stats[c][1] < a.seconds for c in order):
        conn = order[i % 2]
        i += 1
        st = stats[conn]
        if st[1] >= a.seconds:
            continue
        t_end = time.monotonic() + min(a.block, a.seconds - st[1])
        t0 = time.monotonic()
        while time.monotonic() < t_end:
            regs = None
            if counter and conn == a.group_conn:
                regs = (counter, counter.poll() + 1)
            try:
                ok, err = cycle(s, conn, a.timeout_ms, regs)
            except (Timeout, ViciError, OSError) as e:
                # Out of step: a fresh session, and the connection's IKE SAs ended.
                ok, err = False, str(e)
                s.close()
                s = session()
                s.request("terminate", {"ike": conn, "timeout": "-1"})
            if ok:
                st[0] += 1
            else:
                st[2] += 1
                st[3] = err
                if st[2] > 20 and st[0] == 0:
                    break
        st[1] += time.monotonic() - t0
        if st[2] > 20 and st[0] == 0:
            print("load: %s keeps failing (%s), giving up" % (conn, st[3]), flush=True)
            st[1] = a.seconds
    s.close()

    reg = count_in_log(a.log, log_off, "gikev2: registered")
    g, p = stats[a.group_conn], stats[a.plain_conn]
    grate = g[0] / g[1] if g[1] else 0.0
    prate = p[0] / p[1] if p[1] else 0.0
    print("load: GSA_AUTH via '%s': %d registrations in %.1f s = %.1f/s%s%s" % (
        a.group_conn, g[0], g[1], grate,
        "" if reg is None else " (plugin log: %d 'gikev2: registered')" % reg,
        "" if not g[2] else ", %d failed (%s)" % (g[2], g[3])))
    print("load: IKE_AUTH via '%s': %d establishments in %.1f s = %.1f/s%s" % (
        a.plain_conn, p[0], p[1], prate, "" if not p[2] else ", %d failed (%s)" % (p[2], p[3])))
    if prate:
        print("load: ratio GSA_AUTH/IKE_AUTH = %.2f" % (grate / prate))
    ok = g[0] > 0 and p[0] > 0
    print("load: %s" % ("completed" if ok else "FAILED: a loop completed no cycle"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
