#!/bin/sh
# Assemble qoltanba.app from target/release/qoltanba (macOS only).
#
# UNTESTED: written without a Mac at hand. It needs macOS's own tools: sips and
# iconutil (for the .icns), PlistBuddy (for the version) and codesign.
#
#   cargo build --release
#   sh packaging/macos/build-app.sh            # -> target/macos/qoltanba.app
#   cp -R target/macos/qoltanba.app /Applications/
#   /Applications/qoltanba.app/Contents/MacOS/qoltanba autostart enable   # optional
#
# Environment: BIN (the binary, default target/release/qoltanba), OUT (the output
# folder, default target/macos), CODESIGN_IDENTITY (default "-": an ad-hoc
# signature, enough to run on this Mac; a Developer ID is needed to notarize).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

bin=${BIN:-target/release/qoltanba}
out=${OUT:-target/macos}
app="$out/qoltanba.app"
png=packaging/linux/qoltanba-256.png

if [ ! -x "$bin" ]; then
    echo "build-app.sh: $bin not found; run 'cargo build --release' first" >&2
    exit 1
fi
version=$(sed -n 's/^version = "\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)

rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$bin" "$app/Contents/MacOS/qoltanba"
cp packaging/macos/Info.plist "$app/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Set :CFBundleShortVersionString $version" \
    -c "Set :CFBundleVersion $version" "$app/Contents/Info.plist"
printf 'APPL????' > "$app/Contents/PkgInfo"

# The icon: an .iconset scaled from the 256 px PNG, made into an .icns by iconutil.
iconset=$(mktemp -d)/qoltanba.iconset
mkdir -p "$iconset"
for size in 16 32 128 256; do
    sips -z "$size" "$size" "$png" --out "$iconset/icon_${size}x${size}.png" >/dev/null
done
for size in 16 32 128; do
    double=$((size * 2))
    sips -z "$double" "$double" "$png" --out "$iconset/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns "$iconset" -o "$app/Contents/Resources/qoltanba.icns"
rm -rf "$(dirname "$iconset")"

codesign --force --sign "${CODESIGN_IDENTITY:--}" "$app"

echo "$app (qoltanba $version)"
