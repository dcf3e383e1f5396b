#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The workload of the crash-replay tests, and its reference model.

Usage:
  crashmodel.py run DEV MODEL --seed S --rounds R [--first F] [--runs K]
                [--lw NAME]

The device is cut into 4 KiB units.  Every unit always holds one stamp:
32 bytes (magic, seed, unit, round) repeated over the unit, so a unit
read back names the round that wrote it, and a unit holding pieces of two
writes is seen as torn.

`run` writes round after round.  Round 0 stamps every unit; each later
round writes K runs of 1 to 16 units at random places (O_DIRECT), then
fdatasync()s the device.  Before a round's first write its units are
appended to MODEL; after its fdatasync returns, the mark "sync-G" goes
into the dm-log-writes log NAME (`dmsetup message NAME 0 mark sync-G`),
so in the log the mark follows every flush that made round G durable.
A run can continue an earlier one (--first): the rounds' runs come from
the seed and the first round, so the whole workload is reproducible.

crashcheck (crashcheck.c) reads the device at a replay point after the
mark sync-G and before sync-(G+1): each unit must hold the stamp of the
last round up to G that wrote it or, if round G+1 writes it, the stamp of
G+1 (in flight at the cut: old or new, never a mix, never older).
"""
import argparse
import mmap
import os
import random
import struct
import subprocess
import sys

UNIT = 4096
MAGIC = b"dmccrash"


def stamp(seed, unit, rnd):
    return struct.pack("<8sQQQ", MAGIC, seed, unit, rnd) * (UNIT // 32)


def dev_units(dev):
    fd = os.open(dev, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END) // UNIT
    finally:
        os.close(fd)


def mark(lw, text):
    if lw:
        subprocess.run(["dmsetup", "message", lw, "0", "mark", text], check=True)


def cmd_run(a):
    units = dev_units(a.dev)
    rng = random.Random(a.seed * 1000003 + a.first)
    fd = os.open(a.dev, os.O_RDWR | os.O_DIRECT)
    buf = mmap.mmap(-1, 16 * UNIT)
    model = open(a.model, "a")
    for rnd in range(a.first, a.first + a.rounds):
        if rnd == 0:
            runs = [(u, min(16, units - u)) for u in range(0, units, 16)]
        else:
            runs = []
            for _ in range(a.runs):
                n = rng.randint(1, 16)
                runs.append((rng.randrange(0, units - n + 1), n))
        listed = sorted({u for first, n in runs for u in range(first, first + n)})
        model.write("%d %s\n" % (rnd, " ".join(map(str, listed))))
        model.flush()
        for first, n in runs:
            buf.seek(0)
            for u in range(first, first + n):
                buf.write(stamp(a.seed, u, rnd))
            os.pwritev(fd, [memoryview(buf)[:n * UNIT]], first * UNIT)
        os.fdatasync(fd)
        mark(a.lw, "sync-%d" % rnd)
    os.close(fd)
    return 0


def main():
    p = argparse.ArgumentParser(description="crash-replay workload and model")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("dev")
    r.add_argument("model")
    r.add_argument("--seed", type=int, required=True)
    r.add_argument("--rounds", type=int, required=True)
    r.add_argument("--first", type=int, default=0)
    r.add_argument("--runs", type=int, default=8)
    r.add_argument("--lw")
    a = p.parse_args()
    return cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
