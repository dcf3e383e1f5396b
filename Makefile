# SPDX-License-Identifier: GPL-2.0
# dm-chain top-level build.
#
#   make            build userspace/chainctl and kmod/dm-chain.ko (never
#                   installs packages: `make deps` does, as root)
#   make check      every test: harness self-test, host unit tests,
#                   stock-headers compile, sparse and W=1, KUnit,
#                   end-to-end scenarios in a QEMU VM, the stock kernel and
#                   a fresh Debian 12 with systemd
#   make check-full  make check with every scenario's complete matrix
#                   (DMC_FULL=1: every merge depth, every target chain on
#                   every filesystem, all crash-sample cases, and the
#                   scenarios marked "# vm-tier: full"; ~30 min more)
#   make check-harness  the harness self-test alone (host, a second)
#   make check-unit  the host unit tests alone (cmocka, seconds)
#   make check-systemd  the boot unit passes systemd-analyze verify (seconds)
#   make check-crash  power-cut replay at every flush, all scenarios
#                   (hours), figures to bench/results/crash-latest.txt
#   make check-fsx  the random-operation exerciser's long run
#   make fuzz       the libFuzzer harnesses, 10 million runs each, figures
#                   to bench/results/fuzz-latest.txt (never part of check)
#   make check-debug  KUnit and the scenarios on the debug kernel (KASAN,
#                   UBSAN, kmemleak; hours, never part of check)
#   make check-faults  the whole fault matrix (disk faults x operations,
#                   XFS and ext4), figures to bench/results/faults-latest.txt
#   make check-load four devices under fio with verification while live
#                   merges, snapshots and cancels loop (10 minutes, or
#                   DMC_LOAD_SECONDS), figures to bench/results/load-latest.txt
#   make sparse     the module with sparse (C=1) and W=1 (KDIR as below)
#   make demo       the main job, shown in the VM
#   make bench      benchmarks against peers (never part of check)
#   make install    install chainctl, its bash completion, man pages, the
#                   boot unit dm-chain.service (chaintab) and the module for
#                   the running kernel (KVER, DESTDIR, PREFIX); make
#                   uninstall removes them.  make install-chainctl
#                   installs only the tool's files (no module)
#   make dkms-install  the module's sources in /usr/src/dm-chain-VERSION
#                   and dkms add/build/install (rebuilt for new kernels);
#                   make dkms-uninstall removes them.  make dkms-source
#                   only installs the sources (DESTDIR)
#   make deb        Debian packages dm-chain-dkms and chainctl, in build/deb/
#                   (docs/packaging.md); make clean removes them
#
# KDIR is the kernel build tree the module is built against: the running
# kernel's when it has one, else the cached KUnit test kernel
# (tests/vm/build-kernel builds it once per machine).

KDIR    ?= $(shell d=/lib/modules/$$(uname -r)/build; [ -d $$d ] && echo $$d)
PREFIX  ?= /usr/local
DESTDIR ?=

all: userspace module

# Plain make only checks that the build packages are there; `make deps`
# (as root) installs them.  check, demo and bench install what they need.
deps:
	@tests/setup/deps build

depcheck:
	@tests/setup/deps --check build

userspace: depcheck
	$(MAKE) -C userspace

module:
	@kdir="$(KDIR)"; [ -n "$$kdir" ] || kdir=$$(tests/vm/build-kernel); \
	echo "building dm-chain.ko against $$kdir"; \
	$(MAKE) -C "$$kdir" M=$(CURDIR) modules

kernel:
	@tests/setup/deps test
	tests/vm/build-kernel

check:
	@tests/check

check-full:
	@DMC_FULL=1 tests/check

check-fsx:
	@tests/fsx/run

check-crash:
	@tests/setup/deps build test
	@tests/crash/run

check-faults:
	@tests/setup/deps build test
	@tests/faults/run

check-load:
	@tests/setup/deps build test
	@tests/load/run

check-harness:
	@tests/lib/selftest.sh

check-unit: userspace
	@CMOCKA_MESSAGE_OUTPUT=TAP $(MAKE) -s -C tests/unit check

check-systemd: userspace
	@tests/systemd/check-unit

fuzz:
	@tests/setup/deps build test
	@FUZZ_RESULTS=$(CURDIR)/bench/results/fuzz-latest.txt tests/fuzz/run $(or $(FUZZ_RUNS),10000000)

check-debug:
	@tests/check-debug

sparse:
	@kdir="$(KDIR)"; [ -n "$$kdir" ] || kdir=$$(tests/vm/build-kernel); \
	$(MAKE) -C "$$kdir" M=$(CURDIR) C=2 W=1 modules

demo:
	@tests/demo/run

bench:
	@tests/bench/run

# The module is installed for the running kernel (or KVER=...), built
# against its headers (/lib/modules/KVER/build), never for the cached test
# kernel, whose module no distribution kernel can load.
KVER         ?= $(shell uname -r)
INSTALL_KDIR  = /lib/modules/$(KVER)/build
MODDIR        = $(DESTDIR)/lib/modules/$(KVER)/extra
COMPLETION    = $(DESTDIR)$(PREFIX)/share/bash-completion/completions/chainctl

MANPAGES := docs/man/chainctl.8 docs/man/chainctl-layer.8 docs/man/chainctl-device.8 \
	    docs/man/chainctl-tab.8
# The boot unit ('chainctl tab up/down'), in systemd's system unit directory
# whatever PREFIX is, calling the chainctl installed under PREFIX; the
# example chaintab as documentation (never over /etc/dm-chain/chaintab).
UNITDIR   = $(DESTDIR)/lib/systemd/system
DOCDIR    = $(DESTDIR)$(PREFIX)/share/doc/dm-chain
MANDIR    = $(DESTDIR)$(PREFIX)/share/man/man8

install: userspace
	@[ -d "$(INSTALL_KDIR)" ] || { \
		echo "make install: no $(INSTALL_KDIR): install linux-headers-$(KVER)," \
		     "or name an installed kernel with KVER=" >&2; exit 1; }
	$(MAKE) -C "$(INSTALL_KDIR)" M=$(CURDIR) modules
	$(MAKE) install-chainctl
	install -D -m 0644 kmod/dm-chain.ko $(MODDIR)/dm-chain.ko
	[ -n "$(DESTDIR)" ] || depmod -a $(KVER)

# The tool's files alone (make install and the chainctl Debian package).
install-chainctl: userspace
	install -D -m 0755 userspace/chainctl $(DESTDIR)$(PREFIX)/sbin/chainctl
	install -D -m 0644 userspace/completion/chainctl.bash $(COMPLETION)
	install -d $(MANDIR)
	install -m 0644 $(MANPAGES) $(MANDIR)/
	install -d $(UNITDIR)
	sed 's|/usr/local/sbin/chainctl|$(PREFIX)/sbin/chainctl|g' \
		packaging/systemd/dm-chain.service > $(UNITDIR)/dm-chain.service
	chmod 0644 $(UNITDIR)/dm-chain.service
	install -D -m 0644 packaging/chaintab.example $(DOCDIR)/chaintab.example

# DKMS: the module's sources without its KUnit suites (a distribution
# kernel with KUnit must not get a module that needs kunit.ko).
VERSION := $(shell sed -n 's/^\#define DM_CHAIN_VERSION "\(.*\)"$$/\1/p' include/dm-chain/version.h)
DKMS_SRC = $(DESTDIR)/usr/src/dm-chain-$(VERSION)

dkms-source:
	@[ -n "$(VERSION)" ] || { echo "no DM_CHAIN_VERSION in include/dm-chain/version.h" >&2; exit 1; }
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)/kmod $(DKMS_SRC)/include/dm-chain
	install -m 0644 Kbuild $(DKMS_SRC)/
	install -m 0644 $(filter-out %-test.c %.mod.c,$(wildcard kmod/*.c)) \
		$(filter-out %-cases.h,$(wildcard kmod/*.h)) kmod/Kbuild $(DKMS_SRC)/kmod/
	install -m 0644 $(filter-out %/verify_cases.h,$(wildcard include/dm-chain/*)) \
		$(DKMS_SRC)/include/dm-chain/
	sed 's/@VERSION@/$(VERSION)/' packaging/dkms.conf.in > $(DKMS_SRC)/dkms.conf

dkms-install: dkms-source
	dkms add -m dm-chain -v $(VERSION)
	dkms build -m dm-chain -v $(VERSION) -k $(KVER)
	dkms install -m dm-chain -v $(VERSION) -k $(KVER)

dkms-uninstall:
	-dkms remove -m dm-chain -v $(VERSION) --all
	rm -rf /usr/src/dm-chain-$(VERSION)

# Debian packages: dm-chain-dkms (the DKMS source, from dkms-source) and
# chainctl (from install-chainctl), version DM_CHAIN_VERSION, built from a
# copy of the sources in build/deb/dm-chain-VERSION with packaging/debian
# as its debian/ and a changelog made from packaging/debian/changelog.in.
# The .debs land in build/deb/ (docs/packaging.md).
DEB_DIR  = build/deb
DEB_TREE = $(DEB_DIR)/dm-chain-$(VERSION)
DEB_SRC  = Makefile Kbuild LICENSE COPYING README.md include kmod userspace \
	   docs/man packaging/dkms.conf.in packaging/systemd packaging/chaintab.example \
	   tests/setup
DEB_SKIP = '*.o' '*.d' '*.a' '*.ko' '*.mod' '*.mod.c' '*.cmd' modules.order \
	   Module.symvers userspace/chainctl
# The changelog's date: the last commit's (the same .debs from the same
# commit), or SOURCE_DATE_EPOCH's.
DEB_EPOCH = $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2> /dev/null),$(shell date +%s))

deb:
	@tests/setup/deps build deb
	@[ -n "$(VERSION)" ] || { echo "no DM_CHAIN_VERSION in include/dm-chain/version.h" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_TREE)
	tar -c $(addprefix --exclude=,$(DEB_SKIP)) $(DEB_SRC) | tar -x -C $(DEB_TREE)
	cp -r packaging/debian $(DEB_TREE)/debian
	rm $(DEB_TREE)/debian/changelog.in
	sed -e 's/@VERSION@/$(VERSION)/' -e "s/@DATE@/$$(LC_ALL=C date -R -d @$(DEB_EPOCH))/" \
		packaging/debian/changelog.in > $(DEB_TREE)/debian/changelog
	cd $(DEB_TREE) && dpkg-buildpackage -us -uc -b
	@echo "deb: $$(ls $(DEB_DIR)/*.deb | tr '\n' ' ')"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/chainctl $(COMPLETION) $(MODDIR)/dm-chain.ko
	rm -f $(addprefix $(MANDIR)/,$(notdir $(MANPAGES)))
	rm -f $(UNITDIR)/dm-chain.service $(DOCDIR)/chaintab.example
	-rmdir $(DOCDIR) 2> /dev/null
	-rmdir $(MODDIR) 2> /dev/null
	[ -n "$(DESTDIR)" ] || depmod -a $(KVER)

clean:
	$(MAKE) -C userspace clean
	[ ! -f tests/unit/Makefile ] || $(MAKE) -C tests/unit clean
	$(MAKE) -C tests/fuzz clean
	$(MAKE) -C tests/crash clean
	$(MAKE) -C tests/tools clean
	rm -rf kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order \
	       .*.cmd Module.symvers modules.order kmod/Module.symvers tests/logs
	rm -rf $(DEB_DIR)
	-rmdir build 2> /dev/null

.PHONY: all deps depcheck userspace module kernel check check-full check-debug check-harness check-unit check-systemd fuzz check-fsx check-crash check-faults check-load sparse demo bench install install-chainctl uninstall dkms-source dkms-install dkms-uninstall deb clean
