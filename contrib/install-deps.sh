#!/bin/sh
# install-deps.sh: install what building and testing capsa needs on a fresh Debian 12, as root.
set -eu

export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: must run as root" >&2
  exit 1
fi

# build: compiler, autotools, pkg-config and the libraries configure looks for (libmnl: VM mode
#        reads the container's network namespace and makes its taps and tc redirects with it).
# test:  bats (+ helper libraries), a static busybox for the rootfs fixture, jq to edit config.json,
#        python3 for the console-socket receiver, util-linux (unshare, nsenter, mount) and iproute2
#        (ip netns) for the namespace tests, clang-format for the style check, git for the version.
# VM isolation mode: QEMU, and what `make vm-assets` needs to build the guest kernel from
#        Debian's linux-source-6.1 (flex, bison, bc, libelf-dev, libssl-dev) and the initramfs
#        (cpio); the agent links statically against glibc (libc6-dev, in build-essential).
#        golang-github-containers-common: podman's default seccomp profile, which
#        tests/vm-confine.bats puts on the hypervisor (podman pulls it in too).
# engines (tests/podman.bats, tests/containerd.bats): podman with conmon and catatonit (--init),
#        containerd with its runc shim v2 and ctr, skopeo for the OCI archive, script (util-linux).
#        uidmap (newuidmap, newgidmap): rootless podman maps its user's /etc/subuid ranges with them.
# CRI (tests/cri.bats): the CNI plugins (bridge, host-local, loopback), python3-grpcio and
#        python3-grpc-tools for the CRI client (tests/cri/cri.py, its .proto compiled at test time).
# reliability: clang and its libFuzzer/sanitizer runtimes for `make fuzz` (tests/fuzz), valgrind.
# cgroup v2 lane (`make check-cgroupv2-vm`): systemd and dbus boot the VM from the host's root,
#        kmod (modinfo, depmod) for the guest kernel's modules (QEMU, busybox-static, cpio: above).
# model check (`make check-model`, tests/model): spin, the Promela model checker (it compiles its
#        verifier with gcc: above).
# checkpoint/restore (`capsa checkpoint`/`restore`, tests/checkpoint.bats): criu, the binary capsa
#        runs (on kernels Debian's CRIU 3.17 supports, e.g. the lane's 6.1; newer ones fail
#        `criu check` and the suite skips).
# AppArmor (`make check-debian-vm`, tests/apparmor.bats): apparmor_parser loads the test's profiles
#        in the lane's VM, whose Debian kernel runs AppArmor.
# SELinux (`make check-debian-vm DEBIAN_VM_LSM=selinux`, tests/selinux.bats): the lane's VM boots
#        with SELinux and loads selinux-policy-default from the host's /etc/selinux (policycoreutils
#        and selinux-utils: sestatus, getenforce); keyctl (keyutils) reads a keyring's label.
#        Installing them does not turn SELinux on for this host: its kernel runs no LSM (the
#        package's /etc/selinux/config says permissive, and only the lane's kernel reads it).
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential autoconf automake libtool pkg-config git ca-certificates \
  libyajl-dev libseccomp-dev libcap-dev libselinux1-dev libsystemd-dev libmnl-dev \
  bats bats-support bats-assert busybox-static jq python3 clang-format \
  util-linux iproute2 procps \
  qemu-system-x86 linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio xz-utils \
  podman conmon catatonit containerd skopeo golang-github-containers-common uidmap \
  containernetworking-plugins python3-grpcio python3-grpc-tools \
  clang libclang-rt-14-dev valgrind \
  systemd dbus kmod spin criu apparmor \
  selinux-policy-default policycoreutils keyutils >/dev/null
