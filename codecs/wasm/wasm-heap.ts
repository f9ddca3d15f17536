/**
 * Loader and tiny allocator for our freestanding C codecs compiled to wasm32 (codecs/wasm/*.c).
 *
 * One WebAssembly instance per codec per thread serves every encoder/decoder: each codec object owns a fixed-size
 * state slot in the instance's linear memory (free-list allocated here), and all calls share one scratch I/O area
 * (JavaScript is single-threaded and the calls are synchronous). The module is compiled synchronously on first
 * use from the .wasm file next to this JS (dist/codecs/wasm/), falling back to the committed source-tree copy
 * (codecs/wasm/) when the build did not copy it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodecError } from '../errors.js';

const here = dirname(fileURLToPath(import.meta.url));

// Minimal typings: the project's lib (ES2023, no DOM) does not declare the WebAssembly namespace.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Where `<name>.wasm` is looked up, in order. */
export function wasmCandidates(name: string): string[] {
  return [join(here, `${name}.wasm`), join(here, '..', '..', '..', 'codecs', 'wasm', `${name}.wasm`)];
}

const SCRATCH_BYTES = 64 * 1024;
const PAGE = 65536;

export class WasmCodecHeap {
  readonly exports: Record<string, Function>;
  private readonly memory: WasmMemory;
  private readonly stateSize: number;
  private readonly scratch: number;
  private next: number;
  private readonly free: number[] = [];
  /** Views over the scratch area; rebuilt after memory growth. */
  u8!: Uint8Array;
  i16!: Int16Array;
  /** Incremented whenever the memory grew (views made before over the old buffer are then detached). */
  generation = 0;

  constructor(readonly name: string, stateSizeExport: string) {
    const file = wasmCandidates(name).find((p) => existsSync(p));
    if (!file) throw new CodecError('DPBX_ERR_CODEC_UNAVAILABLE', `${name}.wasm not found (run scripts/build-codecs.sh)`);
    const module = new WA.Module(readFileSync(file));
    const instance = new WA.Instance(module, {});
    this.exports = instance.exports as Record<string, Function>;
    this.memory = instance.exports.memory as WasmMemory;
    const heapBase = (instance.exports.__heap_base as { value: number }).value;
    this.stateSize = ((this.exports[stateSizeExport]!() as number) + 15) & ~15;
    this.scratch = (heapBase + 15) & ~15;
    this.next = this.scratch + SCRATCH_BYTES;
    this.ensure(this.next);
    this.refreshViews();
  }

  /** Byte offset of the shared scratch area (SCRATCH_BYTES long). */
  get scratchPtr(): number {
    return this.scratch;
  }

  /** Allocates one codec state slot; returns its address. */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const p = this.next;
    this.next += this.stateSize;
    this.ensure(this.next);
    return p;
  }

  release(ptr: number): void {
    this.free.push(ptr);
  }

  /** Allocates `bytes` (16-byte aligned) for data kept as long as the instance (e.g. filter tables); returns the address. */
  allocBytes(bytes: number): number {
    const p = this.next;
    this.next += (bytes + 15) & ~15;
    this.ensure(this.next);
    return p;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    this.memory.grow(Math.ceil((end - have) / PAGE));
    this.refreshViews();
  }

  private refreshViews(): void {
    this.generation++;
    this.u8 = new Uint8Array(this.memory.buffer, this.scratch, SCRATCH_BYTES);
    this.i16 = new Int16Array(this.memory.buffer, this.scratch, SCRATCH_BYTES / 2);
  }
}

/**
 * A codec object's cached views over one region of the scratch area for its usual frame size, so a call per
 * packet creates no typed-array objects; rebuilt when the length changes or the memory grew.
 */
export class ScratchViews {
  private gen = -1;
  private inLen = -1;
  private outLen = -1;
  in8: Uint8Array = new Uint8Array(0);
  in16: Int16Array = new Int16Array(0);
  out8: Uint8Array = new Uint8Array(0);
  out16: Int16Array = new Int16Array(0);

  constructor(private readonly h: WasmCodecHeap, private readonly outByteOffset: number) {}

  /** Views for `inBytes` of input at the scratch start and `outBytes` of output at outByteOffset. */
  get(inBytes: number, outBytes: number): this {
    const h = this.h;
    if (this.gen !== h.generation || this.inLen !== inBytes || this.outLen !== outBytes) {
      const buf = h.u8.buffer;
      const base = h.scratchPtr;
      this.in8 = new Uint8Array(buf, base, inBytes);
      this.in16 = new Int16Array(buf, base, inBytes >> 1);
      this.out8 = new Uint8Array(buf, base + this.outByteOffset, outBytes);
      this.out16 = new Int16Array(buf, base + this.outByteOffset, outBytes >> 1);
      this.gen = h.generation;
      this.inLen = inBytes;
      this.outLen = outBytes;
    }
    return this;
  }
}

const heaps = new Map<string, WasmCodecHeap>();

/** The per-thread shared instance of a wasm codec (created on first use). */
export function wasmHeap(name: string, stateSizeExport: string): WasmCodecHeap {
  let h = heaps.get(name);
  if (!h) {
    h = new WasmCodecHeap(name, stateSizeExport);
    heaps.set(name, h);
  }
  return h;
}

/** A wasm codec function: integer (pointer/length/state) arguments, an integer result. */
export type WasmFn = (...a: number[]) => number;

/**
 * One codec instance's state block in a wasm heap: allocated and reset at construction, released by close();
 * live() guards every use after close(). The encoder and decoder classes of G.722 and GSM extend it.
 */
export abstract class WasmCodecState {
  protected readonly h: WasmCodecHeap;
  protected state: number;
  protected readonly fn: { reset: WasmFn; encode: WasmFn; decode: WasmFn };

  constructor(h: WasmCodecHeap, fn: { reset: WasmFn; encode: WasmFn; decode: WasmFn }, private readonly label: string) {
    this.h = h;
    this.fn = fn;
    this.state = h.alloc();
    fn.reset(this.state);
  }

  close(): void {
    if (this.state < 0) return;
    this.h.release(this.state);
    this.state = -1;
  }

  protected live(): void {
    if (this.state < 0) throw new CodecError('DPBX_ERR_CODEC_CLOSED', `${this.label}: codec is closed`);
  }
}
