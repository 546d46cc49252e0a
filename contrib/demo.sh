#!/bin/sh
# demo.sh: run a sample busybox container with the installed capsa (a smoke test of the setup).
set -eu

CAPSA=${CAPSA:-capsa}
BUSYBOX=${BUSYBOX:-/bin/busybox}

dir=$(mktemp -d /tmp/capsa-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT

mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
  "$dir/rootfs/tmp" "$dir/rootfs/etc"
cp "$BUSYBOX" "$dir/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/rootfs/etc/passwd"
echo 'root:x:0:' > "$dir/rootfs/etc/group"

cd "$dir"
"$CAPSA" spec
jq 'del(.linux.resources) | .process.terminal = false | .process.args = ["sh", "-c", "echo Hello from a capsa container: $(hostname), pid $$"]' \
  config.json > config.json.new
mv config.json.new config.json
"$CAPSA" run "capsa-demo-$$"

# The same bundle once more in VM isolation mode (needs the guest assets: make vm-assets).
jq '.annotations["run.oci.handler"] = "vm" | .process.args = ["sh", "-c", "echo Hello from a capsa micro-VM: kernel $(uname -r)"]' \
  config.json > config.json.new
mv config.json.new config.json
"$CAPSA" run "capsa-demo-vm-$$"
