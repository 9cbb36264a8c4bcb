# Sourced by scripts/test.sh and scripts/coverage.sh: the Debian packages the
# test suite needs, and their installation (as root) when some are missing.
#   missing=(); need_test_packages; [more checks]; install_missing

# PostgreSQL and libpq; Redis; nginx for the proxy test (ops/nginx/);
# Chromium for the web pages (/docs/, /watch/); promtool for the alert rules;
# Node.js and npm for the TypeScript client (clients/js/).
need_test_packages() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
  pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev pkg-config)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
}

install_missing() {
  ((${#missing[@]})) || return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing system packages: ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
}
