# SPDX-License-Identifier: GPL-2.0
# bash completion for chainctl (dm-chain's tool).
#
#   chainctl [OPTIONS] OBJECT COMMAND [ARGS]
#
# Completes the global options, the objects, each object's commands, each
# command's options (the lists below follow the --help texts, and
# tests/completion/check-completion fails when they drift apart), the
# values of options where they are known (--mode, --block, --format), layer and
# image file names (*.dmc files and directories first, any file when none
# of those match), and the names of live chain devices, asked from
# `dmsetup ls --target chain` (silently nothing when that cannot be run or
# is refused).
#
# Self-contained: it needs nothing from the bash-completion package.
# Installed as $(PREFIX)/share/bash-completion/completions/chainctl.

# Each command's options.  "opt=" marks an option that takes a value.
_chainctl_opts_layer_create='-s= --size= -b= --block= --parent= --raw-parent= -h --help'
_chainctl_opts_layer_info='-j --json -c --chain --raw -h --help'
_chainctl_opts_layer_check='-r --repair --above-deleted -j --json -h --help'
_chainctl_opts_layer_map='-j --json -h --help'
_chainctl_opts_layer_merge='-d= --depth= -i= --into= -F= --from= -m= --mode= -s= --side= -r= --rate= -p --progress -D --delete --above-deleted -j --json -h --help'
_chainctl_opts_layer_flatten='-d= --depth= -m= --mode= -p --progress -j --json -h --help'
_chainctl_opts_layer_write='--zero -h --help'
_chainctl_opts_layer_import='-f= --format= -b= --block= -p --progress -h --help'
_chainctl_opts_layer_export='-p --progress -h --help'
_chainctl_opts_layer_help=''
_chainctl_opts_device_create='-r --read-only --raw -h --help'
_chainctl_opts_device_remove='-h --help'
_chainctl_opts_device_list='-j --json -h --help'
_chainctl_opts_device_status='-j --json -h --help'
_chainctl_opts_device_merge='-d= --depth= -i= --into= -F= --from= -m= --mode= -r= --rate= -n= --new-leaf= -W --no-wait -D --delete -j --json -h --help'
_chainctl_opts_device_cancel='-h --help'
_chainctl_opts_device_snapshot='-j --json -h --help'
_chainctl_opts_device_help=''
_chainctl_opts_tab_up='-c= --config= -h --help'
_chainctl_opts_tab_down='-c= --config= -h --help'
_chainctl_opts_tab_list='-c= --config= -j --json -h --help'
_chainctl_opts_tab_help=''
_chainctl_opts_monitor='-j --json -c= --count= -h --help'
_chainctl_opts_version='-j --json -h --help'
_chainctl_opts_global='-j --json -v --verbose -h --help -V --version'

_chainctl_objects='version layer device monitor tab help'
_chainctl_cmds_layer='create info check map merge flatten write import export help'
_chainctl_cmds_device='create remove list status merge cancel snapshot help'
_chainctl_cmds_tab='up down list help'
# The chaintab whose device names 'tab up' and 'tab down' offer.
: "${_chainctl_chaintab:=/etc/dm-chain/chaintab}"

# _chainctl_add WORDLIST CUR: add the words of WORDLIST that start with CUR.
_chainctl_add()
{
	local w
	for w in $1; do
		[[ $w == "$2"* ]] && COMPREPLY+=("$w")
	done
}

# _chainctl_files CUR [any]: layer files.  *.dmc files and directories
# when any match CUR, else every file; with "any" (raw images, new output
# files) every file and directory at once.
_chainctl_files()
{
	local cur=$1
	local -a got=() dirs=()

	if [[ ${2-} != any ]]; then
		mapfile -t got < <(compgen -f -X '!*.dmc' -- "$cur")
		if ((${#got[@]})); then
			mapfile -t dirs < <(compgen -d -- "$cur")
			got+=("${dirs[@]}")
		fi
	fi
	if ((${#got[@]} == 0)); then
		mapfile -t got < <(compgen -f -- "$cur")
	fi
	COMPREPLY+=("${got[@]}")
	# Quote and mark directories; outside a completion (a test) this
	# fails, harmlessly.
	compopt -o filenames 2> /dev/null
	return 0
}

# _chainctl_dirs CUR: directories (DESTDIR of import and export).
_chainctl_dirs()
{
	local -a got=()
	mapfile -t got < <(compgen -d -- "$1")
	COMPREPLY+=("${got[@]}")
	compopt -o filenames 2> /dev/null
	return 0
}

# _chainctl_devices CUR: live chain devices, best effort.  dmsetup prints
# "NAME<TAB>(MAJOR:MINOR)" lines, or "No devices found"; without root it
# fails.  Either way nothing but names gets through.
_chainctl_devices()
{
	local line name
	type -P dmsetup > /dev/null 2>&1 || return 0
	while IFS= read -r line; do
		[[ $line == *$'\t('*')' ]] || continue
		name=${line%%$'\t'*}
		[[ $name == "$1"* ]] && COMPREPLY+=("$name")
	done < <(dmsetup ls --target chain 2> /dev/null < /dev/null)
	return 0
}

# _chainctl_tab_names CUR: the device names the chaintab lists, best
# effort (nothing when it cannot be read).
_chainctl_tab_names()
{
	local name rest
	[[ -r $_chainctl_chaintab ]] || return 0
	while read -r name rest; do
		[[ -z $name || $name == '#'* ]] && continue
		[[ $name == "$1"* ]] && COMPREPLY+=("$name")
	done < "$_chainctl_chaintab"
	return 0
}

# _chainctl_value WHERE OPT CUR: the value of option OPT.
_chainctl_value()
{
	local where=$1 opt=$2 cur=$3
	case $opt in
	-m | --mode)
		_chainctl_add 'auto clone copy' "$cur"
		;;
	-s | --side)
		[[ $where == layer_merge ]] &&
			_chainctl_add 'target source auto' "$cur"
		;;
	-b | --block)
		[[ $where == layer_create || $where == layer_import ]] &&
			_chainctl_add '4K 8K 16K 32K 64K 128K 256K 512K 1M 2M' "$cur"
		;;
	-f | --format)
		[[ $where == layer_import ]] &&
			_chainctl_add 'qcow2 raw vmdk vhdx vpc qed' "$cur"
		;;
	--parent | -i | --into | -F | --from | -n | --new-leaf)
		_chainctl_files "$cur"
		;;
	--raw-parent)
		_chainctl_files "$cur" any
		;;
	-c | --config)
		[[ $where == tab_* ]] && _chainctl_files "$cur" any
		;;
	esac
	# Sizes, depths, rates and counts: nothing to offer.
	return 0
}

# _chainctl_takes_value WHERE OPT: does OPT of command WHERE take a value?
_chainctl_takes_value()
{
	local list="_chainctl_opts_$1"
	[[ " ${!list} " == *" $2= "* ]]
}

# _chainctl_positional WHERE N CUR: the Nth (from 0) plain argument.
_chainctl_positional()
{
	local where=$1 n=$2 cur=$3
	case $where in
	layer_create | layer_info | layer_check | layer_map | layer_merge)
		((n == 0)) && _chainctl_files "$cur"
		;;
	layer_write)
		((n == 0)) && _chainctl_files "$cur"
		;;
	layer_flatten)
		((n == 0)) && _chainctl_files "$cur"
		((n == 1)) && _chainctl_files "$cur" any
		;;
	layer_import)
		# SOURCE: an image of any name; DESTDIR: a directory.
		((n == 0)) && _chainctl_files "$cur" any
		((n == 1)) && _chainctl_dirs "$cur"
		;;
	layer_export)
		((n == 0)) && _chainctl_files "$cur"
		((n == 1)) && _chainctl_dirs "$cur"
		;;
	device_create)
		# NAME is new: nothing to offer.  Then LEAF, or IMAGE with --raw.
		((n == 1)) && _chainctl_files "$cur"
		;;
	device_remove | device_status | device_merge | device_cancel)
		((n == 0)) && _chainctl_devices "$cur"
		;;
	device_snapshot)
		((n == 0)) && _chainctl_devices "$cur"
		((n == 1)) && _chainctl_files "$cur"
		;;
	tab_up | tab_down)
		_chainctl_tab_names "$cur"
		;;
	esac
	return 0
}

_chainctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local i=1 w object='' cmd='' where n=0 opt plain=''
	COMPREPLY=()

	# Global options, up to the object.  -V runs 'version' on the rest.
	while ((i < COMP_CWORD)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -V || $w == --version ]]; then
			object=version
			((i++))
			break
		fi
		[[ $w == -* ]] || break
		((i++))
	done
	if [[ -z $object ]]; then
		if ((i == COMP_CWORD)); then
			if [[ $cur == -* ]]; then
				_chainctl_add "$_chainctl_opts_global" "$cur"
			else
				_chainctl_add "$_chainctl_objects" "$cur"
			fi
			return 0
		fi
		object=${COMP_WORDS[i]}
		((i++))
	fi

	case $object in
	layer | device | tab)
		if ((i == COMP_CWORD)); then
			w="_chainctl_cmds_$object"
			_chainctl_add "${!w}" "$cur"
			return 0
		fi
		cmd=${COMP_WORDS[i]}
		((i++))
		where=${object}_$cmd
		;;
	version | monitor)
		where=$object
		;;
	*)
		return 0
		;;
	esac
	w="_chainctl_opts_$where"
	[[ -n ${!w+set} ]] || return 0

	# Walk the arguments before the cursor: skip option values, count the
	# plain ones.  "--opt=value" is one word, or three when '=' is in
	# COMP_WORDBREAKS (the default).  After "--" every word is plain.
	while ((i < COMP_CWORD)); do
		w=${COMP_WORDS[i]}
		if [[ -z $plain && $w == -- ]]; then
			plain=1
		elif [[ -z $plain && $w == -?* ]]; then
			if [[ ${COMP_WORDS[i + 1]-} == = ]]; then
				((i += 3))
				continue
			fi
			if [[ $w != *=* ]] && _chainctl_takes_value "$where" "$w"; then
				((i++))
			fi
		else
			((n++))
		fi
		((i++))
	done

	# The value of an option?
	opt=${COMP_WORDS[COMP_CWORD - 1]}
	if [[ -n $plain ]]; then
		_chainctl_positional "$where" "$n" "$cur"
		return 0
	fi
	if [[ $cur == = && $opt == -* ]]; then
		_chainctl_value "$where" "$opt" ''
		return 0
	fi
	if [[ $opt == = ]] && ((COMP_CWORD >= 2)); then
		_chainctl_value "$where" "${COMP_WORDS[COMP_CWORD - 2]}" "$cur"
		return 0
	fi
	if [[ $cur == --*=* ]]; then
		# '=' not a word break here: complete the whole word.
		local before=${cur%%=*} i0=${#COMPREPLY[@]}
		_chainctl_value "$where" "$before" "${cur#*=}"
		for ((; i0 < ${#COMPREPLY[@]}; i0++)); do
			COMPREPLY[i0]=$before=${COMPREPLY[i0]}
		done
		return 0
	fi
	if [[ -z $plain && $opt == -?* ]] && _chainctl_takes_value "$where" "$opt"; then
		_chainctl_value "$where" "$opt" "$cur"
		return 0
	fi

	w="_chainctl_opts_$where"
	if [[ $cur == -* ]]; then
		_chainctl_add "${!w//=/}" "$cur"
		return 0
	fi
	_chainctl_positional "$where" "$n" "$cur"
	return 0
}

complete -F _chainctl chainctl
