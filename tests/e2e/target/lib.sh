# SPDX-License-Identifier: GPL-2.0
# Helpers for the "chain" target scenarios (tests/e2e/3*-target-*.sh).
# Sourced after tests/e2e/lib.sh.
#
#   tgt_mkchain DIR DEPTH SIZE BLOCK RAWBASE REF
#       Build layer files DIR/l0 (base) .. DIR/l$((DEPTH-1)) (leaf) with
#       chainctl: a raw image base when RAWBASE is 1, else a dm-chain base;
#       each layer gets a few random whole-block data and zero ranges.
#       REF receives the same writes on a plain file: the expected content
#       of the whole chain, computed without reading any layer file.
#   tgt_paths DIR DEPTH      the layer paths, base first
#   tgt_create NAME DIR DEPTH SIZE [FEATURES...]
#                            (raw_base added when tgt_mkchain made a raw
#                            base: raw-ness is declared, never detected)
#   tgt_remove NAME
#   tgt_status_errors NAME   the four error counters of the INFO status
#   flakey_create DISK       dm-flakey "flk" over DISK, always up (removed
#                            at cleanup); /dev/mapper/flk
#   flakey TABLE-TAIL        reload flk's table tail (after "<disk> 0"):
#                            "0 600 1 drop_writes" cuts power, "600 0"
#                            brings it back, "0 600" fails every I/O
#   file_error_table DISK [FILE]
#                            a table over all of DISK: linear, but the
#                            sectors of FILE's extents (a file on a file
#                            system on that table's device) map to dm-error
#
# Power-cut scenarios (35: disk cut by dm-flakey; 36: VM power cut), on a
# chain device DEV of 64 KiB blocks whose expected content is REF:
#   cut_write_flushed DEV REF TMP    blocks 0..299: whole and partial block
#                            writes then a flush, O_DSYNC (FUA) writes into
#                            absent blocks, a discard then a flush (TAP
#                            checks); REF gets the same; TMP a scratch file
#   cut_write_unflushed DEV NEW      blocks 300..363: random data written
#                            with no flush; NEW keeps it
#   cut_verify DEV REF NEW   after the cut (TAP checks): blocks 0..299 and
#                            from 364 on equal REF; each of 300..363 holds
#                            its old (REF) or its new (NEW) content

TGT_RWMIX=$DMC_ROOT/tests/e2e/target/rwmix.py

# _tgt_ranges NBLOCKS COUNT SEED: COUNT lines "first nr kind" (kind d or z).
_tgt_ranges() {
	awk -v n="$1" -v c="$2" -v s="$3" 'BEGIN {
		srand(s);
		for (i = 0; i < c; i++) {
			nr = 1 + int(rand() * 8); if (nr > n) nr = n;
			first = int(rand() * (n - nr + 1));
			kind = rand() < 0.2 ? "z" : "d";
			print first, nr, kind;
		}
	}'
}

tgt_mkchain() {
	local dir=$1 depth=$2 size=$3 block=$4 rawbase=$5 ref=$6
	local nblocks=$((size / block)) i path prev="" first nr kind tmp
	tmp=$DMC_TMP/tgt-chunk
	mkdir -p "$dir" || return 1
	rm -f "$ref" && truncate -s "$size" "$ref" || return 1
	# tgt_create declares the raw base (raw_base) when this is there
	rm -f "$dir/.raw_base"
	((rawbase)) && { touch "$dir/.raw_base" || return 1; }
	for ((i = 0; i < depth; i++)); do
		path=$dir/l$i
		rm -f "$path"
		if ((i == 0 && rawbase)); then
			truncate -s "$size" "$path" || return 1
			while read -r first nr kind; do
				head -c $((nr * block)) /dev/urandom > "$tmp"
				dd if="$tmp" of="$path" bs="$block" seek="$first" \
					conv=notrunc status=none || return 1
				dd if="$tmp" of="$ref" bs="$block" seek="$first" \
					conv=notrunc status=none || return 1
			done < <(_tgt_ranges "$nblocks" 6 $((RANDOM + i)))
			prev=$path
			continue
		fi
		if ((i == 0)); then
			"$CHAINCTL" layer create -s "$size" -b "$block" "$path" \
				> /dev/null || return 1
		elif ((i == 1 && rawbase)); then
			"$CHAINCTL" layer create -b "$block" --parent "$prev" \
				"$path" > /dev/null || return 1
		else
			"$CHAINCTL" layer create --parent "$prev" "$path" \
				> /dev/null || return 1
		fi
		while read -r first nr kind; do
			if [ "$kind" = z ]; then
				"$CHAINCTL" layer write --zero "$path" \
					$((first * block)) $((nr * block)) || return 1
				dd if=/dev/zero of="$ref" bs="$block" seek="$first" \
					count="$nr" conv=notrunc status=none || return 1
			else
				head -c $((nr * block)) /dev/urandom > "$tmp"
				"$CHAINCTL" layer write "$path" $((first * block)) \
					$((nr * block)) < "$tmp" || return 1
				dd if="$tmp" of="$ref" bs="$block" seek="$first" \
					conv=notrunc status=none || return 1
			fi
		done < <(_tgt_ranges "$nblocks" 3 $((RANDOM + i)))
		prev=$path
	done
	rm -f "$tmp"
	sync	# the raw base was written through the page cache
}

tgt_paths() {
	local dir=$1 depth=$2 i
	for ((i = 0; i < depth; i++)); do
		printf '%s ' "$dir/l$i"
	done
}

tgt_create() {
	local name=$1 dir=$2 depth=$3 size=$4
	shift 4
	local table paths
	paths=$(tgt_paths "$dir" "$depth")
	table="0 $((size / 512)) chain $depth ${paths% }"
	[ -e "$dir/.raw_base" ] && set -- raw_base "$@"
	if [ $# -gt 0 ]; then
		table+=" $# $*"
	fi
	local ro=()
	case " $* " in *" read_only "*) ro=(--readonly) ;; esac
	dmsetup create --noudevsync "${ro[@]}" "$name" --table "$table" &&
		dmsetup mknodes "$name"
}

tgt_remove() {
	dmsetup remove --noudevsync "$1" && rm -f "/dev/mapper/$1"
}

# INFO status: <nr> <ro|rw> <block> <io> reads writes flushes discards
#   zero_reads fills read_errors write_errors flush_errors dio_fallbacks ...
tgt_status_errors() {
	dmsetup status "$1" | awk '{ print $14, $15, $16 }'
}

flakey_create() {
	FLAKEY_DISK=$1
	FLAKEY_SECTORS=$(blockdev --getsz "$1") || return 1
	dmsetup create --noudevsync flk \
		--table "0 $FLAKEY_SECTORS flakey $FLAKEY_DISK 0 600 0" &&
		dmsetup mknodes flk || return 1
	cleanup_add dmsetup remove --noudevsync flk
}

flakey() {
	dmsetup suspend --noudevsync --nolockfs --noflush flk &&
		dmsetup reload flk \
			--table "0 $FLAKEY_SECTORS flakey $FLAKEY_DISK 0 $1" &&
		dmsetup resume --noudevsync flk
}

file_error_table() {
	local disk=$1 file=${2:-} pos=0 start len sectors
	sectors=$(blockdev --getsz "$disk") || return 1
	if [ -n "$file" ]; then
		# filefrag -e -b512: "ext: logical..: physical_start..physical_end: length: ..."
		while read -r start len; do
			((start > pos)) && echo "$pos $((start - pos)) linear $disk $pos"
			echo "$start $len error"
			pos=$((start + len))
		done < <(filefrag -e -b512 "$file" |
			awk -F'[:. ]+' '/^ *[0-9]+:/ { print $5, $7 }' | sort -n)
	fi
	((pos < sectors)) && echo "$pos $((sectors - pos)) linear $disk $pos"
	return 0
}

CUT_BS=65536

cut_write_flushed() {
	local dev=$1 ref=$2 a=$3 bs=$CUT_BS
	head -c $((64 * bs)) /dev/urandom > "$a"
	dd if="$a" of="$dev" bs=$bs seek=10 count=32 oflag=direct status=none
	dd if="$a" of="$ref" bs=$bs seek=10 count=32 conv=notrunc status=none
	dd if="$a" of="$dev" bs=4096 seek=$((60 * 16 + 3)) count=5 oflag=direct status=none
	dd if="$a" of="$ref" bs=4096 seek=$((60 * 16 + 3)) count=5 conv=notrunc status=none
	check "flush (fsync of the device)" \
		dd if=/dev/null of="$dev" conv=notrunc,fsync status=none
	check "O_DSYNC (FUA) writes into absent blocks" \
		dd if="$a" of="$dev" bs=512 seek=$((150 * 128 + 7)) count=9 \
			oflag=direct,dsync conv=notrunc status=none
	dd if="$a" of="$ref" bs=512 seek=$((150 * 128 + 7)) count=9 conv=notrunc status=none
	check "blkdiscard of 4 blocks, then flush" \
		sh -c "blkdiscard -o $((20 * bs)) -l $((4 * bs)) $dev && dd if=/dev/null of=$dev conv=notrunc,fsync status=none"
	dd if=/dev/zero of="$ref" bs=$bs seek=20 count=4 conv=notrunc status=none
}

cut_write_unflushed() {
	local dev=$1 new=$2 bs=$CUT_BS
	head -c $((64 * bs)) /dev/urandom > "$new"
	dd if="$new" of="$dev" bs=$bs seek=300 count=64 oflag=direct status=none
	check "unflushed data is readable before the cut" \
		cmp <(dd if="$dev" bs=$bs skip=300 count=64 status=none) "$new"
}

cut_verify() {
	local dev=$1 ref=$2 new=$3 bs=$CUT_BS
	check "flushed data survived: blocks 0..299 equal the reference" \
		cmp <(head -c $((300 * bs)) "$dev") <(head -c $((300 * bs)) "$ref")
	check "blocks after 364 equal the reference" \
		cmp <(tail -c +$((364 * bs + 1)) "$dev") <(tail -c +$((364 * bs + 1)) "$ref")
	diag "blocks differing from the reference (first 10): $(cmp -l "$dev" "$ref" 2>/dev/null |
		awk -v bs=$bs '{ b = int(($1 - 1) / bs); if (!(b in s)) { s[b]; print b } }' |
		head -n 10 | tr '\n' ' ')"
	check "each unflushed block holds its old or its new content" \
		/usr/bin/python3 - "$dev" "$ref" "$new" <<'PY'
import sys
bs = 65536
dev, ref, new = (open(p, "rb") for p in sys.argv[1:4])
kept = lost = 0
for i in range(64):
    dev.seek((300 + i) * bs); ref.seek((300 + i) * bs); new.seek(i * bs)
    d, r, n = dev.read(bs), ref.read(bs), new.read(bs)
    if d == n:
        kept += 1
    elif d == r:
        lost += 1
    else:
        sys.exit(f"block {300 + i}: neither old nor new content")
print(f"unflushed blocks: {kept} kept, {lost} rolled back")
PY
}
