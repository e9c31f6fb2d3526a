#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# build.sh - build strongSwan 5.9.8 for the gikev2 charon plugin.
#
# Copyright (C) the gikev2 project
#
# This program is free software; you can redistribute it and/or modify it
# under the terms of the GNU General Public License as published by the Free
# Software Foundation; either version 2 of the License, or (at your option)
# any later version.
#
# What it does, on Debian 12 as root, from a clean clone:
#   1. installs the build dependencies with apt-get (packages only),
#   2. fetches Debian's strongswan source package (5.9.8-5+deb12uN, newest
#      fetchable first) with `apt-get source --download-only`, using private
#      apt lists under build/strongswan/apt/ (the system's sources are not
#      touched),
#   3. unpacks it, applies Debian's patches (debian/patches/series), then
#      ours (plugin-glue/strongswan/patches/*.patch, in order), and runs
#      autoreconf as Debian's build does (dh_autoreconf),
#   4. configures with Debian's configure flags (taken from debian/rules, so
#      ME is defined and the libraries/plugins match Debian's charon) but with
#      everything installed under build/strongswan/prefix,
#   5. make -j$JOBS and make install,
#   6. if plugin-glue/strongswan/plugin/Makefile exists:
#      make -C plugin-glue/strongswan/plugin SWAN=<tree> PREFIX=<prefix> install
#
# Every step is skipped when its inputs did not change (stamp files keyed on
# a hash of the source package, the patches and the flags), so a second run
# takes seconds. The plugin step always runs (make decides).
#
# Usage: plugin-glue/strongswan/build.sh [--force] [--refetch] [--no-deps]
#   --force     rebuild from a fresh source tree
#   --refetch   refresh the private apt lists and fetch the newest source
#   --no-deps   do not check/install build dependencies (e.g. not root)
# Environment: JOBS (default: nproc), SW_DEB_VERSION (force a Debian version,
#   e.g. 5.9.8-5+deb12u5).
#
# Results:
#   build/strongswan/prefix/               installed strongSwan
#     lib/ipsec/{libcharon,libstrongswan}.so*, lib/ipsec/charon,
#     lib/ipsec/plugins/, sbin/swanctl, etc/strongswan.conf
#   build/strongswan/src/strongswan-5.9.8/ configured tree (config.h, headers),
#   build/strongswan/build -> src/strongswan-5.9.8
#   build/strongswan/env.sh                SWAN=..., PREFIX=... for other scripts

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
B=$ROOT/build/strongswan
PREFIX=$B/prefix
APT=$B/apt
DL=$B/dl
SRCROOT=$B/src
STAMPS=$B/stamps
UPSTREAM=5.9.8
TREE=$SRCROOT/strongswan-$UPSTREAM
JOBS=${JOBS:-$(nproc)}

FORCE=0 REFETCH=0 DEPS=1
for arg in "$@"; do
	case $arg in
		--force) FORCE=1 ;;
		--refetch) REFETCH=1 ;;
		--no-deps) DEPS=0 ;;
		-h|--help) sed -n '3,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "unknown argument: $arg" >&2; exit 2 ;;
	esac
done

T_START=$(date +%s.%N)
SUMMARY=()
log() { echo "==> $*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# step NAME CMD...: run a step, record its time
step() {
	local name=$1 t0
	shift
	t0=$(date +%s.%N)
	log "$name"
	"$@"
	SUMMARY+=("$(printf '%-12s %7ss  done' "$name" "$(elapsed "$t0")")")
}
skip() {
	log "$1: up to date, skipped"
	SUMMARY+=("$(printf '%-12s %7s   skipped (%s)' "$1" "-" "$2")")
}
stamp_ok() { [ "$FORCE" = 0 ] && [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STAMPS"; echo "$2" > "$STAMPS/$1"; }
sha() { sha256sum | cut -c1-16; }

mkdir -p "$B" "$STAMPS"

# ---------------------------------------------------------------------------
# 1. build dependencies (Debian's Build-Depends that matter for this build,
#    plus autotools for dh_autoreconf-like regeneration)
# ---------------------------------------------------------------------------
BUILD_DEPS=(
	gcc make libc6-dev pkg-config patch bzip2 xz-utils dpkg-dev
	autoconf automake libtool bison flex gperf
	libgmp-dev libssl-dev libcurl4-openssl-dev libgcrypt20-dev libldap2-dev
	libpam0g-dev libtss2-dev libnm-dev libsystemd-dev libcap-dev libiptc-dev
	libkrb5-dev libsqlite3-dev libxml2-dev
	debian-archive-keyring
)

# apt-get without the Debian docker image's post-invoke cache cleaner
# biting us: downloaded .debs go to a private cache directory.
apt_install() {
	mkdir -p "$APT/archives/partial"
	DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends \
		-o Dir::Cache::Archives="$APT/archives/" install "$@"
	rm -f "$APT"/archives/*.deb
}

deps() {
	local missing=() p
	for p in "${BUILD_DEPS[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} = 0 ]; then
		return 0
	fi
	log "installing: ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "missing build dependencies and not root: ${missing[*]}" >&2
		exit 1
	fi
	if ! apt_install "${missing[@]}"; then
		DEBIAN_FRONTEND=noninteractive apt-get -q update
		apt_install "${missing[@]}"
	fi
}
if [ "$DEPS" = 1 ]; then
	step deps deps
else
	skip deps "--no-deps"
fi

# ---------------------------------------------------------------------------
# 2. fetch Debian's source package with private apt lists
# ---------------------------------------------------------------------------
SOURCES=$APT/strongswan-src.sources
APTOPTS=(
	-o Dir::Etc::SourceList="$SOURCES"
	-o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$APT/lists"
	-o Dir::Cache="$APT/cache"
	-o Dir::Cache::Archives="$APT/archives/"
	-o Dir::Cache::pkgcache=""
	-o Dir::Cache::srcpkgcache=""
)

have_source() {
	local dsc
	dsc=$(ls "$DL"/strongswan_"$UPSTREAM"-*.dsc 2>/dev/null | sort -V | tail -1) || true
	[ -n "$dsc" ] || return 1
	# the dsc names the orig and debian tarballs
	awk '/^Files:/{f=1;next} /^[^ ]/{f=0} f{print $3}' "$dsc" | while read -r f; do
		[ -s "$DL/$f" ] || exit 1
	done
}

fetch() {
	mkdir -p "$APT/lists/partial" "$APT/cache" "$APT/archives/partial" "$DL"
	cat > "$SOURCES" <<-EOF
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: bookworm bookworm-updates
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb-src
	URIs: http://deb.debian.org/debian-security
	Suites: bookworm-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	apt-get -q "${APTOPTS[@]}" update
	local versions v ok=0
	if [ -n "${SW_DEB_VERSION:-}" ]; then
		versions=$SW_DEB_VERSION
	else
		versions=$(apt-cache "${APTOPTS[@]}" showsrc strongswan |
			awk '/^Version: /{print $2}' | grep "^$UPSTREAM-" | sort -u -V -r)
	fi
	log "candidate versions: $(echo $versions)"
	rm -f "$DL"/*
	for v in $versions; do
		# the newest ones are sometimes not (yet) on the mirror: fall back
		if (cd "$DL" && apt-get -q "${APTOPTS[@]}" source --download-only \
				"strongswan=$v"); then
			ok=1
			echo "$v" > "$DL/VERSION"
			break
		fi
		log "strongswan=$v not fetchable, trying the next version"
		rm -f "$DL"/*
	done
	[ "$ok" = 1 ] || { echo "could not fetch any strongswan $UPSTREAM source" >&2; exit 1; }
}
if [ "$REFETCH" = 0 ] && [ "$FORCE" = 0 ] && have_source; then
	skip fetch "have $(cat "$DL/VERSION" 2>/dev/null || ls "$DL"/*.dsc)"
else
	step fetch fetch
fi
DSC=$(ls "$DL"/strongswan_"$UPSTREAM"-*.dsc | sort -V | tail -1)
DEBVER=$(awk '/^Version: /{print $2; exit}' "$DSC")

# ---------------------------------------------------------------------------
# 3. unpack, Debian's patches, our patches, autoreconf
# ---------------------------------------------------------------------------
PATCHES=("$HERE"/patches/*.patch)
[ -e "${PATCHES[0]}" ] || PATCHES=()
UNPACK_KEY=$( { sha256sum "$DSC"; cat "${PATCHES[@]}" /dev/null | sha256sum;
	echo "${PATCHES[@]##*/}"; } | sha)

unpack() {
	local orig debtar p opt
	orig=$(awk '/^Files:/{f=1;next} /^[^ ]/{f=0} f{print $3}' "$DSC" | grep -E '\.orig\.tar\.(gz|bz2|xz)$')
	debtar=$(awk '/^Files:/{f=1;next} /^[^ ]/{f=0} f{print $3}' "$DSC" | grep -E '\.debian\.tar\.(gz|bz2|xz)$')
	rm -rf "$SRCROOT" "$STAMPS"
	mkdir -p "$SRCROOT" "$STAMPS"
	tar -C "$SRCROOT" --no-same-owner -xf "$DL/$orig"
	tar -C "$TREE" --no-same-owner -xf "$DL/$debtar"
	cd "$TREE"
	log "Debian patches ($DEBVER)"
	while read -r p opt; do
		case $p in ''|'#'*) continue ;; esac
		echo "    $p"
		patch -s ${opt:--p1} --no-backup-if-mismatch -i "debian/patches/$p"
	done < debian/patches/series
	log "our patches"
	for p in "${PATCHES[@]}"; do
		echo "    ${p##*/}"
		patch -s -p1 --no-backup-if-mismatch -i "$p"
	done
	# like dh_autoreconf (debhelper compat 12): Debian's patches touch a
	# Makefile.am, so regenerate the build system with Debian's autotools
	autoreconf -fi > "$B/autoreconf.log" 2>&1 ||
		{ tail -20 "$B/autoreconf.log"; exit 1; }
	cd "$ROOT"
	stamp_set unpack "$UNPACK_KEY"
}
if stamp_ok unpack "$UNPACK_KEY" && [ -f "$TREE/configure" ]; then
	skip unpack "$DEBVER, ${#PATCHES[@]} patches"
else
	step unpack unpack
fi

# ---------------------------------------------------------------------------
# 4. configure with Debian's flags
# ---------------------------------------------------------------------------
# Debian's CONFIGUREARGS as debian/rules computes them for this architecture
debian_configure_args() {
	echo 'print-configure-args: ; @echo $(CONFIGUREARGS)' |
		make --no-print-directory -s -C "$TREE" -f debian/rules -f - \
			print-configure-args
}
# Options dropped from Debian's set because their -dev libraries are not
# available: none on Debian 12 (every -dev package is installed in step 1).
# (The 2026 study dropped curl ldap gcrypt xauth-pam tss-tss2 nm systemd
# libcap tpm connmark forecast only because those packages were missing.)
DROP_OPTS=()
configure_args() {
	local a d
	for a in $(debian_configure_args); do
		case $a in
			--libdir=*|--libexecdir=*) continue ;;
		esac
		for d in "${DROP_OPTS[@]}"; do
			[ "$a" = "$d" ] && continue 2
		done
		echo "$a"
	done
	# Debian's dh_auto_configure paths, moved under the prefix
	echo "--prefix=$PREFIX"
	echo "--sysconfdir=$PREFIX/etc"
	echo "--localstatedir=$PREFIX/var"
	echo "--libdir=$PREFIX/lib"
	echo "--libexecdir=$PREFIX/lib"
	echo "--with-systemdsystemunitdir=$PREFIX/lib/systemd/system"
	echo "--with-dbuspolicydir=$PREFIX/share/dbus-1/system.d"
	echo "--disable-silent-rules"
}
# Debian's compiler flags (hardening=+all, -Wl,-O1 from debian/rules)
buildflags() {
	(cd "$TREE" && DEB_BUILD_MAINT_OPTIONS=hardening=+all \
		DEB_LDFLAGS_MAINT_APPEND=-Wl,-O1 dpkg-buildflags --export=configure)
}
mapfile -t CONFARGS < <(configure_args)
eval "ALLFLAGS=($(buildflags))"
BUILDFLAGS=()
for f in "${ALLFLAGS[@]}"; do
	case $f in CFLAGS=*|CPPFLAGS=*|LDFLAGS=*) BUILDFLAGS+=("$f") ;; esac
done
printf '%s\n' "${CONFARGS[@]}" | grep -qx -- --enable-mediation ||
	{ echo "could not read Debian's configure flags from debian/rules" >&2; exit 1; }
[ ${#BUILDFLAGS[@]} = 3 ] || { echo "dpkg-buildflags failed" >&2; exit 1; }
CONF_KEY=$( { echo "$UNPACK_KEY"; printf '%s\n' "${CONFARGS[@]}" "${BUILDFLAGS[@]}"; } | sha)

do_configure() {
	cd "$TREE"
	printf '%s\n' "${CONFARGS[@]}" > "$B/configure.args"
	./configure "${CONFARGS[@]}" "${BUILDFLAGS[@]}" > "$B/configure.log" 2>&1 ||
		{ tail -30 "$B/configure.log"; exit 1; }
	grep -qE '^#define ME( |$)' config.h || { echo "ME not defined in config.h" >&2; exit 1; }
	cd "$ROOT"
	rm -f "$STAMPS/make" "$STAMPS/install"
	stamp_set configure "$CONF_KEY"
}
if stamp_ok configure "$CONF_KEY" && [ -f "$TREE/config.h" ]; then
	skip configure "flags unchanged"
else
	step configure do_configure
fi

# ---------------------------------------------------------------------------
# 5. make, make install
# ---------------------------------------------------------------------------
do_make() {
	make -C "$TREE" -j"$JOBS" > "$B/make.log" 2>&1 || { tail -40 "$B/make.log"; exit 1; }
	stamp_set make "$CONF_KEY"
}
if stamp_ok make "$CONF_KEY"; then
	skip make "tree unchanged"
else
	step make do_make
fi

do_install() {
	rm -rf "$PREFIX"
	make -C "$TREE" install > "$B/install.log" 2>&1 || { tail -40 "$B/install.log"; exit 1; }
	stamp_set install "$CONF_KEY"
}
if stamp_ok install "$CONF_KEY" && [ -x "$PREFIX/lib/ipsec/charon" ]; then
	skip install "prefix up to date"
else
	step install do_install
fi
[ -f "$PREFIX/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so" ] ||
	{ echo "kernel-libipsec plugin missing in $PREFIX" >&2; exit 1; }

# stable name for the configured tree (the plugin Makefile's default SWAN)
ln -sfn "src/strongswan-$UPSTREAM" "$B/build"

cat > "$B/env.sh" <<EOF
# generated by plugin-glue/strongswan/build.sh
SWAN=$TREE
PREFIX=$PREFIX
SW_DEB_VERSION=$DEBVER
EOF

# ---------------------------------------------------------------------------
# 6. the gikev2 plugin, if present
# ---------------------------------------------------------------------------
if [ -f "$HERE/plugin/Makefile" ]; then
	step plugin make -C "$HERE/plugin" SWAN="$TREE" PREFIX="$PREFIX" install
else
	skip plugin "no plugin-glue/strongswan/plugin/Makefile"
fi

echo
echo "strongSwan $DEBVER + ${#PATCHES[@]} patches"
echo "  tree:   $TREE"
echo "  prefix: $PREFIX"
printf '  %s\n' "${SUMMARY[@]}"
echo "  total        $(elapsed "$T_START")s"
