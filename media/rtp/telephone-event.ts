/**
 * RFC 4733 §2.3 telephone-event payload (DTMF named events).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     event     |E|R| volume    |          duration             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Event codes (RFC 4733 §3.2): 0–9 the digits, 10 '*', 11 '#', 12–15 'A'–'D', 16 flash.
 */
import { RtpError } from './errors.js';

export const TELEPHONE_EVENT_SIZE = 4;

export interface TelephoneEvent {
  /** Event code 0–255. */
  event: number;
  /** E bit: the final packet(s) of the event. */
  end: boolean;
  /** Power level, 0 to -63 dBm0 expressed as 0–63 (larger = quieter). */
  volume: number;
  /** Duration so far in timestamp units (16 bits). */
  duration: number;
}

/** Parse the first 4 bytes of `payload` (further events in the same packet, if any, are ignored). */
export function parseTelephoneEvent(payload: Buffer): TelephoneEvent {
  if (payload.length < TELEPHONE_EVENT_SIZE) {
    throw new RtpError('DPBX_ERR_DTMF_TRUNCATED', `telephone-event payload of ${payload.length} bytes, need 4`);
  }
  const b1 = payload[1]!;
  return {
    event: payload[0]!,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: payload.readUInt16BE(2),
  };
}

/** Write the event into `out` at `offset` (4 bytes; the R bit is 0). Returns 4. */
export function writeTelephoneEvent(ev: TelephoneEvent, out: Buffer, offset = 0): number {
  if (out.length - offset < TELEPHONE_EVENT_SIZE) {
    throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'output buffer too small for a telephone-event');
  }
  if (!Number.isInteger(ev.event) || ev.event < 0 || ev.event > 255 || !(ev.volume >= 0 && ev.volume <= 63)) {
    throw new RtpError('DPBX_ERR_RTP_BAD_FIELD', 'telephone-event needs event 0–255 and volume 0–63');
  }
  out[offset] = ev.event;
  out[offset + 1] = (ev.end ? 0x80 : 0) | (ev.volume & 0x3f);
  // A duration beyond 16 bits is clamped: RFC 4733 §2.5.1.3 splits long events into segments instead.
  out.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(ev.duration))), offset + 2);
  return TELEPHONE_EVENT_SIZE;
}

export function serializeTelephoneEvent(ev: TelephoneEvent): Buffer {
  const b = Buffer.alloc(TELEPHONE_EVENT_SIZE);
  writeTelephoneEvent(ev, b, 0);
  return b;
}

const DIGITS = '0123456789*#ABCD';

/** DTMF digit for an event code ('0'–'9', '*', '#', 'A'–'D'; 16 → '!' for flash), or null. */
export function dtmfDigitFromEvent(event: number): string | null {
  if (event >= 0 && event < 16) return DIGITS[event]!;
  if (event === 16) return '!';
  return null;
}

/** Event code for a DTMF digit (case-insensitive; '!' = flash), or -1 when it is not a DTMF key. */
export function dtmfEventFromDigit(digit: string): number {
  if (digit === '!') return 16;
  if (digit.length !== 1) return -1;
  return DIGITS.indexOf(digit.toUpperCase());
}
