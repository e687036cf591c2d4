# Sourced by the scripts beside it: an apt configuration of our own (sources, lists, cache) so that a
# component or suite the machine does not carry can be read without touching the machine's apt sources.
# Usage: private_apt DIR "deb|deb-src" SUITE COMPONENTS...; afterwards APT_CONFIG points at it and
# `apt-get update` has filled its lists. The mirror is the one the machine's own Debian sources name.

machine_debian_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1)
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1)
  [ -n "$uri" ] || { echo "no Debian mirror found in the machine's apt sources" >&2; return 1; }
  echo "$uri"
}

private_apt() {
  local dir=$1 type=$2 suite=$3; shift 3
  local mirror; mirror=$(machine_debian_mirror) || return 1
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/sources.list.d"
  echo "$type $mirror $suite $*" > "$dir/sources.list"
  cat > "$dir/apt.conf" <<CONF
Dir::Etc::sourcelist "$dir/sources.list";
Dir::Etc::sourceparts "$dir/sources.list.d";
Dir::State::Lists "$dir/lists";
Dir::Cache "$dir/cache";
Dir::State::status "/var/lib/dpkg/status";
CONF
  export APT_CONFIG="$dir/apt.conf"
  apt-get update -qq -o APT::Sandbox::User=root >/dev/null
}
