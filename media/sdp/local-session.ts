/**
 * Our side of an SDP session (RFC 3264 §5, §8): one o= line whose session id stays fixed and whose version is
 * incremented each time we send an SDP that differs from the previous one ("If the SDP is unchanged, the
 * version MUST stay the same"), our address in c=, and the offer/answer helpers wrapped into complete
 * descriptions.
 */
import { randomInt } from 'node:crypto';
import { answerOffer, buildOfferMedia } from './offer-answer.js';
import type { SdpAnswerOptions, SdpMediaOptions, SdpNegotiatedAudio } from './offer-answer.js';
import { serializeSdp } from './session-description.js';
import type { SdpMedia, SessionDescription } from './session-description.js';

export interface SdpLocalSessionOptions {
  /** Our media address (IPv4 or IPv6) for o= and c=. */
  address: string;
  username?: string;
  sessionName?: string;
  /** Numeric session id (default random). */
  sessionId?: string;
  /** Initial version (default = session id, a common convention). */
  initialVersion?: string;
}

export class SdpLocalSession {
  readonly address: string;
  readonly addrType: 'IP4' | 'IP6';
  readonly username: string;
  readonly sessionName: string;
  readonly sessionId: string;
  private version: bigint;
  private lastBody: string | null = null;

  constructor(opts: SdpLocalSessionOptions) {
    this.address = opts.address;
    this.addrType = opts.address.includes(':') ? 'IP6' : 'IP4';
    this.username = opts.username ?? '-';
    this.sessionName = opts.sessionName ?? 'dragon-pbx';
    this.sessionId = opts.sessionId ?? String(randomInt(1, 2 ** 47));
    this.version = BigInt(opts.initialVersion ?? this.sessionId);
  }

  /** Current o= version (as last sent). */
  get sessionVersion(): string {
    return this.version.toString();
  }

  /** Wrap m-sections into a full description; bumps the version when anything but o= changed since last time. */
  describe(media: SdpMedia[]): SessionDescription {
    return this.describeText(media).description;
  }

  /**
   * describe() and the description's text at once: the text is built once (describe() serialises to compare with
   * the last SDP sent; serialising the result again cost a second serialisation per SDP in bench/call-rate.js).
   */
  describeText(media: SdpMedia[]): { description: SessionDescription; text: string } {
    const sd: SessionDescription = {
      version: 0,
      origin: {
        username: this.username,
        sessionId: this.sessionId,
        sessionVersion: '0',
        netType: 'IN',
        addrType: this.addrType,
        address: this.address,
      },
      sessionName: this.sessionName,
      emails: [],
      phones: [],
      connection: { netType: 'IN', addrType: this.addrType, address: this.address },
      bandwidths: [],
      timing: [{ start: '0', stop: '0', repeats: [] }],
      attributes: [],
      media,
    };
    const body = serializeSdp(sd);
    if (this.lastBody !== null && body !== this.lastBody) this.version++;
    this.lastBody = body;
    sd.origin.sessionVersion = this.version.toString();
    // The o= line (the second, after v=) is the only difference between `body` (version 0) and the final text.
    const o = sd.origin;
    const tail = ` ${o.netType} ${o.addrType} ${o.address}\r\n`;
    const placeholder = `\r\no=${o.username} ${o.sessionId} 0${tail}`;
    const text = body.includes(placeholder)
      ? body.replace(placeholder, () => `\r\no=${o.username} ${o.sessionId} ${o.sessionVersion}${tail}`)
      : serializeSdp(sd);
    return { description: sd, text };
  }

  /** Our (re-)offer with one audio stream. */
  createOffer(opts: SdpMediaOptions): SessionDescription {
    return this.describe([buildOfferMedia(opts)]);
  }

  /** Our answer to `offer`; throws SdpError (status 488) when nothing is acceptable. */
  createAnswer(offer: SessionDescription, opts: SdpAnswerOptions): { answer: SessionDescription; audio: SdpNegotiatedAudio | null; text: string } {
    const { media, audio } = answerOffer(offer, opts);
    const { description, text } = this.describeText(media);
    return { answer: description, audio, text };
  }

  /** Our (re-)offer and its text. */
  createOfferText(opts: SdpMediaOptions): { offer: SessionDescription; text: string } {
    const { description, text } = this.describeText([buildOfferMedia(opts)]);
    return { offer: description, text };
  }
}
