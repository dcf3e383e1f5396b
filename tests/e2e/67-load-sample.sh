#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A short sample of the load tier (make check-load, docs/testing/load.md):
# tests/load/load.sh on two devices (XFS, ext4) for 40 s of fio in all,
# 12 s quiet then 28 s with live merges, snapshots and cancels looping.
# vm-disks: 2x2G
# vm-timeout: 360
# vm-mem: 2G
exec bash "$DMC_ROOT/tests/load/load.sh" DMC_LOAD_DEVICES=2 DMC_LOAD_SECONDS=40 \
	DMC_LOAD_QUIET_SECONDS=12 DMC_LOAD_SIZE_MB=64 "$@"
