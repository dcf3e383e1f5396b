#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Scattered O_DIRECT writes on a block device, mirrored on a reference file.

Usage: scatter.py DEV REF SEED COUNT RUN

COUNT writes of RUN bytes of random data at random RUN-aligned offsets
chosen by SEED, to DEV (O_DIRECT, page-aligned buffer) and to the same
offsets of the plain file REF.  One process instead of a dd per write.
"""
import mmap
import os
import random
import sys


def main():
    dev, ref, seed, count, run = sys.argv[1:6]
    seed, count, run = int(seed), int(count), int(run)
    rng = random.Random(seed)
    dfd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    rfd = os.open(ref, os.O_WRONLY)
    size = os.lseek(dfd, 0, os.SEEK_END)
    nruns = size // run
    buf = mmap.mmap(-1, run)
    for _ in range(count):
        off = rng.randrange(nruns) * run
        buf.seek(0)
        buf.write(os.urandom(run))
        if os.pwrite(dfd, buf, off) != run or os.pwrite(rfd, buf, off) != run:
            sys.exit("short write at %d" % off)
    os.close(dfd)
    os.fsync(rfd)
    os.close(rfd)


if __name__ == "__main__":
    main()
