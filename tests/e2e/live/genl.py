#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A bare generic netlink client for the live scenarios, independent of
chainctl: sends what chainctl never sends and times the controller.

  genl.py getfamily NAME         resolve NAME with CTRL_CMD_GETFAMILY; print
                                 "id=N ms=T"; exit 1 when there is none
  genl.py merge DEVICE DEPTH     DM_CHAIN_CMD_MERGE with DM_CHAIN_MERGE_A_DEPTH;
                                 on refusal print "errno=NAME msg=TEXT", exit 1
  genl.py merge-top DEVICE TOP   DM_CHAIN_MERGE_A_TOP alone (no INTO): refused
  genl.py dump                   DM_CHAIN_CMD_GET as a dump: one line per
                                 device "NAME nr_layers=N listed=L parts=P"
"""
import errno
import os
import socket
import struct
import sys
import time

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 1, 2, 4, 0x300
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLA_F_NESTED = 0x8000
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLMSGERR_ATTR_MSG = 1

# include/dm-chain/netlink.h
CMD_GET, CMD_MERGE = 1, 2
A_DEVICE, A_MERGE = 2, 3
DEV_A_NAME, DEV_A_NR_LAYERS, DEV_A_LAYER, DEV_A_FIRST_LAYER = 1, 4, 7, 9
MERGE_A_DEPTH = 1
MERGE_A_TOP = 20


def attr(typ, payload):
    n = 4 + len(payload)
    return struct.pack("HH", n, typ) + payload + b"\0" * ((4 - n % 4) % 4)


def attrs(data):
    out, off = {}, 0
    while off + 4 <= len(data):
        n, typ = struct.unpack_from("HH", data, off)
        if n < 4:
            break
        out.setdefault(typ & 0x3fff, []).append(data[off + 4:off + n])
        off += (n + 3) & ~3
    return out


class Genl:
    def __init__(self):
        self.sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                NETLINK_GENERIC)
        self.sk.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sk.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sk.bind((0, 0))
        self.seq = 0

    def request(self, ftype, cmd, payload, flags=NLM_F_ACK):
        """Return (messages' attribute bytes, 0) or (None, -errno, msg)."""
        self.seq += 1
        body = struct.pack("BBH", cmd, 1, 0) + payload
        hdr = struct.pack("IHHII", 16 + len(body), ftype,
                          NLM_F_REQUEST | flags, self.seq, 0)
        self.sk.send(hdr + body)
        got = []
        while True:
            data = self.sk.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                n, typ, fl, seq, _ = struct.unpack_from("IHHII", data, off)
                msg = data[off + 16:off + n]
                off += (n + 3) & ~3
                if typ == NLMSG_DONE:
                    return got, 0, ""
                if typ == NLMSG_ERROR:
                    err = struct.unpack_from("i", msg)[0]
                    text = ""
                    if fl & NLM_F_ACK_TLVS:
                        tl = attrs(msg[4 + 16:])
                        if NLMSGERR_ATTR_MSG in tl:
                            text = tl[NLMSGERR_ATTR_MSG][0].rstrip(b"\0")
                            text = text.decode()
                    return (got if not err else None), err, text
                got.append(msg[4:])
                if not fl & NLM_F_MULTI:
                    continue

    def family(self, name):
        got, err, text = self.request(
            GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
            attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"))
        if err:
            return None
        return struct.unpack("H", attrs(got[0])[CTRL_ATTR_FAMILY_ID][0][:2])[0]


def main():
    g = Genl()
    if sys.argv[1] == "getfamily":
        t0 = time.monotonic()
        fid = g.family(sys.argv[2])
        ms = (time.monotonic() - t0) * 1000
        print("id=%s ms=%.1f" % (fid, ms))
        return 0 if fid else 1
    fid = g.family("dm-chain")
    if fid is None:
        print("dm-chain family not found")
        return 2
    if sys.argv[1] in ("merge", "merge-top"):
        dev = attr(DEV_A_NAME, sys.argv[2].encode() + b"\0")
        mp = attr(MERGE_A_DEPTH if sys.argv[1] == "merge" else MERGE_A_TOP,
                  struct.pack("I", int(sys.argv[3])))
        payload = attr(A_DEVICE | NLA_F_NESTED, dev) + \
            attr(A_MERGE | NLA_F_NESTED, mp)
        got, err, text = g.request(fid, CMD_MERGE, payload)
        if err:
            print("errno=%s msg=%s" % (errno.errorcode.get(-err, err), text))
            return 1
        print("merge started")
        return 0
    if sys.argv[1] == "dump":
        got, err, text = g.request(fid, CMD_GET, b"",
                                   NLM_F_ACK | NLM_F_DUMP)
        if err:
            print("errno=%s msg=%s" % (errno.errorcode.get(-err, err), text))
            return 1
        devs = []
        for msg in got:
            for nest in attrs(msg).get(A_DEVICE, []):
                a = attrs(nest)
                name = a[DEV_A_NAME][0].rstrip(b"\0").decode()
                nr = struct.unpack("I", a[DEV_A_NR_LAYERS][0])[0]
                first = struct.unpack("I", a[DEV_A_FIRST_LAYER][0])[0] \
                    if DEV_A_FIRST_LAYER in a else 0
                n = len(a.get(DEV_A_LAYER, []))
                if first:
                    d = devs[-1]
                    if d[0] != name or d[2] != first:
                        print("bad part: %s first=%d after %d" %
                              (name, first, d[2]))
                        return 1
                    d[2] += n
                    d[3] += 1
                else:
                    devs.append([name, nr, n, 1])
        for name, nr, listed, parts in devs:
            print("%s nr_layers=%d listed=%d parts=%d" %
                  (name, nr, listed, parts))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
