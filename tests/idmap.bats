#!/usr/bin/env bats
# idmap.bats: idmapped bind mounts (mounts[].uidMappings/gidMappings, options idmap and ridmap):
# real mount_setattr(MOUNT_ATTR_IDMAP) trees on this host's ext4 and tmpfs, with and without a
# container user namespace. As in a user namespace map, a file owned by `containerID` on the
# filesystem shows as `hostID` through the mount.

load helpers

setup () {
  capsa_setup
  SRC=$BATS_TEST_TMPDIR/src
  mkdir -p "$SRC"
  echo data >"$SRC/f"
  chown 1000:1000 "$SRC/f"
  chmod o+x "$BATS_TEST_TMPDIR"
}

# add_mount JSON: append a mount to config.json.
add_mount () {
  cfg '.mounts += [$m]' --argjson m "$1"
}

# userns: a new user namespace mapping container 0..65535 to host 100000.. (rootfs searchable).
userns () {
  cfg '.linux.namespaces += [{type: "user"}]
     | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
     | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
     | .mounts |= map(select(.type != "cgroup" and .type != "cgroup2"))'
  local d=$BUNDLE
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    case $d in "$BATS_RUN_TMPDIR"*) chmod o+x "$d" ;; esac
  done
}

@test "idmap: without a user namespace, a file of uid 1000 shows as the mapped uid; the host's file is unchanged" {
  add_mount "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"],
    \"uidMappings\": [{\"containerID\": 1000, \"hostID\": 2000, \"size\": 1}],
    \"gidMappings\": [{\"containerID\": 1000, \"hostID\": 3000, \"size\": 1}]}"
  set_args sh -c 'stat -c %u:%g /mnt/f; cat /mnt/f; grep " /mnt " /proc/self/mountinfo'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_line 2000:3000
  assert_line data
  assert_line --partial idmapped
  [ "$(stat -c %u:%g "$SRC/f")" = 1000:1000 ]
  # the same bind without the mapping shows the filesystem's owner
  cfg '.mounts[-1] |= (del(.uidMappings, .gidMappings) | .options = ["bind"])'
  set_args stat -c %u:%g /mnt/f
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output 1000:1000
  assert_no_leftovers ctr
}

@test "idmap: with a user namespace and no mappings of its own the mount takes the container's" {
  userns
  # host root's file: through the container's mapping (0 -> 100000) it is root's in the container
  chown 0:0 "$SRC/f"
  add_mount "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"]}"
  add_mount "{\"destination\": \"/home\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\"]}"
  set_args sh -c 'stat -c %u:%g /mnt/f /home/f; id -u; echo new >/mnt/g && stat -c %u:%g /mnt/g'
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_equal "${lines[0]}" 0:0
  assert_equal "${lines[1]}" 65534:65534
  assert_equal "${lines[2]}" 0
  # a file the container's root makes through the mount belongs to host root on the filesystem
  assert_equal "${lines[3]}" 0:0
  [ "$(stat -c %u:%g "$SRC/g")" = 0:0 ]
  assert_no_leftovers ctr
}

@test "idmap: a user namespace with the mount's own mappings" {
  userns
  # on-disk uid 1000 -> host uid 100005 -> uid 5 in the container
  add_mount "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"],
    \"uidMappings\": [{\"containerID\": 1000, \"hostID\": 100005, \"size\": 1}],
    \"gidMappings\": [{\"containerID\": 1000, \"hostID\": 100007, \"size\": 1}]}"
  set_args stat -c %u:%g /mnt/f
  run_capsa run -b "$BUNDLE" ctr
  assert_success
  assert_output 5:7
  assert_no_leftovers ctr
}

@test "idmap: ridmap maps the mounts below an rbind too, idmap only the top one" {
  local maps='"uidMappings": [{"containerID": 1000, "hostID": 2000, "size": 1}],
    "gidMappings": [{"containerID": 1000, "hostID": 2000, "size": 1}]'
  cfg '.mounts += [$a, $b]' \
    --argjson a "{\"destination\": \"/r\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"rbind\", \"ridmap\"], $maps}" \
    --argjson b "{\"destination\": \"/t\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"rbind\", \"idmap\"], $maps}"
  set_args sh -c 'stat -c %u /r/f /r/sub/h /t/f /t/sub/h'
  # the submount (a tmpfs: idmappable) exists only in a mount namespace of the test's own
  run unshare -m --propagation private sh -c '
    mkdir -p "$1/sub" && mount -t tmpfs t "$1/sub" && echo x >"$1/sub/h" && chown 1000 "$1/sub/h" &&
    timeout 60 "$2" --root "$3" run -b "$4" ctr' sh "$SRC" "$CAPSA" "$ROOT" "$BUNDLE" </dev/null
  assert_success
  assert_equal "${lines[0]}" 2000
  assert_equal "${lines[1]}" 2000
  assert_equal "${lines[2]}" 2000
  assert_equal "${lines[3]}" 1000
  assert_no_leftovers ctr
}

@test "idmap: features reports mountExtensions.idmap enabled, with the idmap and ridmap options" {
  run capsa features
  assert_success
  [ "$(jq -r '.linux.mountExtensions.idmap.enabled' <<<"$output")" = true ]
  jq -e '.mountOptions | index("idmap") and index("ridmap")' <<<"$output" >/dev/null
}

# idmap_error JSON-MOUNT PATTERN: create fails with one line matching PATTERN, nothing left.
idmap_error () {
  add_mount "$1"
  run --separate-stderr capsa create -b "$BUNDLE" ctr
  assert_failure 1
  assert_error_line "$stderr"
  [[ "$stderr" == $2 ]] || fail "unexpected error: $stderr"
  assert_no_leftovers ctr
}

@test "idmap: idmap without mappings and without a user namespace fails create, naming the mount" {
  idmap_error "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"]}" \
    '*config.json: .mounts\[*\]*user namespace*"/mnt"*'
}

@test "idmap: uidMappings without gidMappings fails create" {
  idmap_error "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"],
    \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}" \
    '*config.json: .mounts\[*\]*uidMappings and gidMappings*"/mnt"*'
}

@test "idmap: a non-bind mount cannot be idmapped" {
  idmap_error '{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}' \
    '*config.json: .mounts\[*\]*only bind mounts*"/mnt"*'
}

@test "idmap: a filesystem that cannot be idmapped (proc) fails create, naming the mount" {
  idmap_error '{"destination": "/mnt", "type": "bind", "source": "/proc/sys", "options": ["bind", "idmap"],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}' \
    '*config.json: .mounts\[*\]*idmap*/proc/sys*cannot be idmapped*'
}

@test "idmap: malformed mappings (an overlapping range) fail create" {
  idmap_error "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"],
    \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 10}, {\"containerID\": 5, \"hostID\": 3000, \"size\": 10}],
    \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}" \
    '*config.json: .mounts\[*\].uidMappings*'
}

@test "idmap: VM mode refuses an idmapped mount, naming it" {
  cfg '.annotations["run.oci.handler"] = "vm"'
  idmap_error "{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$SRC\", \"options\": [\"bind\", \"idmap\"],
    \"uidMappings\": [{\"containerID\": 1000, \"hostID\": 2000, \"size\": 1}],
    \"gidMappings\": [{\"containerID\": 1000, \"hostID\": 2000, \"size\": 1}]}" \
    '*config.json: .mounts\[*\]*not supported in VM mode*"/mnt"*'
}
