# SPDX-License-Identifier: GPL-2.0
# For test programs over chainctl's library (tests/faults, tests/tools):
# its compiler flags, the libraries it needs, and libchain.a built first.
# Include it after the including Makefile's first target, from a
# directory two levels below the repository's top.
DMC_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
	      -I../../include -I../../userspace/lib \
	      $(shell pkg-config --cflags libmnl uuid devmapper json-c)
DMC_LIBS   := $(shell pkg-config --libs libmnl uuid devmapper json-c)
LIBCHAIN   := ../../userspace/libchain.a

$(LIBCHAIN): FORCE
	$(MAKE) -C ../../userspace libchain.a

.PHONY: FORCE
