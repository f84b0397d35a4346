package vm

// The remote side of the provider: fixed POSIX sh scripts, run as
// `sh -c '<script>' <name> '<arg>'...`. Every value reaches a script as a
// quoted positional parameter and is used only inside double quotes, so
// nothing meshx sends is parsed by the shell. Content travels on stdin.

// script is one remote script; name is its $0 and how errors show it.
type script struct{ name, body string }

const prelude = `set -eu
LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH
tab=$(printf '\t')
`

// observeScript reads everything Observe needs in one session, with a
// fixed number of processes: one perl for all files and lines, one
// sha256sum per 256 files, one dpkg-query for all packages and one
// systemctl show for all units. Files are opened without following links
// (see fsPerl).
//
// Arguments: the environment, the manifest directory, a string of 0/1
// flags (one per file: send its text), then operations "l PATH LINE",
// "p PACKAGE", "u UNIT", then "--files" and the file paths. Operation i is
// r<i> and manifest entry n is m<n> in the output, one record per line:
//
//	L id -|0|1|?                file missing, line absent, present, error
//	P NAME<TAB>STATUS<TAB>VERSION  installed or known packages only
//	U id none none              a unit name systemctl would refuse
//	#U id..., then lines        systemctl show -p UnitFileState,ActiveState
//	                            of those units, in their order: KEY=VALUE
//	                            lines, a blank line between units
//	#E                          end of systemctl's output (after a
//	                            blank line, in case it ended without one)
//	M BASE64 | M -              this environment's manifest
//	K id TYPE NAME              a manifest entry, observed as id (a file
//	                            entry's path joins the files)
//	X ENV TYPE NAME             an entry of another environment's manifest
//	#S, then stat lines         RAWMODE MODE USER GROUP UID GID SIZE PATH
//	C BASE64 PATH               up to 65537 bytes of a regular file
//	#H, then sha256sum lines    SHA256, two spaces, PATH (regular files)
//	Z                           end
//
// Paths never hold a newline or a backslash, so records print them
// verbatim.
var observeScript = script{name: "meshx-observe", body: prelude + fsTool + `set +e
oifs=$IFS
env=$1 dir=$2 want=$3
shift 3
man=$dir/$env.json
if [ -e "$dir" ] && { [ ! -r "$dir" ] || [ ! -x "$dir" ]; }; then
	echo "meshx: cannot read $dir as $(id -un): connect as root or use sudo" >&2
	exit 3
fi
nl='
'
# Units are asked in one systemctl call at the end. A name outside systemd's
# alphabet (from a hand-edited manifest) would fail that call for all.
ounit() {
	case $2 in
	'' | -* | *[!A-Za-z0-9:_.@-]*) printf 'U %s none none\n' "$1" ;;
	*) uids="$uids $1" units="$units$nl$2" ;;
	esac
}
i=0
pkgs=
uids=
units=
while [ $# -gt 0 ] && [ "$1" != --files ]; do
	case $1 in
	l) set -- "$@" --line "r$i" "$2" "$3"; shift 3 ;;
	p) pkgs="$pkgs $2"; shift 2 ;;
	u) ounit "r$i" "$2"; shift 2 ;;
	*) echo "meshx-observe: bad operation $1" >&2; exit 2 ;;
	esac
	i=$((i+1))
done
[ $# -gt 0 ] && shift
if [ -f "$man" ]; then
	printf 'M '
	base64 -w 0 < "$man"
	echo
else
	echo "M -"
fi
n=0
for f in "$dir"/*.json; do
	[ -f "$f" ] || continue
	e=${f##*/}
	e=${e%.json}
	set -f
	list=$(sed -n 's/^{"type":"\([a-z]*\)","key":"[^"\\]*","name":"\([^"\\]*\)".*/\1 \2/p' "$f")
	IFS=$nl
	for l in $list; do
		IFS=$oifs
		t=${l%% *}
		k=${l#* }
		if [ "$f" != "$man" ]; then
			printf 'X %s %s %s\n' "$e" "$t" "$k"
			continue
		fi
		n=$((n+1))
		printf 'K m%s %s %s\n' "$n" "$t" "$k"
		case $t in
		# Absolute paths only: anything else is no file (and never
		# fs's --line).
		file|env|line) case $k in /*) set -- "$@" "$k"; want="${want}0" ;; esac ;;
		package) pkgs="$pkgs $k" ;;
		unit) ounit "m$n" "$k" ;;
		esac
	done
	IFS=$oifs
	set +f
done
set -f
if [ -n "$units" ]; then
	echo "#U$uids"
	IFS=$nl
	systemctl show -p UnitFileState,ActiveState -- $units 2>/dev/null </dev/null
	IFS=$oifs
	printf '\n#E\n'
fi
# Package names are validated ([a-z0-9+.-]): safe unquoted, and one
# dpkg-query answers for all.
[ -n "$pkgs" ] && dpkg-query -W -f 'P ${Package}\t${Status}\t${Version}\n' $pkgs 2>/dev/null </dev/null
# The lines (moved behind the files by the loop over the operations), stat
# lines, the text of flagged regular files and their hashes, from files
# opened without following links (see fsPerl).
fs observe "$want" "$@"
echo Z
`}

// writeScript writes stdin to a file atomically, without following links
// (see fsPerl).
//
// Arguments: PATH MODE OWNER GROUP SHA256 DIRMODE. The content goes to a
// temp file in the same directory; unless its sha256 is the one given (a
// connection cut mid-write leaves it short), it is discarded and the file
// is untouched. Then fsync, fchown, fchmod, rename, fsync of the
// directory. Prints "unchanged" when the file already had this content,
// mode and owner, else "written EXISTED EMPTY" (0 or 1 each: whether the
// file existed, and was empty, before).
var writeScript = script{name: "meshx-write", body: prelude + fsTool + `fs write "$@"
`}

// readScript prints "y" and the file, or "n" when it does not exist; it
// refuses a link, a FIFO or a device (see fsPerl).
var readScript = script{name: "meshx-read", body: prelude + fsTool + `fs read "$1"
`}

// removeScript removes a regular file (never a link or a directory), and
// then its directory when RMDIR is 1 and it is empty, without following
// links (see fsPerl). Prints "removed", "absent" or "link" (left alone).
var removeScript = script{name: "meshx-remove", body: prelude + fsTool + `fs remove "$1" "$2"
`}

// lineAddScript appends LINE to PATH unless an identical line is there,
// atomically, keeping the file's mode and owner. Prints "present" or
// "appended EXISTED".
var lineAddScript = script{name: "meshx-line-add", body: prelude + fsTool + `fs line-add "$1" "$2"
`}

// lineRemoveScript removes every line equal to LINE, atomically; with
// RMEMPTY 1 it removes the file when nothing else is left. Prints
// "absent", "removed" or "removed-file".
var lineRemoveScript = script{name: "meshx-line-remove", body: prelude + fsTool + `fs line-remove "$1" "$2" "$3"
`}

// debInstall is shared by the .deb scripts: install file $1 as package $2
// (labelled $3 in messages) unless that version is installed. Prints
// "unchanged VERSION" or "installed VERSION PREVIOUS" (PREVIOUS "-" when
// none was installed).
const debInstall = `debinstall() {
	command -v dpkg-deb >/dev/null 2>&1 || { echo "meshx: dpkg-deb is not installed on the VM" >&2; exit 5; }
	pkg=$(dpkg-deb -f "$1" Package)
	ver=$(dpkg-deb -f "$1" Version)
	if [ "$pkg" != "$2" ]; then echo "meshx: $3 contains package $pkg, not $2" >&2; exit 4; fi
	cur=$(dpkg-query -W -f '${Status}\t${Version}' "$2" 2>/dev/null </dev/null) || cur=
	iv=
	case $cur in *" installed$tab"*) iv=${cur#*"$tab"} ;; esac
	if [ "$iv" = "$ver" ]; then echo "unchanged $ver"; exit 0; fi
	DEBIAN_FRONTEND=noninteractive dpkg -i "$1" </dev/null >&2
	# The package ships unit files without a postinst that reloads them.
	if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload </dev/null >&2 || true; fi
	echo "installed $ver ${iv:--}"
}
`

// debUploadScript installs the .deb on stdin. Arguments: NAME SHA256 LABEL.
var debUploadScript = script{name: "meshx-deb-upload", body: prelude + debInstall + `name=$1 sum=$2 label=$3
t=$(mktemp "${TMPDIR:-/tmp}/meshx-deb.XXXXXXXX")
trap 'rm -f -- "$t"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
cat > "$t"
got=$(sha256sum < "$t")
got=${got%% *}
if [ "$got" != "$sum" ]; then echo "meshx: $label arrived incomplete or changed (sha256 $got, want $sum); not installed" >&2; exit 4; fi
debinstall "$t" "$name" "$label"
`}

// debURLScript downloads and installs a .deb. Arguments: NAME URL SHA256.
var debURLScript = script{name: "meshx-deb-url", body: prelude + debInstall + `name=$1 url=$2 sum=$3
command -v curl >/dev/null 2>&1 || { echo "meshx: curl is not installed on the VM; it is needed to download $url" >&2; exit 5; }
t=$(mktemp "${TMPDIR:-/tmp}/meshx-deb.XXXXXXXX")
trap 'rm -f -- "$t"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
curl -fsSL --retry 3 --connect-timeout 30 -o "$t" "$url" </dev/null
got=$(sha256sum < "$t")
got=${got%% *}
if [ "$got" != "$sum" ]; then echo "meshx: $url has sha256 $got, want $sum; not installed" >&2; exit 4; fi
debinstall "$t" "$name" "$url"
`}

// aptScript installs an apt package unless installed. Argument: NAME.
var aptScript = script{name: "meshx-apt", body: prelude + `name=$1
cur=$(dpkg-query -W -f '${Status}\t${Version}' "$name" 2>/dev/null </dev/null) || cur=
case $cur in *" installed$tab"*) echo "unchanged ${cur#*"$tab"}"; exit 0 ;; esac
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "$name" </dev/null >&2; then
	apt-get update </dev/null >&2
	apt-get install -y --no-install-recommends "$name" </dev/null >&2
fi
echo "installed $(dpkg-query -W -f '${Version}' "$name" </dev/null) -"
`}

// packageRemoveScript removes an installed package with its configuration
// files (dpkg -P), so the VM is left as before meshx installed it; dpkg -r
// would leave its conffiles behind. Argument: NAME.
var packageRemoveScript = script{name: "meshx-package-remove", body: prelude + `name=$1
cur=$(dpkg-query -W -f '${Status}\t${Version}' "$name" 2>/dev/null </dev/null) || cur=
case $cur in *" installed$tab"*) ;; *) echo absent; exit 0 ;; esac
DEBIAN_FRONTEND=noninteractive dpkg -P "$name" </dev/null >&2
echo removed
`}

// enabledStates are the is-enabled answers that need no `systemctl enable`
// (a static unit cannot be enabled; it is started by what needs it), as a
// sh case pattern.
const enabledStates = "enabled|enabled-runtime|static|alias|indirect|generated|transient"

// unitScript enables a unit, restarts it when RESTART is 1 and it is
// active, and starts it when it is not active. Prints
// "was ENABLED ACTIVE [enabled] [started|restarted]".
var unitScript = script{name: "meshx-unit", body: prelude + `u=$1 restart=$2
e=$(systemctl is-enabled "$u" 2>/dev/null </dev/null | head -n 1) || true
a=$(systemctl is-active "$u" 2>/dev/null </dev/null | head -n 1) || true
did=
case $e in
` + enabledStates + `) ;;
*) systemctl enable "$u" </dev/null >&2; did="$did enabled" ;;
esac
if [ "$a" != active ] || [ "$restart" = 1 ]; then
	# A drop-in written in this apply takes effect only after a reload.
	systemctl daemon-reload </dev/null >&2 || true
fi
if [ "$a" != active ]; then
	systemctl start "$u" </dev/null >&2
	did="$did started"
elif [ "$restart" = 1 ]; then
	systemctl restart "$u" </dev/null >&2
	did="$did restarted"
fi
echo "was ${e:-none} ${a:-none}$did"
`}

// unitRemoveScript undoes what meshx did to a unit: stops it when STOP is
// 1, disables it when DISABLE is 1.
var unitRemoveScript = script{name: "meshx-unit-remove", body: prelude + `u=$1 stop=$2 disable=$3
e=$(systemctl is-enabled "$u" 2>/dev/null </dev/null | head -n 1) || true
a=$(systemctl is-active "$u" 2>/dev/null </dev/null | head -n 1) || true
if [ -z "$e" ] || [ "$e" = not-found ]; then echo absent; exit 0; fi
if [ "$stop" = 1 ] && [ "$a" = active ]; then systemctl stop "$u" </dev/null >&2; fi
if [ "$disable" = 1 ] && [ "$e" = enabled ]; then systemctl disable "$u" </dev/null >&2; fi
echo done
`}
