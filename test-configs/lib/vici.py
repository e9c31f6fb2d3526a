"""Minimal strongSwan vici client (Python 3 stdlib only).

Enough of the vici wire protocol (strongSwan src/libcharon/plugins/vici/README.md)
for the lab: commands (`version`, `stats`, `initiate`, `terminate`, `list-sas`)
over the charon's unix socket, and events (`register`, `next_event`); events that
arrive while a command waits for its response are queued for `next_event`.

    from vici import Session
    s = Session("unix:///tmp/gk-lab/.../charon.vici")
    s.request("initiate", {"ike": "gcks", "timeout": "5000"})
"""

import socket
import struct

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 4, 5, 6, 7
SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6


class ViciError(Exception):
    pass


def _name(n):
    b = n.encode()
    return struct.pack("!B", len(b)) + b


def _value(v):
    if isinstance(v, bool):
        v = "yes" if v else "no"
    if not isinstance(v, bytes):
        v = str(v).encode()
    return struct.pack("!H", len(v)) + v


def encode(msg):
    out = b""
    for k, v in msg.items():
        if isinstance(v, dict):
            out += bytes([SECTION_START]) + _name(k) + encode(v) + bytes([SECTION_END])
        elif isinstance(v, (list, tuple)):
            out += bytes([LIST_START]) + _name(k)
            for item in v:
                out += bytes([LIST_ITEM]) + _value(item)
            out += bytes([LIST_END])
        else:
            out += bytes([KEY_VALUE]) + _name(k) + _value(v)
    return out


def decode(data):
    """Decode a vici message body into nested dicts/lists of str."""
    stack = [{}]
    lst = None
    i = 0
    while i < len(data):
        t = data[i]
        i += 1
        if t in (SECTION_START, KEY_VALUE, LIST_START):
            n = data[i]
            name = data[i + 1:i + 1 + n].decode(errors="replace")
            i += 1 + n
        if t == SECTION_START:
            sec = {}
            stack[-1][name] = sec
            stack.append(sec)
        elif t == SECTION_END:
            stack.pop()
        elif t == KEY_VALUE:
            (ln,) = struct.unpack("!H", data[i:i + 2])
            stack[-1][name] = data[i + 2:i + 2 + ln].decode(errors="replace")
            i += 2 + ln
        elif t == LIST_START:
            lst = []
            stack[-1][name] = lst
        elif t == LIST_ITEM:
            (ln,) = struct.unpack("!H", data[i:i + 2])
            lst.append(data[i + 2:i + 2 + ln].decode(errors="replace"))
            i += 2 + ln
        elif t == LIST_END:
            lst = None
        else:
            raise ViciError("bad element type %d" % t)
    return stack[0]


class Session:
    def __init__(self, uri, timeout=30.0):
        path = uri[len("unix://"):] if uri.startswith("unix://") else uri
        self.events = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def close(self):
        self.sock.close()

    def _recvall(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ViciError("connection closed")
            buf += chunk
        return buf

    def _send(self, payload):
        self.sock.sendall(struct.pack("!I", len(payload)) + payload)

    def _recv(self):
        (ln,) = struct.unpack("!I", self._recvall(4))
        return self._recvall(ln)

    def request(self, command, msg=None):
        self._send(bytes([CMD_REQUEST]) + _name(command) + encode(msg or {}))
        while True:
            pkt = self._recv()
            t = pkt[0]
            if t == CMD_RESPONSE:
                return decode(pkt[1:])
            if t == CMD_UNKNOWN:
                raise ViciError("unknown command %s" % command)
            if t == EVENT:
                self.events.append(self._event(pkt))
                continue
            raise ViciError("unexpected packet type %d" % t)

    @staticmethod
    def _event(pkt):
        n = pkt[1]
        return pkt[2:2 + n].decode(errors="replace"), decode(pkt[2 + n:])

    def register(self, event):
        """Subscribes to `event` (e.g. "ike-updown")."""
        self._send(bytes([EVENT_REGISTER]) + _name(event))
        while True:
            pkt = self._recv()
            t = pkt[0]
            if t == EVENT_CONFIRM:
                return
            if t == EVENT:
                self.events.append(self._event(pkt))
                continue
            raise ViciError("cannot register for event %s (packet type %d)" % (event, t))

    def next_event(self, timeout=None):
        """The next event as (name, message): a queued one, or the next received.
        With `timeout` (seconds), raises socket.timeout when none arrives in time; the
        session may then be out of step and should be closed."""
        if self.events:
            return self.events.pop(0)
        old = self.sock.gettimeout()
        if timeout is not None:
            self.sock.settimeout(max(timeout, 0.001))
        try:
            while True:
                pkt = self._recv()
                if pkt[0] == EVENT:
                    return self._event(pkt)
                raise ViciError("unexpected packet type %d while waiting for an event" % pkt[0])
        finally:
            self.sock.settimeout(old)
