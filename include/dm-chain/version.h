/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dm-chain release, in one place: the module's MODULE_VERSION and
 * netlink DM_CHAIN_A_VERSION, `chainctl version`, dkms.conf and the docs
 * all take it from here (the top-level Makefile reads it for packaging).
 * The device-mapper target's own version (the table-line ABI, in
 * kmod/target.c) and the netlink family version (netlink.h) are separate
 * contracts and move on their own.
 */
#ifndef DM_CHAIN_VERSION_H
#define DM_CHAIN_VERSION_H

#define DM_CHAIN_VERSION "0.3.0"

#endif /* DM_CHAIN_VERSION_H */
