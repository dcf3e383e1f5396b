#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Patch fields of a layer file's current header slot and reseal its CRC32C.

Usage: hdrpatch.py FILE [slot=N] FIELD=VALUE...     (test-only tool)

slot=N patches slot N instead of the current (valid, newest) one.

FIELD is a name from include/dm-chain/format.h (journal fields as
journal.NAME); VALUE an integer, or for uuids 32 hex digits, for paths a
string.  Prints the patched slot number.
"""
import struct
import sys

SLOT = 4096
# name: (offset, struct format)
FIELDS = {
    "magic": (0, "<Q"), "version": (12, "<I"), "sequence": (16, "<Q"),
    "incompat_features": (24, "<I"), "compat_features": (28, "<I"),
    "state": (32, "<I"), "block_shift": (36, "<I"),
    "virtual_size": (40, "<Q"), "generation": (48, "<Q"),
    "map_offset": (56, "<Q"), "map_length": (64, "<Q"),
    "data_offset": (72, "<Q"), "uuid": (80, "16s"),
    "parent_kind": (96, "<I"), "parent_uuid": (104, "16s"),
    "parent_generation": (120, "<Q"), "parent_raw_size": (128, "<Q"),
    "merged_into_uuid": (136, "16s"), "parent_path": (152, "1024s"),
    "journal.state": (1176, "<I"), "journal.nr_sources": (1180, "<I"),
    "journal.cursor": (1184, "<Q"), "journal.old_generation": (1192, "<Q"),
    "journal.new_generation": (1200, "<Q"),
    "journal.bottom_uuid": (1208, "16s"), "journal.top_uuid": (1224, "16s"),
    "journal.flags": (1240, "<I"), "journal.top_path": (1248, "512s"),
}


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def seal(slot):
    slot[8:12] = b"\0\0\0\0"
    slot[8:12] = struct.pack("<I", crc32c(bytes(slot)))


def valid(slot):
    if struct.unpack_from("<Q", slot, 0)[0] != 0x314E4941484344:
        return False
    want = struct.unpack_from("<I", slot, 8)[0]
    tmp = bytearray(slot)
    tmp[8:12] = b"\0\0\0\0"
    return crc32c(bytes(tmp)) == want


def main():
    path = sys.argv[1]
    with open(path, "r+b") as f:
        slots = [bytearray(f.read(SLOT)), bytearray(f.read(SLOT))]
        seqs = [struct.unpack_from("<Q", s, 16)[0] if valid(s) else -1
                for s in slots]
        cur = 0 if seqs[0] >= seqs[1] else 1
        args = sys.argv[2:]
        if args and args[0].startswith("slot="):
            cur = int(args.pop(0)[5:])
        elif seqs[cur] < 0:
            sys.exit("hdrpatch: no valid slot")
        slot = slots[cur]
        for arg in args:
            name, value = arg.split("=", 1)
            off, fmt = FIELDS[name]
            if fmt.endswith("s") and fmt != "16s":
                v = value.encode()
            elif fmt == "16s":
                v = bytes.fromhex(value)
            else:
                v = int(value, 0)
            struct.pack_into(fmt, slot, off, v)
        seal(slot)
        f.seek(cur * SLOT)
        f.write(slot)
    print(cur)


if __name__ == "__main__":
    main()
