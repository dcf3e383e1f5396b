#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live merges with layer files on btrfs (clone path): fio verifying throughout,
# snapshot, forced modes, cancel and resume, refused requests.  See
# tests/e2e/live/merge-scenario.sh.
# vm-disks: 1x4G
# vm-timeout: 1200
# vm-mem: 2G
LIVE_FS=btrfs
LIVE_PATH=clone
. "$DMC_ROOT/tests/e2e/live/merge-scenario.sh"
