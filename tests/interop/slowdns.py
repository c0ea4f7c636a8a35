"""A tiny authoritative DNS server for tests: answers A queries for its zone from 127.0.0.1:53
after a delay (a slow or overloaded resolver), NXDOMAIN for other names, an empty answer for
other record types. Each query is answered on its own thread, so the delay applies to each."""
import socket
import struct
import threading
import time


class SlowDns:
    def __init__(self, zone, delay=2.0, host="127.0.0.1", port=53):
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.delay = delay
        self.queries = []  # (time, name, qtype)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        self.sock.close()

    def _serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            threading.Thread(target=self._answer, args=(data, peer), daemon=True).start()

    @staticmethod
    def _question(data):
        pos, labels = 12, []
        while pos < len(data) and data[pos] != 0:
            n = data[pos]
            labels.append(data[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        qtype, = struct.unpack("!H", data[pos + 1:pos + 3])
        return ".".join(labels).lower(), qtype, data[12:pos + 5]

    def _answer(self, data, peer):
        try:
            name, qtype, question = self._question(data)
        except (struct.error, IndexError):
            return
        self.queries.append((time.time(), name, qtype))
        time.sleep(self.delay)
        qid, = struct.unpack("!H", data[:2])
        known = name in self.zone
        answers = b""
        count = 0
        if known and qtype == 1:
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(self.zone[name])
            count = 1
        rcode = 0 if known else 3
        header = struct.pack("!HHHHHH", qid, 0x8580 | rcode, 1, count, 0, 0)
        try:
            self.sock.sendto(header + question + answers, peer)
        except OSError:
            pass
