#!/bin/sh
# Runs ouro's whole test suite. Installs bubblewrap when it can (the sandbox
# tests need it); without it those tests skip and say what to install.
set -eu
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		apt-get install -y bubblewrap >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y bubblewrap >/dev/null 2>&1) || true
	fi
	command -v bwrap >/dev/null 2>&1 || echo "note: bubblewrap is not installed (apt-get install bubblewrap); sandbox tests will skip" >&2
fi
go mod download
go vet ./...
go test -count=1 ./... "$@"
