// The sections of an index file after its file header, into an IndexSink (docs/FORMAT.md,
// "Index files"): every piece checked as it passes, every section's checksum verified.
import { AlignedViews } from './aligned.js';
import { DTYPE_WIDTH, SEGMENT_BYTES } from './constants.js';
import { invalidFile } from './errors.js';
import { parseIndexHeader, parseSegment } from './headers.js';
import { readNumberKeys, readStringKeys } from './keys-decode.js';
import type { FileReader } from './section-reader.js';
import type { IndexSink } from './types.js';

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
});

/** Reads INDEX_HEADER and every segment into `sink` (not END, not commit: see decode.ts). */
export async function readIndexSections(file: FileReader, sink: IndexSink, bufferBytes: number): Promise<void> {
  const header = parseIndexHeader(await file.smallSection({ name: 'INDEX_HEADER' }));
  await sink.begin(header);
  const rowBytes = header.dim * DTYPE_WIDTH[header.dtype];
  const views = new AlignedViews();
  let firstRow = 0;
  let dead = 0;
  for (let index = 0; index < header.segmentCount; index++) {
    const segment = parseSegment(await file.smallSection({ name: 'SEGMENT', segment: index }, SEGMENT_BYTES),
      { index, firstRow, rowsLeft: header.rows - firstRow });
    const { rows } = segment;
    const where = (name: string) => `${name} of segment ${index}`;
    await sink.beginSegment(segment);

    const values = await file.openBody({ name: 'VALUES', segment: index }, rows * rowBytes);
    await values.consume(async (body) => {
      const rowsPerPiece = Math.max(1, Math.floor(bufferBytes / rowBytes));
      for (let r = 0; r < rows; r += rowsPerPiece) {
        const n = Math.min(rowsPerPiece, rows - r);
        await sink.values(await body.read(n * rowBytes), r, n);
      }
    }, bufferBytes);

    if (header.dtype === 'i8') {
      const scales = await file.openBody({ name: 'SCALES', segment: index }, 4 * rows);
      await scales.consume(async (body) => {
        const perPiece = Math.floor(bufferBytes / 4);
        for (let r = 0; r < rows; r += perPiece) {
          const piece = views.float32(await body.read(4 * Math.min(perPiece, rows - r)));
          for (let i = 0; i < piece.length; i++) {
            if (!Number.isFinite(piece[i]!)) throw invalidFile(`inconsistent ${where('SCALES')}: the scale of row ${r + i} is not finite`, 'scales');
          }
          await sink.scales(piece, r);
        }
      }, bufferBytes);
    }

    const bitmapBytes = Math.ceil(rows / 8);
    const deadBody = await file.openBody({ name: 'DEAD', segment: index }, bitmapBytes);
    await deadBody.consume(async (body) => {
      for (let at = 0; at < bitmapBytes; at += bufferBytes) {
        const piece = await body.read(Math.min(bufferBytes, bitmapBytes - at));
        for (const byte of piece) dead += POPCOUNT[byte]!;
        if (at + piece.length === bitmapBytes && rows % 8 !== 0 && piece[piece.length - 1]! >> (rows % 8) !== 0) {
          throw invalidFile(`inconsistent ${where('DEAD')}: bits past the segment's ${rows} rows are set`, 'dead');
        }
        await sink.dead(piece, 8 * at);
      }
    }, bufferBytes);

    if (header.keyKind === 'string') {
      const keys = await file.openBody({ name: 'STRING_KEYS', segment: index });
      await keys.consume((body) => readStringKeys(body, rows, bufferBytes, views, where('STRING_KEYS'), (k, r) => sink.keys(k, r)), bufferBytes);
    } else {
      const keys = await file.openBody({ name: 'NUMBER_KEYS', segment: index }, 8 * rows);
      await keys.consume((body) => readNumberKeys(body, rows, header.keyKind, header.nextDefaultKey, bufferBytes, views, where('NUMBER_KEYS'),
        (k, r) => sink.keys(k, r)), bufferBytes);
    }
    await sink.endSegment();
    firstRow += rows;
  }
  if (firstRow !== header.rows) throw invalidFile(`inconsistent header: the segments hold ${firstRow} rows, the header says ${header.rows}`, 'rows');
  if (header.rows - dead !== header.liveRows) {
    throw invalidFile(`inconsistent header: the segments hold ${header.rows - dead} live rows, the header says ${header.liveRows}`, 'liveRows');
  }
}
