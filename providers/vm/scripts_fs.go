package vm

import "strings"

// Link-safe file access on the VM.
//
// meshx runs as root on the VM, and some of the directories it writes to
// belong to another user: /var/lib/istio/envoy is istio-proxy's. A process
// running as that user can replace any entry there at any moment, so a
// check by name ([ -L "$p" ]) followed by a use by name (cat, chown, chmod,
// cp, sha256sum) can be made to act on the target of a symbolic link that
// was swapped in between: root then hands a root-only file to istio-proxy,
// or reads it back into a plan and into sidecar.env. Shell and coreutils
// have no way to act on a file they opened (no fchown, no fchmod, no
// O_NOFOLLOW for cat), so the file operations are a small perl program:
// perl-base is Essential on Debian and Ubuntu, and its Fcntl and IO::Handle
// give open(2) flags and fsync. IO::Handle is loaded only to write: it
// costs more to load than the rest of the program, and every plan runs the
// program on every VM.
//
// The rules it keeps:
//
//   - It walks to a file's directory from / one component at a time,
//     checking that the directory it entered is the one it looked at
//     (device and inode), so no component is swapped under it. A symbolic
//     link on the way is followed only when it sits in a directory that
//     only root (or the SSH user) can write, as /lib -> usr/lib does; one
//     in a directory another user can write is refused.
//   - The file itself is never followed: it is opened with O_NOFOLLOW (and
//     O_NONBLOCK, so a FIFO cannot hang it), and only after fstat says the
//     open file is a regular one is it read. In a directory another user
//     can write, a file with more than one hard link is not read either.
//   - A write creates a new temp file next to the target with O_CREAT,
//     O_EXCL and O_NOFOLLOW, writes, checks the sha256 and fsyncs it, sets
//     owner and mode on the open file (fchown, fchmod) and renames it into
//     place; rename(2) replaces a directory entry and follows no link. A
//     user who owns the directory can still rename their own file over
//     the temp name before meshx's rename: they then control the content
//     of a file in their own directory, as they could anyway, and root has
//     changed nothing outside it. The next plan shows the drift.
//
// The program prints the protocol records of the scripts that call it and
// exits 3 (refused), 4 (content altered in transit) or 2 (usage).
const fsPerl = `use strict;
use Fcntl qw(:DEFAULT :mode);
my $tmp;
END { unlink $tmp if defined $tmp }
$SIG{HUP} = sub { exit 129 };
$SIG{INT} = sub { exit 130 };
$SIG{TERM} = sub { exit 143 };
$SIG{PIPE} = sub { exit 141 };
binmode STDIN;
binmode STDOUT;
my $untrusted;
sub fail { print STDERR "meshx: $_[1]\n"; exit $_[0] }
sub linkmsg { "$_[0] is a symbolic link; meshx does not read, write through or over links" }
sub trusted {
	my @d = stat ".";
	return @d && ($d[4] == 0 || $d[4] == $>) && !($d[2] & 022);
}
sub walk {
	my ($p, $mk) = @_;
	my @c = grep { length && $_ ne "." } split m{/}, $p;
	my $base = pop @c;
	die "$p: not a file path\n" if !defined $base || $p !~ m{^/};
	chdir "/" or die "$p: chdir /: $!\n";
	my $hops = 0;
	while (@c) {
		my $c = shift @c;
		if ($c eq "..") {
			chdir ".." or die "$p: chdir ..: $!\n";
			next;
		}
		my @l = lstat $c;
		my $new = 0;
		if (!@l) {
			die "$p: $c: $!\n" if !$!{ENOENT};
			return undef if !defined $mk;
			# Another write of this apply may make the same directory
			# at the same moment (/etc/certs for three certificates):
			# then it is not new, and is checked like any other below.
			if (mkdir $c, 0700) {
				$new = 1;
			} elsif (!$!{EEXIST}) {
				die "$p: mkdir $c: $!\n";
			}
			@l = lstat $c or die "$p: $c: $!\n";
		}
		if (S_ISLNK($l[2])) {
			die "$p: $c is a symbolic link in a directory other users can write; meshx does not follow it\n" if !trusted();
			die "$p: too many levels of symbolic links\n" if ++$hops > 40;
			my $to = readlink $c;
			die "$p: readlink $c: $!\n" if !defined $to;
			chdir "/" or die "$p: chdir /: $!\n" if $to =~ m{^/};
			unshift @c, grep { length && $_ ne "." } split m{/}, $to;
			next;
		}
		die "$p: $c is not a directory\n" if !S_ISDIR($l[2]);
		chdir $c or die "$p: chdir $c: $!\n";
		my @s = stat ".";
		die "$p: $c changed while meshx entered it\n" if !@s || $s[0] != $l[0] || $s[1] != $l[1];
		chmod $mk, "." if $new && $s[4] == $>;
	}
	$untrusted = !trusted();
	return $base;
}
sub openread {
	my ($p, $b) = @_;
	my $fh;
	if (!sysopen($fh, $b, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)) {
		return () if $!{ENOENT};
		die linkmsg($p) . "\n" if $!{ELOOP};
		die "$p: $!\n";
	}
	binmode $fh;
	my @s = stat $fh;
	die "$p exists and is not a regular file\n" if !S_ISREG($s[2]);
	die "$p has $s[3] hard links and its directory can be written by other users; meshx does not read it\n" if $s[3] > 1 && $untrusted;
	return ($fh, \@s);
}
sub slurp {
	my ($fh, $max) = @_;
	my $c = "";
	while (!defined $max || length $c < $max) {
		my $n = sysread $fh, $c, 65536, length $c;
		die "read: $!\n" if !defined $n;
		last if !$n;
	}
	return defined $max ? substr($c, 0, $max) : $c;
}
sub put {
	my ($fh, $buf) = @_;
	while (length $buf) {
		my $w = syswrite $fh, $buf;
		die "write: $!\n" if !defined $w;
		substr($buf, 0, $w) = "";
	}
}
sub sha {
	my ($fh) = @_;
	sysseek $fh, 0, 0;
	flushout();
	my $pid = open(my $k, "-|");
	die "fork: $!\n" if !defined $pid;
	if (!$pid) {
		undef $tmp;
		open(STDIN, "<&", $fh) or exit 1;
		exec "sha256sum" or exit 1;
	}
	my $o = <$k>;
	close $k;
	die "sha256sum failed\n" if !defined $o || $o !~ /^([0-9a-f]{64}) /;
	return $1;
}
sub newtemp {
	for (1 .. 100) {
		my $n = sprintf ".meshx-tmp.%08x", int rand 4294967295;
		if (sysopen(my $fh, $n, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) {
			$tmp = $n;
			binmode $fh;
			return $fh;
		}
		die "create $n: $!\n" if !$!{EEXIST};
	}
	die "cannot create a temp file\n";
}
sub flushout { my $s = select STDOUT; $| = 1; $| = 0; select $s }
sub install {
	my ($fh, $b, $mode, $uid, $gid) = @_;
	require IO::Handle;
	$fh->sync or die "fsync: $!\n";
	chown $uid, $gid, $fh or die "chown: $!\n";
	chmod $mode, $fh or die "chmod: $!\n";
	rename $tmp, $b or die "rename: $!\n";
	undef $tmp;
	if (sysopen(my $d, ".", O_RDONLY)) { $d->sync }
}
sub hasline {
	my ($text, $line) = @_;
	return scalar grep { $_ eq $line } split /\n/, $text;
}
sub b64 {
	my $r = "";
	$r .= substr(pack("u", $1), 1, -1) while $_[0] =~ /(.{1,45})/gs;
	$r =~ tr{\x60 -_}{AA-Za-z0-9+/};
	my $pad = (3 - length($_[0]) % 3) % 3;
	substr($r, -$pad) = "=" x $pad if $pad;
	return $r;
}
my %names;
sub name {
	my ($kind, $id) = @_;
	$names{"$kind$id"} //= ($kind eq "u" ? getpwuid $id : getgrgid $id) // "UNKNOWN";
}
my %op;
$op{read} = sub {
	my ($p) = @_;
	my $b = walk($p);
	my ($fh) = defined $b ? openread($p, $b) : ();
	if (!$fh) {
		print "n";
		return;
	}
	print "y";
	while (1) {
		my $n = sysread $fh, my $buf, 65536;
		die "read $p: $!\n" if !defined $n;
		last if !$n;
		print $buf;
	}
};
$op{write} = sub {
	my ($p, $mode, $owner, $group, $sum, $dmode) = @_;
	my $uid = $owner =~ /^[0-9]+$/ ? $owner : getpwnam $owner;
	my $gid = $group =~ /^[0-9]+$/ ? $group : getgrnam $group;
	die "$p: no user $owner\n" if !defined $uid;
	die "$p: no group $group\n" if !defined $gid;
	my $b = walk($p, oct $dmode);
	my @l = lstat $b;
	die linkmsg($p) . "\n" if @l && S_ISLNK($l[2]);
	die "$p exists and is not a regular file\n" if @l && !S_ISREG($l[2]);
	my $existed = @l ? 1 : 0;
	my $empty = @l && $l[7] == 0 ? 1 : 0;
	my $fh = newtemp();
	while (1) {
		my $n = sysread STDIN, my $buf, 65536;
		die "read: $!\n" if !defined $n;
		last if !$n;
		put($fh, $buf);
	}
	fail(4, "the content for $p arrived incomplete or altered; the file was not changed") if sha($fh) ne $sum;
	if ($existed) {
		my ($cur, $s) = eval { openread($p, $b) };
		if ($cur && sha($cur) eq $sum && ($s->[2] & 07777) == oct($mode) && $s->[4] == $uid && $s->[5] == $gid) {
			print "unchanged\n";
			return;
		}
	}
	install($fh, $b, oct $mode, $uid, $gid);
	print "written $existed $empty\n";
};
$op{"line-add"} = sub {
	my ($p, $line) = @_;
	my $b = walk($p, 0755);
	my @l = lstat $b;
	die linkmsg($p) . "\n" if @l && S_ISLNK($l[2]);
	my ($old, $s) = @l ? openread($p, $b) : ();
	my $text = $old ? slurp($old) : "";
	if ($old && hasline($text, $line)) {
		print "present\n";
		return;
	}
	$text .= "\n" if length $text && substr($text, -1) ne "\n";
	my $fh = newtemp();
	put($fh, "$text$line\n");
	install($fh, $b, $old ? ($s->[2] & 07777, $s->[4], $s->[5]) : (0644, -1, -1));
	print "appended ", ($old ? 1 : 0), "\n";
};
$op{"line-remove"} = sub {
	my ($p, $line, $rmempty) = @_;
	my $b = walk($p);
	my ($old, $s) = defined $b ? eval { openread($p, $b) } : ();
	my @lines = $old ? split /\n/, slurp($old), -1 : ();
	pop @lines if @lines && $lines[-1] eq "";
	my @keep = grep { $_ ne $line } @lines;
	if (@keep == @lines) {
		print "absent\n";
		return;
	}
	if ($rmempty eq "1" && !@keep) {
		unlink $b or die "remove $p: $!\n";
		print "removed-file\n";
		return;
	}
	my $fh = newtemp();
	put($fh, join "", map("$_\n", @keep));
	install($fh, $b, $s->[2] & 07777, $s->[4], $s->[5]);
	print "removed\n";
};
$op{remove} = sub {
	my ($p, $rmdir) = @_;
	my $b = walk($p);
	my @l = defined $b ? lstat $b : ();
	if (!@l) {
		print "absent\n";
	} elsif (S_ISLNK($l[2])) {
		print "link\n";
		return;
	} elsif (S_ISREG($l[2])) {
		unlink $b or die "remove $p: $!\n";
		print "removed\n";
	} else {
		die "$p is not a regular file; left in place\n";
	}
	if ($rmdir eq "1" && defined $b) {
		my $d = (grep { length } split m{/}, $p)[-2];
		my @h = stat ".";
		if (defined $d && chdir "..") {
			my @e = lstat $d;
			rmdir $d if @e && $e[0] == $h[0] && $e[1] == $h[1];
		}
	}
};
sub hasline_rec {
	my ($id, $p, $line) = @_;
	my $v = "?";
	my $b = eval { walk($p) };
	if (!$@) {
		my @l = defined $b ? lstat $b : ();
		my ($fh) = @l ? eval { openread($p, $b) } : ();
		$v = !@l ? "-" : !$fh ? "?" : hasline(slurp($fh), $line) ? "1" : "0";
	}
	print "L $id $v\n";
}
# observe WANT ARG...: each ARG is a file path, or "--line ID PATH LINE"
# (a line to look for); WANT has one 0/1 flag per path.
$op{observe} = sub {
	my ($want, @args) = @_;
	my (@all, @paths, %text);
	while (@args) {
		my $a = shift @args;
		if ($a eq "--line") {
			hasline_rec(splice @args, 0, 3);
			next;
		}
		push @all, $a;
	}
	for my $i (0 .. $#all) {
		push @paths, $all[$i] if !exists $text{$all[$i]};
		$text{$all[$i]} ||= substr($want, $i, 1) eq "1";
	}
	$^F = 1 << 30;
	my @open;
	print "#S\n";
	for my $p (@paths) {
		my $b = eval { walk($p) };
		next if !defined $b;
		my @s = lstat $b or next;
		my $fh;
		if (S_ISREG($s[2])) {
			($fh, my $fs) = eval { openread($p, $b) };
			@s = @$fs if $fh;
		}
		printf "%x %o %s %s %d %d %d %s\n", $s[2], $s[2] & 07777, name("u", $s[4]), name("g", $s[5]), $s[4], $s[5], $s[7], $p;
		next if !$fh;
		print "C ", b64(slurp($fh, 65537)), " $p\n" if $text{$p};
		push @open, [$fh, $p];
	}
	print "#H\n";
	while (my @chunk = splice @open, 0, 256) {
		my %path = map { ("/proc/self/fd/" . fileno($_->[0]), $_->[1]) } @chunk;
		flushout();
		my $pid = open(my $k, "-|");
		die "fork: $!\n" if !defined $pid;
		if (!$pid) {
			exec "sha256sum", "--", sort keys %path;
			exit 1;
		}
		while (<$k>) {
			print "$1  $path{$2}\n" if /^([0-9a-f]{64})  (.*)\n/ && exists $path{$2};
		}
		close $k;
		close $_->[0] for @chunk;
	}
};
my $f = $op{shift @ARGV // ""} or fail(2, "meshx-fs: unknown operation");
eval { $f->(@ARGV); 1 } or fail(3, $@ =~ s/\n\z//r);
`

// fsTool defines the shell function fs, which runs fsPerl, for the
// scripts that read or write files.
var fsTool = func() string {
	if strings.Contains(fsPerl, "'") {
		panic("fsPerl must not hold a single quote: it is single-quoted in sh")
	}
	return `command -v perl >/dev/null 2>&1 || { echo "meshx: perl is not installed on the VM (Debian's perl-base); meshx needs it to read and write files without following links" >&2; exit 5; }
fs() { perl -e '` + fsPerl + `' -- "$@"; }
`
}()
