// The file format (docs/FORMAT.md): the logical images and sinks the store implements, the
// encoder and decoder, atomic saving, and inspection. Internal to the package (not re-exported
// from src/index.ts); index.save / toBytes / hs.loadIndex are built on it.
export type {
  BytesInput, DecodeOptions, EncodeOptions, FileDtype, FileKeyKind, FileMetric, FileOption, FileSource, GraphHeader, GraphImage,
  GraphSink, IndexHeader, IndexImage, IndexSegmentImage, IndexSink, SectionReport, SegmentInfo, SinkResult,
} from './types.js';
export { FORMAT_VERSION, READABLE_VERSIONS } from './constants.js';
export { encodeIndex, checkIndexHeader } from './encode-index.js';
export { encodeGraph, checkGraphImage } from './encode-graph.js';
export { decodeFile, decodeIndex, decodeGraph, type DecodedFile, type FileSinks } from './decode.js';
export { IndexCollector, GraphCollector, readIndexImage, readGraphImage, type CollectedIndex, type CollectedSegment } from './collect.js';
export { indexToBytes, graphToBytes, indexFileLength, joinPieces } from './to-bytes.js';
export { saveIndexFile, saveGraphFile } from './save.js';
export { inspectFile, formatInspection, inspectionJson, type FileInspection } from './inspect.js';
