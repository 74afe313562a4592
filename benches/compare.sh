#!/bin/sh
# Every comparison of qoltanba's performance against its reference on this machine, in
# one run: our figure, the reference figure and the ratio (above 1.0: qoltanba is
# better), as a Markdown table for the README.
#
#   sh benches/compare.sh
#
# Needs: a C compiler, libssl-dev, libengine-gost-openssl, python3. Takes a few minutes.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cargo build --release --quiet --example gost_speed
cargo build --release --quiet
cc -O2 benches/openssl/gost_engine_speed.c -lcrypto -o "$out/gost_engine_speed"

target/release/examples/gost_speed > "$out/ours"
"$out/gost_engine_speed" > "$out/engine"
head -c $((64 << 20)) /dev/urandom > "$out/64m"
for md in md_gost12_256 md_gost12_512 md_gost94; do
    start=$(date +%s.%N)
    openssl dgst -engine gost -"$md" "$out/64m" > /dev/null 2>&1
    end=$(date +%s.%N)
    echo "$md $start $end" >> "$out/engine_hash"
done
python3 benches/batch.py 1000 > "$out/batch"
python3 benches/batch.py 1000 "$PWD"/tests/fixtures/nca-test/keys2026/individual.p12 Qwerty12 > "$out/batch_gost"
python3 benches/big_message.py 64 > "$out/big"
python3 - "$out" <<'PY'
import os, re, subprocess, sys, tempfile, time
out = sys.argv[1]
ours = {}
for line in open(f"{out}/ours"):
    kind, name, value = line.split()
    ours[(kind, name)] = float(value)
engine = {}
for line in open(f"{out}/engine"):
    m = re.match(r"(\S+)\s+\S+\s+sign\s+([\d.]+) ms\s+verify\s+([\d.]+) ms", line)
    engine[m.group(1)] = (float(m.group(2)), float(m.group(3)))
engine_hash = {}
for line in open(f"{out}/engine_hash"):
    md, start, end = line.split()
    engine_hash[md] = 64 * 1.048576 / (float(end) - float(start))
rows = []
for ours_name, engine_name in [("gost2015_512", "gost2012_512"), ("gost2015_256", "gost2012_256"), ("gost2004", "gost2001")]:
    for i, op in enumerate(["sign", "verify"]):
        mine, theirs = ours[(op, ours_name)], engine[engine_name][i]
        rows.append((f"GOST {ours_name} {op}, ms", f"{mine:.3f}", f"engine {theirs:.3f}", theirs / mine))
for ours_name, md in [("streebog256", "md_gost12_256"), ("streebog512", "md_gost12_512"), ("gost34311", "md_gost94")]:
    mine, theirs = ours[("hash", ours_name)], engine_hash[md]
    rows.append((f"{ours_name}, MB/s", f"{mine:.0f}", f"engine {md} {theirs:.0f}", mine / theirs))
m = re.search(r"qoltanba (\d+) sig/s, openssl speed (\d+)", open(f"{out}/batch").read())
rows.append(("batch of 1 000 x 1 KiB CMS, RSA-2048, sig/s", m.group(1), f"openssl speed rsa2048 {m.group(2)}", int(m.group(1)) / int(m.group(2))))
gost_batch = int(re.search(r"qoltanba (\d+) sig/s", open(f"{out}/batch_gost").read()).group(1))
engine_512 = 1000 / engine["gost2012_512"][0]
rows.append(("batch of 1 000 x 1 KiB CMS, GOST 2015-512, sig/s", str(gost_batch), f"engine sign {engine_512:.0f}", gost_batch / engine_512))
_, mib, secs, hwm, message, dgst = open(f"{out}/big").read().split()
rows.append((f"basics.sign {mib} MiB detached, s", secs, f"openssl dgst -sha256 {dgst}", float(dgst) / float(secs)))
rows.append((f"  its peak RSS, MiB ({message} MiB message)", hwm, f"1.5 x message = {1.5 * float(message):.0f}", 1.5 * float(message) / float(hwm)))
# Start-up and idle memory: the daemon without UI, until it accepts a connection.
tmp = tempfile.mkdtemp()
start = time.time()
d = subprocess.Popen(["target/release/qoltanba", "--listen", "127.0.0.1:14970", "--insecure-ws", "--offline", "--data-dir", tmp],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": ""})
import socket
while True:
    try:
        socket.create_connection(("127.0.0.1", 14970), timeout=0.05).close()
        break
    except OSError:
        time.sleep(0.001)
startup = (time.time() - start) * 1000
time.sleep(1)
rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{d.pid}/status").read()).group(1)) / 1024
d.terminate(); d.wait()
rows.append(("start-up to accepting, ms (no UI)", f"{startup:.0f}", "goal 50", 50 / startup))
rows.append(("idle RSS, MiB (no UI)", f"{rss:.1f}", "goal 15", 15 / rss))
print(f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}).\n")
print("| figure | qoltanba | reference | ratio |\n|---|---|---|---|")
for name, mine, theirs, ratio in rows:
    print(f"| {name} | {mine} | {theirs} | {ratio:.2f} |")
PY
