#!/bin/sh
# Build the Go reference programs (warmget, gonode) against golang/groupcache,
# strictly offline, from Debian's packaged sources:
#   golang-go, golang-github-golang-groupcache-dev,
#   golang-github-golang-protobuf-1-3-dev (pulled in by groupcache).
#
# Usage: bench/go/build.sh [BUILD_DIR]     (default: build)
# Output: BUILD_DIR/go/warmget, BUILD_DIR/go/gonode; Go build cache in
# BUILD_DIR/go/cache. Quiet on success; idempotent.
#
# Environment overrides: GO (go binary), GROUPCACHE_GOPATH (a GOPATH whose
# src/ holds github.com/golang/groupcache and github.com/golang/protobuf;
# default /usr/share/gocode).
set -eu

build_dir=${1:-build}
GO=${GO:-go}
gopath=${GROUPCACHE_GOPATH:-/usr/share/gocode}

die() {
    echo "bench/go/build.sh: $*" >&2
    exit 1
}

command -v "$GO" >/dev/null 2>&1 ||
    die "'$GO' not found; install Debian package golang-go (or set GO=/path/to/go)"
[ -f "$gopath/src/github.com/golang/groupcache/groupcache.go" ] ||
    die "golang/groupcache source not found under $gopath/src; install golang-github-golang-groupcache-dev (or set GROUPCACHE_GOPATH)"
[ -d "$gopath/src/github.com/golang/protobuf/proto" ] ||
    die "golang/protobuf source not found under $gopath/src; install golang-github-golang-protobuf-1-3-dev"

# Resolve the output dir relative to the caller's cwd, then build from the
# repository root (GOPATH mode accepts ./relative package paths there).
mkdir -p "$build_dir/go/cache"
out=$(cd "$build_dir/go" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

export GO111MODULE=off GOPATH="$gopath" GOCACHE="$out/cache" GOFLAGS= \
    GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=0

for prog in warmget gonode; do
    "$GO" build -trimpath -o "$out/$prog" "./bench/go/$prog" ||
        die "go build ./bench/go/$prog failed"
done
