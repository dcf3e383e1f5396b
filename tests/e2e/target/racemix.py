#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Concurrent overlapping writes of mixed sizes, checked against a model.

Usage: racemix.py DEV SEED ROUNDS [WRITERS]

DEV is a chain device whose leaf is empty and whose parent holds data in
every block, so partial-block writes fill from the parent.  Each round
picks a window of 16 blocks (the chain's block size, read from the
device's optimal I/O size); every writer process gets a few O_DIRECT
writes in it, 512 B to 1 MiB, some block-aligned and whole, most not, all
issued at once from behind a barrier.  After the round the window is read
back (O_DIRECT): each sector must hold the data of one of the round's
writes covering it, or its content before the round when none did.  A
fill that wrote the parent's stale data over a concurrent write shows up
as old content where only that write went.  Exit 0 when every round
checks out, 1 with the first bad sector.
"""
import mmap
import multiprocessing
import os
import random
import sys

SECTOR = 512


def block_size(dev):
    rdev = os.stat(dev).st_rdev
    with open(f"/sys/dev/block/{os.major(rdev)}:{os.minor(rdev)}"
              "/queue/optimal_io_size") as f:
        return int(f.read())


def plan_round(rng, dev_size, bs, writers):
    """[(writer, offset, length, seed)] for one round."""
    window = 16 * bs
    base = rng.randrange(dev_size // window) * window
    ops = []
    for w in range(writers):
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.35:
                # whole blocks, aligned
                nb = rng.randint(1, 4)
                off = base + rng.randrange(16 - nb + 1) * bs
                length = nb * bs
            elif kind < 0.8:
                # part of a block
                off = base + rng.randrange(window // SECTOR) * SECTOR
                room = min(bs - off % bs, base + window - off)
                length = rng.randint(1, room // SECTOR) * SECTOR
            else:
                # anything up to 1 MiB, unaligned
                off = base + rng.randrange(window // SECTOR) * SECTOR
                room = min(1 << 20, base + window - off)
                length = rng.randint(1, room // SECTOR) * SECTOR
            ops.append((w, off, length, rng.getrandbits(32)))
    return base, window, ops


def op_data(seed, length):
    return random.Random(seed).randbytes(length)


def worker(dev, me, plans, start, done):
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    for _, _, ops in plans:
        mine = [(off, length, seed) for w, off, length, seed in ops
                if w == me]
        bufs = []
        for off, length, seed in mine:
            buf = mmap.mmap(-1, length)
            buf.write(op_data(seed, length))
            bufs.append(buf)
        start.wait()
        for (off, length, _), buf in zip(mine, bufs):
            if os.pwritev(fd, [buf], off) != length:
                os._exit(2)
        for buf in bufs:
            buf.close()
        done.wait()
    os.close(fd)
    os._exit(0)


def read_direct(fd, off, length):
    buf = mmap.mmap(-1, length)
    n = os.preadv(fd, [buf], off)
    data = bytes(buf[:n])
    buf.close()
    return data


def main():
    dev, seed, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    writers = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    rng = random.Random(seed)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    dev_size = os.lseek(fd, 0, os.SEEK_END)
    bs = block_size(dev)
    plans = [plan_round(rng, dev_size, bs, writers) for _ in range(rounds)]
    start = multiprocessing.Barrier(writers + 1)
    done = multiprocessing.Barrier(writers + 1)
    procs = [multiprocessing.Process(target=worker,
                                     args=(dev, w, plans, start, done))
             for w in range(writers)]
    for p in procs:
        p.start()
    bad = 0
    nops = 0
    for r, (base, window, ops) in enumerate(plans):
        before = read_direct(fd, base, window)
        start.wait()
        done.wait()
        after = read_direct(fd, base, window)
        nops += len(ops)
        datas = [(off, length, op_data(s, length)) for _, off, length, s in ops]
        for i in range(window // SECTOR):
            pos = base + i * SECTOR
            got = after[i * SECTOR:(i + 1) * SECTOR]
            cands = [d[pos - off:pos - off + SECTOR]
                     for off, length, d in datas if off <= pos < off + length]
            if not cands:
                cands = [before[i * SECTOR:(i + 1) * SECTOR]]
            if got not in cands:
                why = ("its content before the round"
                       if got == before[i * SECTOR:(i + 1) * SECTOR]
                       else "other data")
                print(f"racemix: seed {seed} round {r}: sector at byte "
                      f"{pos} (block {pos // bs}) holds {why}, not what "
                      f"the {len(cands)} write(s) covering it wrote")
                bad += 1
                break
        if bad:
            break
    if bad:
        for p in procs:
            p.kill()
    for p in procs:
        p.join()
    os.close(fd)
    if not bad and any(p.exitcode for p in procs):
        print("racemix: a writer failed")
        return 1
    print(f"racemix: seed {seed}: {len(plans)} rounds, {nops} writes, "
          f"{'BAD' if bad else 'all sectors as written'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
