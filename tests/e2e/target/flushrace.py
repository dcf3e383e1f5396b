#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A flush racing allocating writes, over many block-map pages.

Usage: flushrace.py write DEV STATE PAGES
       flushrace.py verify DEV STATE

write: puts one 4 KiB block (O_DIRECT) into each of the first PAGES map
pages of a chain device with 4 KiB blocks (one map page covers 16384
blocks), then starts writer processes that keep writing new blocks in the
low map pages (0..15), flushes (fsync) while they run, stops them and
records in STATE which blocks were written before the flush.  Nothing
flushes after that: the caller cuts the power next.

verify (after the cut): every block written before the flush holds its
data; every block the racing writers touched holds zeros or its data.
Exit 0 when all is well, 1 with the first bad block.
"""
import json
import mmap
import multiprocessing
import os
import random
import sys
import time

BS = 4096
PER_PAGE = 16384
WRITERS = 3


def pattern(block):
    return random.Random(block * 7919 + 17).randbytes(BS)


def pwrite_direct(fd, block, data):
    buf = mmap.mmap(-1, BS)
    buf.write(data)
    n = os.pwritev(fd, [buf], block * BS)
    buf.close()
    if n != BS:
        raise OSError(f"short write at block {block}")


def writer(dev, seed, stop, out):
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    rng = random.Random(seed)
    done = []
    while not stop.is_set():
        page = rng.randrange(16)
        block = page * PER_PAGE + 1000 + rng.randrange(PER_PAGE - 1000)
        pwrite_direct(fd, block, pattern(block))
        done.append(block)
    os.close(fd)
    out.put(done)


def write(dev, state, pages):
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    before = []
    for page in range(pages):
        block = page * PER_PAGE + 100 + page % 50
        pwrite_direct(fd, block, pattern(block))
        before.append(block)
    stop = multiprocessing.Event()
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=writer, args=(dev, i, stop, out))
             for i in range(WRITERS)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    os.fsync(fd)		# the flush under test
    t1 = time.monotonic()
    stop.set()
    racing = []
    for _ in procs:
        racing += out.get()
    for p in procs:
        p.join()
    os.close(fd)
    with open(state, "w") as f:
        json.dump({"before": before, "racing": racing}, f)
    print(f"flushrace: {len(before)} blocks before the flush, "
          f"{len(racing)} racing writes, flush took {t1 - t0:.2f} s")
    return 0


def verify(dev, state):
    with open(state) as f:
        st = json.load(f)
    fd = os.open(dev, os.O_RDONLY)
    bad = 0
    for block in st["before"]:
        data = os.pread(fd, BS, block * BS)
        if data != pattern(block):
            what = "zeros" if data == bytes(BS) else "other data"
            if not bad:
                print(f"flushrace: block {block} (map page "
                      f"{block // PER_PAGE}), written before the flush, "
                      f"reads {what}")
            bad += 1
    for block in set(st["racing"]):
        data = os.pread(fd, BS, block * BS)
        if data != pattern(block) and data != bytes(BS):
            print(f"flushrace: racing block {block} holds neither zeros "
                  f"nor its data")
            bad += 1
    os.close(fd)
    print(f"flushrace: {len(st['before'])} flushed blocks checked, "
          f"{bad} bad")
    return 1 if bad else 0


def main():
    if sys.argv[1] == "write":
        return write(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    return verify(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    sys.exit(main())
