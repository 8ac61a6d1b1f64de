# Sourced by scripts/test: the Debian packages the tests need, installed when missing.
# Headless Chromium drives the web chat page in tests/browser (through Playwright);
# ffmpeg turns WeChat's AMR voice messages into AAC (.m4a) the console's browser plays.
# postgresql: the storage contract suite and the two-instance tests run against it too.
# fonts-wqy-zenhei is the Chinese font of the QR-code posters (minshi posters, the console).
need_debian_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  # PostgreSQL: tests/postgres.py starts a throwaway cluster with Debian's initdb.
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
    || missing+=(postgresql)
  [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
  # nginx: tests/ops checks the example reverse-proxy site (deploy/nginx.conf) with nginx -t.
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  # valgrind and a C compiler: benchmarks/instructions.py counts instructions a message.
  command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo_cmd="sudo -n"
    else
      echo "scripts/test: missing ${missing[*]}; install it first: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test: missing ${missing[*]} and no apt-get here; install it with your package manager" >&2
    exit 1
  fi
  echo "scripts/test: installing ${missing[*]} (Debian packages) …" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
}
need_debian_packages
