"""Ed25519 keys in OpenSSH's formats, and SSH signatures (OpenSSH's SSHSIG format) made and read without
ssh-keygen, so that a reader with nothing but OpenSSH checks what a build signed."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from pathlib import Path

NAMESPACE = "newsmirror"  # the SSH signature's namespace: a signature made for git or for a file is not one of ours
PRINCIPAL = "newsmirror"  # the name the reader's allowed-signers line gives the key
SSHSIG_BEGIN, SSHSIG_END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"


class SigningError(Exception):
    """A key that cannot be read or used; the message names the file and the fix."""


def _public_raw(public_key) -> bytes:  # noqa: ANN001
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_raw: bytes) -> str:
    """A short, readable name of a public key: SHA-256 of its raw bytes, 32 hex digits in groups of 4."""
    h = hashlib.sha256(public_raw).hexdigest()[:32]
    return ":".join(h[i:i + 4] for i in range(0, 32, 4))


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ssh_public_key(public_raw: bytes) -> str:
    """The key as OpenSSH writes it in a .pub file or an allowed-signers line: `ssh-ed25519 AAAA…`."""
    blob = _ssh_string(b"ssh-ed25519") + _ssh_string(public_raw)
    return "ssh-ed25519 " + base64.b64encode(blob).decode()


def ssh_fingerprint(public_raw: bytes) -> str:
    """The key's fingerprint as `ssh-keygen -l` and `ssh-keygen -Y verify` print it (SHA256:…)."""
    blob = base64.b64decode(ssh_public_key(public_raw).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def allowed_signers_line(public_raw: bytes) -> str:
    """The line of an allowed-signers file (ssh-keygen(1), ALLOWED SIGNERS) that trusts this key; git's
    gpg.ssh.allowedSignersFile reads the same file."""
    return f"{PRINCIPAL} {ssh_public_key(public_raw)}"


def keygen(path: Path) -> tuple[Path, Path, str]:
    """Write PATH (the private key, OpenSSH format, mode 0600) and PATH.pub (the public key, OpenSSH format):
    the pair ssh-keygen would make, so that git and ssh-keygen use it as they are."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        raise SigningError(f"{path} exists already; choose another path (a key is never overwritten)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    raw = _public_raw(key.public_key())
    pub = path.with_name(path.name + ".pub")
    pub.write_text(f"{ssh_public_key(raw)} {NAMESPACE}\n", encoding="ascii")
    return path, pub, fingerprint(raw)


def load_private(path: Path):  # -> Ed25519PrivateKey
    """The Ed25519 key at `path`: OpenSSH format (keygen, ssh-keygen) or PKCS#8 PEM (keys of older versions)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        data = path.read_bytes()
        if b"OPENSSH PRIVATE KEY" in data[:100]:
            key = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"signing.key {path}: cannot read the key ({exc}); make one with "
                           f"`newsmirror keygen {path}`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"signing.key {path}: not an Ed25519 key; make one with `newsmirror keygen`")
    return key


def openssh_private_key(key) -> bytes:  # noqa: ANN001 (an Ed25519PrivateKey)
    """The key in OpenSSH's format, which ssh-keygen (and git signing through it) reads: a key of an older
    version (PKCS#8) is handed to them this way."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption())


def _sshsig_signed_data(data: bytes, namespace: str) -> bytes:
    """What an SSH signature signs (PROTOCOL.sshsig): the preamble, the namespace and the SHA-512 of the data."""
    return (b"SSHSIG" + _ssh_string(namespace.encode()) + _ssh_string(b"") + _ssh_string(b"sha512")
            + _ssh_string(hashlib.sha512(data).digest()))


def ssh_sign(key, data: bytes, namespace: str = NAMESPACE) -> bytes:  # noqa: ANN001 (an Ed25519PrivateKey)
    """An armored SSH signature of `data`, as `ssh-keygen -Y sign -n NAMESPACE` writes it (deterministic:
    Ed25519 signatures are)."""
    raw = _public_raw(key.public_key())
    sig = _ssh_string(b"ssh-ed25519") + _ssh_string(key.sign(_sshsig_signed_data(data, namespace)))
    blob = (b"SSHSIG" + struct.pack(">I", 1) + _ssh_string(_ssh_string(b"ssh-ed25519") + _ssh_string(raw))
            + _ssh_string(namespace.encode()) + _ssh_string(b"") + _ssh_string(b"sha512") + _ssh_string(sig))
    text = base64.b64encode(blob).decode()
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    return ("\n".join([SSHSIG_BEGIN, *lines, SSHSIG_END]) + "\n").encode("ascii")


def _ssh_fields(blob: bytes, n: int) -> list[bytes]:
    """The first `n` SSH strings of `blob`; ValueError if it is shorter."""
    out, at = [], 0
    for _ in range(n):
        if at + 4 > len(blob):
            raise ValueError("truncated SSH signature")
        (size,) = struct.unpack(">I", blob[at:at + 4])
        if at + 4 + size > len(blob):
            raise ValueError("truncated SSH signature")
        out.append(blob[at + 4:at + 4 + size])
        at += 4 + size
    return out


def parse_ssh_signature(armored: bytes) -> tuple[bytes, str, bytes]:
    """(the signer's raw Ed25519 key, the namespace, the raw signature) of an armored SSH signature that uses
    Ed25519 and SHA-512; ValueError for anything else."""
    text = armored.decode("ascii").strip()
    if not (text.startswith(SSHSIG_BEGIN) and text.endswith(SSHSIG_END)):
        raise ValueError("not an SSH signature")
    blob = base64.b64decode("".join(text[len(SSHSIG_BEGIN):-len(SSHSIG_END)].split()), validate=True)
    if blob[:6] != b"SSHSIG" or blob[6:10] != struct.pack(">I", 1):
        raise ValueError("not an SSHSIG version 1 signature")
    public, namespace, _reserved, hash_alg, sig = _ssh_fields(blob[10:], 5)
    key_type, raw = _ssh_fields(public, 2)
    sig_type, sig_raw = _ssh_fields(sig, 2)
    if key_type != b"ssh-ed25519" or sig_type != b"ssh-ed25519" or hash_alg != b"sha512":
        raise ValueError(f"an SSH signature with {key_type.decode(errors='replace')}/"
                         f"{hash_alg.decode(errors='replace')}, not Ed25519/SHA-512")
    return raw, namespace.decode(errors="replace"), sig_raw


def parse_public_key(text: str) -> bytes:
    """The raw Ed25519 key of `text`: an OpenSSH public key (`ssh-ed25519 AAAA… [comment]`, an allowed-signers
    line) or base64 raw bytes (the .pub files of older versions). ValueError for anything else."""
    words = text.split()
    if "ssh-ed25519" in words and words.index("ssh-ed25519") + 1 < len(words):
        blob = base64.b64decode(words[words.index("ssh-ed25519") + 1], validate=True)
        key_type, raw = _ssh_fields(blob, 2)
        if key_type != b"ssh-ed25519":
            raise ValueError("the key's blob is not ssh-ed25519")
    else:
        raw = base64.b64decode(text.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 key is 32 bytes, this one {len(raw)}")
    return raw


def public_fingerprint(path: Path) -> str:
    return fingerprint(public_raw(path))


def public_raw(path: Path) -> bytes:
    """The raw public key of the private key at `path` (SigningError when it cannot be read)."""
    return _public_raw(load_private(path).public_key())
