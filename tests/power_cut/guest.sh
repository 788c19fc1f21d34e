#!/usr/bin/env bash
# Builds the power-cut guest (tests/power_cut.rs): an initramfs holding busybox, the ringstore
# binary, dmsetup and sqlite3 with the shared libraries they link, the kernel modules for virtio disks and
# network, ext4, XFS and device-mapper's flakey target, and `init` beside this script. The kernel is Debian's `linux-image-amd64` (tests/setup.sh installs
# it with qemu-system-x86 and busybox-static). Prints the kernel's path.
#
# usage: guest.sh OUT_DIR RINGSTORE_BINARY
set -euo pipefail
out=$1
binary=$2
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -n 1)
release=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$release
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,proc,sys,dev,data,modules,lib64,lib/x86_64-linux-gnu}
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount umount insmod ip sleep cat echo kill poweroff sync stty ls find wc sed \
    grep mkdir printf dmesg blockdev; do
    ln -sf busybox "$root/bin/$applet"
done
# Without its debug sections: a smaller initramfs unpacks faster under TCG.
strip --strip-debug -o "$root/bin/ringstore" "$binary"
# dmsetup puts the data disk behind device-mapper for the fault tests (dm-flakey fails its I/O);
# sqlite3 counts the inline rows for the host's `inspect`.
cp "$(command -v dmsetup)" "$root/bin/dmsetup"
cp "$(command -v sqlite3)" "$root/bin/sqlite3"
# The shared libraries they link, at the paths the dynamic loader looks for them.
for library in $(ldd "$binary" "$(command -v dmsetup)" "$(command -v sqlite3)" | grep -v ':$' |
    grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
done
# Modules in dependency order (modules.dep lists a module's dependencies after it, deepest last).
: >"$root/modules.order"
add_module() {
    local line
    line=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$modules/modules.dep") || return 0
    local path=${line%%:*}
    local dependency
    for dependency in ${line#*:}; do
        add_module "$(basename "$dependency" | sed -E 's/\.ko(\.[a-z]+)?$//')"
    done
    local name
    name=$(basename "$path")
    grep -qx "$name" "$root/modules.order" && return 0
    case $name in
        *.ko.xz) xz -dc "$modules/$path" >"$root/modules/${name%.xz}"; name=${name%.xz} ;;
        *.ko.zst) zstd -qdc "$modules/$path" >"$root/modules/${name%.zst}"; name=${name%.zst} ;;
        *) cp "$modules/$path" "$root/modules/$name" ;;
    esac
    grep -qx "$name" "$root/modules.order" || echo "$name" >>"$root/modules.order"
}
for module in crc32c_generic crc32c-intel virtio_pci virtio_blk virtio_net crc16 ext4 xfs \
    dm-mod dm-flakey; do
    add_module "$module"
done
cp "$(dirname "$0")/init" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio --quiet -o -H newc | gzip -1) >"$out/initramfs.cpio.gz"
echo "$kernel"
