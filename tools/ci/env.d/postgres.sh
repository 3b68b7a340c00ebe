# shellcheck shell=bash
# Sourced (not run) by tools/ci/test-env.sh before the tests: starts the
# local PostgreSQL cluster of Debian's postgresql package, creates a role and
# a database for the cloud's store tests, and exports
# PALISADE_TEST_POSTGRES. Idempotent: safe to source again with the cluster
# already up. It never exits the sourcing shell; when PostgreSQL is missing
# it says so and exports nothing, and the PostgreSQL tests then fail in CI
# (CI=true) and skip elsewhere.

_palisade_pg_setup() {
	local as_pg ver cluster port status
	if ! command -v pg_lsclusters >/dev/null 2>&1; then
		echo "postgres.sh: PostgreSQL is not installed (run: make deps)" >&2
		return 1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		as_pg=(runuser -u postgres --)
	else
		as_pg=(sudo -n -u postgres)
	fi
	read -r ver cluster port status _ < <(pg_lsclusters --no-header | sort -V -k1,1 | tail -n 1)
	if [ -z "${ver:-}" ]; then
		ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
		cluster=main
		echo "postgres.sh: creating cluster $ver/$cluster" >&2
		pg_createcluster "$ver" "$cluster" >/dev/null || return 1
		read -r ver cluster port status _ < <(pg_lsclusters --no-header "$ver" "$cluster")
	fi
	if [ "$status" != "online" ]; then
		pg_ctlcluster "$ver" "$cluster" start || { echo "postgres.sh: cannot start cluster $ver/$cluster" >&2; return 1; }
	fi
	local i
	for i in $(seq 1 30); do
		pg_isready -q -h 127.0.0.1 -p "$port" && break
		sleep 1
	done
	pg_isready -q -h 127.0.0.1 -p "$port" || { echo "postgres.sh: cluster $ver/$cluster not ready on port $port" >&2; return 1; }

	local psql=("${as_pg[@]}" psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres)
	if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'palisade_test'")" != 1 ]; then
		"${psql[@]}" -c "CREATE ROLE palisade_test LOGIN PASSWORD 'palisade_test'" || return 1
	fi
	if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'palisade_test'")" != 1 ]; then
		"${psql[@]}" -c "CREATE DATABASE palisade_test OWNER palisade_test" || return 1
	fi
	export PALISADE_TEST_POSTGRES="postgres://palisade_test:palisade_test@127.0.0.1:${port}/palisade_test?sslmode=disable"
	echo "postgres.sh: PostgreSQL $ver/$cluster ready on 127.0.0.1:$port (PALISADE_TEST_POSTGRES)" >&2
}

_palisade_pg_setup || echo "postgres.sh: PostgreSQL tests will fail in CI" >&2
unset -f _palisade_pg_setup
