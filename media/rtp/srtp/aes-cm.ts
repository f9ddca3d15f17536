/**
 * AES in Counter Mode as SRTP uses it (RFC 3711 §4.1.1), and the AES-CM pseudo-random function of the key
 * derivation (§4.3.1, §4.3.3). Built on node:crypto AES-128-ECB with a persistent cipher object: the keystream
 * blocks E(k, IV + i) are produced by encrypting counter blocks written into a reused buffer, so no cipher is
 * created per packet.
 *
 *   IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16)        (RTP; for SRTCP i is the 31-bit SRTCP index)
 *
 * As 16 bytes: salt in bytes 0..13, 0 in bytes 14..15; SSRC XORed into bytes 4..7; the 48-bit index into
 * bytes 8..13; bytes 14..15 are the block counter (at most 2^16 blocks = 1 MiB per packet).
 */
import { createCipheriv } from 'node:crypto';
import type { Cipher } from 'node:crypto';

const BLOCK = 16;

export class AesCmKeystream {
  private readonly ecb: Cipher;
  private counters: Buffer = Buffer.alloc(BLOCK * 96); // grows on demand; 96 blocks cover 1536-byte packets
  private readonly iv = Buffer.alloc(BLOCK);

  constructor(key: Buffer) {
    if (key.length !== 16) throw new RangeError('AES-128 key must be 16 bytes');
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
  }

  /**
   * XOR `data[start, end)` in place with the keystream for IV (salt, ssrc, index). `index` is the SRTP packet
   * index (48 bits, a plain number) or the SRTCP index.
   */
  xorInPlace(data: Buffer, start: number, end: number, salt: Buffer, ssrc: number, index: number): void {
    const n = end - start;
    if (n <= 0) return;
    const iv = this.iv;
    salt.copy(iv, 0, 0, 14);
    iv[14] = 0;
    iv[15] = 0;
    iv[4]! ^= (ssrc >>> 24) & 0xff;
    iv[5]! ^= (ssrc >>> 16) & 0xff;
    iv[6]! ^= (ssrc >>> 8) & 0xff;
    iv[7]! ^= ssrc & 0xff;
    // index < 2^48: split into a high 16-bit and a low 32-bit part without BigInt
    const hi = Math.floor(index / 0x100000000);
    const lo = index >>> 0;
    iv[8]! ^= (hi >>> 8) & 0xff;
    iv[9]! ^= hi & 0xff;
    iv[10]! ^= (lo >>> 24) & 0xff;
    iv[11]! ^= (lo >>> 16) & 0xff;
    iv[12]! ^= (lo >>> 8) & 0xff;
    iv[13]! ^= lo & 0xff;
    const blocks = Math.ceil(n / BLOCK);
    if (this.counters.length < blocks * BLOCK) this.counters = Buffer.alloc(blocks * BLOCK);
    const c = this.counters;
    for (let b = 0; b < blocks; b++) {
      const o = b * BLOCK;
      iv.copy(c, o, 0, 14);
      c[o + 14] = (b >>> 8) & 0xff;
      c[o + 15] = b & 0xff;
    }
    const ks = this.ecb.update(c.subarray(0, blocks * BLOCK));
    for (let i = 0; i < n; i++) data[start + i]! ^= ks[i]!;
  }

  /** The raw keystream (for test vectors and the key derivation PRF). */
  keystream(salt: Buffer, ssrc: number, index: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    this.xorInPlace(out, 0, length, salt, ssrc, index);
    return out;
  }
}

/** SRTP key derivation labels (RFC 3711 §4.3.1, §4.3.2). */
export const SRTP_LABEL_RTP_ENCRYPTION = 0;
export const SRTP_LABEL_RTP_AUTH = 1;
export const SRTP_LABEL_RTP_SALT = 2;
export const SRTP_LABEL_RTCP_ENCRYPTION = 3;
export const SRTP_LABEL_RTCP_AUTH = 4;
export const SRTP_LABEL_RTCP_SALT = 5;

/**
 * The AES-CM PRF of §4.3.3 with key_derivation_rate 0: x = (label · 2^48) XOR master_salt (r = 0), and
 * PRF_n(k_master, x) = the first n bytes of AES-CM keystream with IV = x · 2^16.
 */
export function srtpKdf(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  if (masterSalt.length !== 14) throw new RangeError('SRTP master salt must be 14 bytes');
  const x = Buffer.from(masterSalt);
  x[7]! ^= label & 0xff; // key_id = label || r(48 bits): the label octet sits 7 octets from the 112-bit value's end
  return new AesCmKeystream(masterKey).keystream(x, 0, 0, length);
}

export interface SrtpSessionKeys {
  encryptionKey: Buffer;
  authKey: Buffer;
  salt: Buffer;
}

/** Session keys for SRTP (labels 0–2) and SRTCP (labels 3–5), AES_CM_128 / HMAC-SHA1 sizes (16/20/14 bytes). */
export function deriveSrtpSessionKeys(masterKey: Buffer, masterSalt: Buffer): { rtp: SrtpSessionKeys; rtcp: SrtpSessionKeys } {
  return {
    rtp: {
      encryptionKey: srtpKdf(masterKey, masterSalt, SRTP_LABEL_RTP_ENCRYPTION, 16),
      authKey: srtpKdf(masterKey, masterSalt, SRTP_LABEL_RTP_AUTH, 20),
      salt: srtpKdf(masterKey, masterSalt, SRTP_LABEL_RTP_SALT, 14),
    },
    rtcp: {
      encryptionKey: srtpKdf(masterKey, masterSalt, SRTP_LABEL_RTCP_ENCRYPTION, 16),
      authKey: srtpKdf(masterKey, masterSalt, SRTP_LABEL_RTCP_AUTH, 20),
      salt: srtpKdf(masterKey, masterSalt, SRTP_LABEL_RTCP_SALT, 14),
    },
  };
}
