# SPDX-License-Identifier: GPL-2.0
# Helpers for the offline layer scenarios (tests/e2e/2N-layer-*.sh): random chains written
# through `chainctl layer write`, with a reference raw image that receives
# the same writes through dd, so flattened results can be compared with an
# independent computation.  Source after lib.sh.  Block size 64 KiB.

BS=65536

# pool_make FILE MIB: random bytes to cut writes from.
pool_make() {
	head -c "$(($2 << 20))" /dev/urandom > "$1"
}

# layer_put LAYER REF BLOCK COUNT: COUNT blocks of pool data at BLOCK.
layer_put() {
	local layer=$1 ref=$2 blk=$3 n=$4 src
	src=$(( (RANDOM * 32768 + RANDOM) % (POOL_BLOCKS - n + 1) ))
	dd if="$POOL" bs=$BS skip="$src" count="$n" status=none > "$DMC_TMP/put.$$"
	"$CHAINCTL" layer write "$layer" $((blk * BS)) $((n * BS)) < "$DMC_TMP/put.$$" &&
	dd if="$DMC_TMP/put.$$" of="$ref" bs=$BS seek="$blk" conv=notrunc status=none
}

# layer_zero LAYER REF BLOCK COUNT
layer_zero() {
	"$CHAINCTL" layer write --zero "$1" $(($3 * BS)) $(($4 * BS)) &&
	dd if=/dev/zero of="$2" bs=$BS seek="$3" count="$4" conv=notrunc status=none
}

# layer_scribble LAYER REF NBLOCKS WRITES: random overlapping writes and zeros.
layer_scribble() {
	local layer=$1 ref=$2 nb=$3 writes=$4 i blk n
	for ((i = 0; i < writes; i++)); do
		n=$((RANDOM % 16 + 1))
		blk=$((RANDOM % (nb - n)))
		if ((RANDOM % 5 == 0)); then
			layer_zero "$layer" "$ref" "$blk" "$n" || return 1
		else
			layer_put "$layer" "$ref" "$blk" "$n" || return 1
		fi
	done
}

# chain_build DIR DEPTH SIZE_MIB RAW: layers l1..lDEPTH over a base (base.img
# raw when RAW=1, else base.dmc), scribbled; the reference is DIR/ref.img and
# the leaf DIR/lDEPTH.dmc.
chain_build() {
	local dir=$1 depth=$2 mib=$3 raw=$4 nb=$(($3 * 16)) i parent
	mkdir -p "$dir"
	if [ "$raw" = 1 ]; then
		head -c "$((mib << 20))" /dev/urandom > "$dir/base.img"
		cp "$dir/base.img" "$dir/ref.img"
		parent=$dir/base.img
	else
		truncate -s "${mib}M" "$dir/ref.img"
		"$CHAINCTL" layer create -s "${mib}M" "$dir/base.dmc" || return 1
		layer_scribble "$dir/base.dmc" "$dir/ref.img" "$nb" 6 || return 1
		parent=$dir/base.dmc
	fi
	for ((i = 1; i <= depth; i++)); do
		"$CHAINCTL" layer create --parent "$parent" "$dir/l$i.dmc" || return 1
		layer_scribble "$dir/l$i.dmc" "$dir/ref.img" "$nb" 6 || return 1
		parent=$dir/l$i.dmc
	done
}

# chain_target DIR DEPTH N: the file a --depth N merge from lDEPTH goes into.
chain_target() {
	local dir=$1 depth=$2 n=$3
	if ((n < depth)); then
		echo "$dir/l$((depth - n)).dmc"
	elif [ -e "$dir/base.img" ]; then
		echo "$dir/base.img"
	else
		echo "$dir/base.dmc"
	fi
}

# same_as_ref LAYER_OR_RAW REF: the chain at LAYER (or the raw file) reads as REF.
same_as_ref() {
	local f=$1 ref=$2 out=$DMC_TMP/flat.$$
	case "$f" in
	*.img) cmp -s "$f" "$ref" ;;
	*) rm -f "$out"
	   "$CHAINCTL" layer flatten "$f" "$out" > /dev/null &&
	   cmp -s "$out" "$ref"; local rc=$?; rm -f "$out"; return $rc ;;
	esac
}
