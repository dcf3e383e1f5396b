# SPDX-License-Identifier: GPL-2.0
# Body of the offline range merge checks (`chainctl layer merge LEAF
# --into P --from TOP`), sourced by 20-layer-merge-xfs.sh (through
# layer/merge-clone.sh) and 21-layer-merge-copy.sh after lib.sh and
# layer/helpers.sh.  The caller sets RANGE_DIR (a directory on the
# filesystem under test, with POOL/POOL_BLOCKS ready) and RANGE_PATH
# (clone or copy: the path the data must take there).  A range below the
# leaf is folded into P; the leaf keeps its uuid and generation and is
# relinked to P; the chain reads as the reference; the sources are retired;
# a re-issued merge exits 9; a merge killed in its data phase is finished
# by issuing it again.  Into a raw base, the leaf records the raw image
# once the data is in, and the raw file keeps its size.

# info_field LAYER JQ: one field of `layer info -j LAYER`.
info_field() {
	"$CHAINCTL" layer info -j "$1" | jq -r "$2"
}

# range_path_ok WHAT OUT: the merge report OUT says the data took RANGE_PATH.
range_path_ok() {
	local what=$1 out=$2
	if [ "$RANGE_PATH" = clone ]; then
		check_eq "$what: the data is cloned, nothing copied" "yes 0" \
			"$(jq -r '"\(if .cloned_bytes > 0 then "yes" else "no" end) \(.copied_bytes)"' <<< "$out")"
	else
		check_eq "$what: the data is copied, the clone refusal reported" "yes 0 yes" \
			"$(jq -r '"\(if .copied_bytes > 0 then "yes" else "no" end) \(.cloned_bytes) \(if (.clone_refused | length) > 0 then "yes" else "no" end)"' <<< "$out")"
	fi
}

# range_checks WHAT DIR INTO FROM SOURCES...: the range merge of DIR's
# chain base.dmc <- l1 <- l2 <- l3 (leaf l3), --into INTO --from FROM as
# given (a path or an index from the base); SOURCES the files it retires.
range_checks() {
	local what=$1 d=$2 into=$3 from=$4 out rc s
	shift 4
	local leaf_uuid leaf_gen base_uuid base_gen
	leaf_uuid=$(info_field "$d/l3.dmc" .uuid)
	leaf_gen=$(info_field "$d/l3.dmc" .generation)
	base_uuid=$(info_field "$d/base.dmc" .uuid)
	base_gen=$(info_field "$d/base.dmc" .generation)
	out=$("$CHAINCTL" layer merge -j "$d/l3.dmc" --into "$into" --from "$from" 2>&1)
	rc=$?
	if ! check_eq "$what: the merge succeeds" 0 "$rc"; then
		diag "$out"
		return
	fi
	check_eq "$what: the sources counted" "$#" "$(jq -r .source_count <<< "$out")"
	check_eq "$what: the layer above is relinked" \
		"1 $d/l3.dmc" "$(jq -r '"\(.relinked_count) \(.relinked_paths[0])"' <<< "$out")"
	range_path_ok "$what" "$out"
	check "$what: the leaf reads as the reference" same_as_ref "$d/l3.dmc" "$d/ref.img"
	check_eq "$what: the leaf keeps its uuid and generation" "$leaf_uuid $leaf_gen" \
		"$(info_field "$d/l3.dmc" '"\(.uuid) \(.generation)"')"
	check_eq "$what: the target's generation moved on by one" "$((base_gen + 1))" \
		"$(info_field "$d/base.dmc" .generation)"
	check_eq "$what: the leaf records the target at its new generation" \
		"layer $base_uuid $((base_gen + 1))" \
		"$(info_field "$d/l3.dmc" '"\(.parent.kind) \(.parent.uuid) \(.parent.generation)"')"
	for s in "$@"; do
		check_eq "$what: ${s##*/} is merged away into the target" "merged-away $base_uuid" \
			"$(info_field "$s" '"\(.state) \(.merged_into_uuid)"')"
	done
	check "$what: check is clean on the leaf" "$CHAINCTL" layer check "$d/l3.dmc"
	check_fail_code "$what: issued again, it exits 9 and says the range is merged" 9 \
		"already merged into" \
		"$CHAINCTL" layer merge "$d/l3.dmc" --into "$into" --from "$from"
}

RANDOM=37
d=$RANGE_DIR/range
chain_build "$d" 3 32 0 || fail "range: build the chain"
cp -a --reflink=auto "$d" "$d.idx"
range_checks "range by path" "$d" "$d/base.dmc" "$d/l2.dmc" "$d/l2.dmc" "$d/l1.dmc"
# By index from the base: l1 alone into base (index 0), l2 relinked.
d=$RANGE_DIR/range.idx
out=$("$CHAINCTL" layer merge -j "$d/l3.dmc" --into 0 --from 1 2>&1)
check_eq "range by index: the merge succeeds" 0 "$?"
check_eq "range by index: l2 is relinked, not the leaf" "1 $d/l2.dmc" \
	"$(jq -r '"\(.relinked_count) \(.relinked_paths[0])"' <<< "$out" 2>&1)"
check "range by index: the leaf reads as the reference" same_as_ref "$d/l3.dmc" "$d/ref.img"
check_eq "range by index: l1 is merged away" merged-away "$(info_field "$d/l1.dmc" .state)"
rm -rf "$RANGE_DIR/range" "$RANGE_DIR/range.idx"

# --- into a raw base: l1 and l2 into base.img, the leaf relinked after the data
d=$RANGE_DIR/rangeraw
chain_build "$d" 3 32 1 || fail "range raw: build the chain"
raw_size=$(stat -c %s "$d/base.img")
leaf_id=$(info_field "$d/l3.dmc" '"\(.uuid) \(.generation)"')
out=$("$CHAINCTL" layer merge -j "$d/l3.dmc" --into 0 --from "$d/l2.dmc" 2>&1)
if check_eq "range into raw: the merge succeeds" 0 "$?"; then
	check_eq "range into raw: 2 sources into the raw base, the leaf relinked" \
		"true 2 1 $d/l3.dmc" \
		"$(jq -r '"\(.raw_target) \(.source_count) \(.relinked_count) \(.relinked_paths[0])"' <<< "$out")"
	range_path_ok "range into raw" "$out"
else
	diag "$out"
fi
check "range into raw: the leaf reads as the reference" same_as_ref "$d/l3.dmc" "$d/ref.img"
check_eq "range into raw: the leaf keeps its uuid and generation" "$leaf_id" \
	"$(info_field "$d/l3.dmc" '"\(.uuid) \(.generation)"')"
check_eq "range into raw: the leaf records the raw base and its size" \
	"raw base.img $raw_size" \
	"$(info_field "$d/l3.dmc" '"\(.parent.kind) \(.parent.path) \(.parent.size_bytes)"')"
check_eq "range into raw: the raw base keeps its size" "$raw_size" "$(stat -c %s "$d/base.img")"
check_eq "range into raw: l1 and l2 are merged away" "merged-away merged-away" \
	"$(info_field "$d/l1.dmc" .state) $(info_field "$d/l2.dmc" .state)"
check "range into raw: check is clean on the leaf" "$CHAINCTL" layer check "$d/l3.dmc"
check_fail_code "range into raw: issued again, it exits 9" 9 "already merged into" \
	"$CHAINCTL" layer merge "$d/l3.dmc" --into 0 --from "$d/l2.dmc"
rm -rf "$d"

# --- killed in its data phase, then issued again ----------------------------------
# 128 MiB copied (--mode copy --rate 32) keeps the merge busy for seconds; it is
# killed shortly after the target's journal appears.  The layer above was
# relinked right after the journal, so check says the merge is
# interrupted (6) and the same command finishes it.
d=$RANGE_DIR/rangekill
mkdir -p "$d"
"$CHAINCTL" layer create -s 256M "$d/base.dmc"
truncate -s 256M "$d/ref.img"
for ((i = 0; i < 8; i++)); do layer_put "$d/base.dmc" "$d/ref.img" $((i * 512)) 64; done
"$CHAINCTL" layer create --parent "$d/base.dmc" "$d/mid.dmc"
for ((i = 0; i < 64; i++)); do layer_put "$d/mid.dmc" "$d/ref.img" $((i * 64)) 32 || break; done
"$CHAINCTL" layer create --parent "$d/mid.dmc" "$d/top.dmc"
layer_put "$d/top.dmc" "$d/ref.img" 5 4
layer_zero "$d/top.dmc" "$d/ref.img" 100 50
"$CHAINCTL" layer create --parent "$d/top.dmc" "$d/leaf.dmc"
layer_put "$d/leaf.dmc" "$d/ref.img" 7 3
rm -rf "$d.orig"
cp -a --reflink=auto "$d" "$d.orig"
for ((try = 1; try <= 3; try++)); do
	rm -rf "$d"
	cp -a --reflink=auto "$d.orig" "$d"
	"$CHAINCTL" layer merge --mode copy --rate 32 "$d/leaf.dmc" --into "$d/base.dmc" \
		--from "$d/top.dmc" > /dev/null 2>&1 &
	pid=$!
	for ((t = 0; t < 400; t++)); do
		[ "$(info_field "$d/base.dmc" .journal.state)" = none ] || break
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.05
	done
	sleep 0.3
	kill -9 "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	status=$?
	state=$(info_field "$d/base.dmc" .journal.state)
	[ "$status" != 137 ] || [ "$state" = none ] || break
	diag "range kill, try $try: merge exit $status, journal $state"
done
check_eq "range killed: stopped in the middle with its journal" "137 merging" "$status $state"
check_eq "range killed: the leaf is already relinked to the target" \
	"$(info_field "$d/base.dmc" .uuid)" "$(info_field "$d/leaf.dmc" .parent.uuid)"
"$CHAINCTL" layer check "$d/base.dmc" > /dev/null 2>&1
check_eq "range killed: check says interrupted while copying (6)" 6 "$?"
out=$("$CHAINCTL" layer merge -j "$d/leaf.dmc" --into "$d/base.dmc" --from "$d/top.dmc" 2>&1)
check_eq "range killed: issued again, it resumes and finishes" "0 true" "$? $(jq -r .resumed <<< "$out" 2>&1)"
check "range killed: the leaf reads as the reference" same_as_ref "$d/leaf.dmc" "$d/ref.img"
check_eq "range killed: both sources are merged away" "merged-away merged-away" \
	"$(info_field "$d/mid.dmc" .state) $(info_field "$d/top.dmc" .state)"
check "range killed: check is clean on the leaf" "$CHAINCTL" layer check "$d/leaf.dmc"
rm -rf "$d" "$d.orig"
