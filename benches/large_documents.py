#!/usr/bin/env python3
"""Time and peak memory of signing large documents, next to openssl on the same data.

  cargo build --release && python3 benches/large_documents.py [MiB ...]   (default: 1 100 2048)

For each size: a fresh `qoltanba` (release, headless, plain ws on loopback) signs the
file detached with commonUtils.createCAdESFromFile (streamed hashing); we report wall
time and the daemon's peak RSS (VmHWM). Then `openssl cms -sign` (detached) and
`openssl dgst -sha256` on the same file under /usr/bin/time. Uses the NCA RSA test key.
"""
import base64, json, os, re, socket, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = os.path.join(ROOT, "tests/fixtures/nca-test/keys/rsa_sign_individual.p12")
BIN = os.path.join(ROOT, "target/release/qoltanba")


def ws_connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    return s


def recv_frame(s):
    def need(n, buf=bytearray()):
        while len(buf) < n:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit("connection closed")
            buf.extend(chunk)
        return buf
    buf = bytearray()
    while len(buf) < 2:
        buf.extend(s.recv(2 - len(buf)))
    length, off = buf[1] & 0x7F, 2
    if length == 126:
        while len(buf) < 4: buf.extend(s.recv(4 - len(buf)))
        length, off = struct.unpack(">H", bytes(buf[2:4]))[0], 4
    elif length == 127:
        while len(buf) < 10: buf.extend(s.recv(10 - len(buf)))
        length, off = struct.unpack(">Q", bytes(buf[2:10]))[0], 10
    while len(buf) < off + length:
        buf.extend(s.recv(1 << 20))
    return bytes(buf[off:off + length])


def text_frame(text):
    """One client text frame (masked, as a client must, with the all-zero key: the
    daemon unmasks it all the same)."""
    data = text.encode()
    return bytes([0x81, 0xFF]) + struct.pack(">Q", len(data)) + b"\0\0\0\0" + data


def send_text(s, text):
    s.sendall(text_frame(text))


def timed(cmd):
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True)
    secs, kib = out.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kib) / 1024


def main(sizes):
    tmp = tempfile.mkdtemp()
    pem = os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "pkcs12", "-legacy", "-in", KEY, "-passin", "pass:Qwerty12", "-nodes", "-out", pem], check=True, capture_output=True)
    print(f"{'size':>8}  {'qoltanba':>18}  {'openssl cms -sign':>18}  {'openssl dgst':>18}")
    for mib in sizes:
        path = os.path.join(tmp, f"doc_{mib}.bin")
        with open(path, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(mib):
                f.write(block)
        port = 14500 + mib % 400
        daemon = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{port}", "--insecure-ws", "--offline", "--data-dir", tmp,
                                   "--auto-key", KEY, "--auto-password", "Qwerty12"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        s = ws_connect(port)
        recv_frame(s)
        start = time.time()
        send_text(s, json.dumps({"module": "kz.gov.pki.knca.commonUtils", "method": "createCAdESFromFile",
                                 "args": ["PKCS12", "SIGNATURE", path, False]}))
        reply = json.loads(recv_frame(s))
        elapsed = time.time() - start
        assert reply["code"] == "200", reply
        hwm = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{daemon.pid}/status").read()).group(1)) / 1024
        daemon.terminate(); daemon.wait()
        cms_t, cms_m = timed(["openssl", "cms", "-sign", "-binary", "-in", path, "-signer", pem, "-outform", "DER", "-out", os.devnull])
        dgst_t, dgst_m = timed(["openssl", "dgst", "-sha256", path])
        print(f"{mib:>6}Mi  {elapsed:7.2f}s {hwm:7.1f}MiB  {cms_t:7.2f}s {cms_m:7.1f}MiB  {dgst_t:7.2f}s {dgst_m:7.1f}MiB", flush=True)
        os.remove(path)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 100, 2048])
