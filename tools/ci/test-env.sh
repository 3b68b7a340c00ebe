# Sourced by `make test-unit` and `make test-e2e`: prepares services the
# tests use (each helper script is idempotent) and exports where they are.
# Nothing here is needed to build.
for f in tools/ci/env.d/*.sh; do
  [ -e "$f" ] || continue
  # shellcheck source=/dev/null
  source "$f"
done
