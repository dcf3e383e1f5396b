#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The chain target's data path with layer files on btrfs: depths 2 and 8 in
# make check (1, 2, 8 and 64 with DMC_FULL=1), fio verification, an
# independent reference, flatten, files on the device.
# See tests/e2e/target/fs-scenario.sh.
# vm-disks: 1x8G
# vm-timeout: 1800
# vm-mem: 2G
TGT_FS=btrfs
TGT_SAMPLE="2 8"
. "$DMC_ROOT/tests/e2e/target/fs-scenario.sh"
